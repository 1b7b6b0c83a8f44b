# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release layouts (``current -> releases/N``, as deployer, capistrano and ansistrano make them):
which roots given in ``verify_paths`` are such symlinks, and how much of the cache each release
holds. OPcache keys scripts by their resolved path, so every deploy adds a full copy of the
application under a new path; the old copies stay valid entries, never requested again."""

from __future__ import annotations

import os
import posixpath


def _release_link(local):
    """The deepest symlink among ``local`` and its parents (``(link, resolved)``), or None."""
    current = local
    while current not in ('', '/'):
        if os.path.islink(current):
            return current, os.path.realpath(current)
        current = posixpath.dirname(current)
    return None


def release_roots(paths, chroot=None):
    """``[{root, current, releases_dir}]`` for each of ``paths`` (with or without a trailing '/')
    that is a symlink (or lies under one: ``current/public``) resolving into a directory of sibling
    releases. ``current``: the release the symlink points to; ``releases_dir``: its parent."""
    found = []
    for path in paths or ():
        path = path.rstrip('/') or '/'
        local = posixpath.join(chroot, path.lstrip('/')) if chroot else path
        try:
            link = _release_link(os.path.abspath(local))
        except OSError:
            continue
        if link is None or not os.path.isdir(link[1]) or not os.path.isdir(os.path.realpath(local)):
            continue
        resolved = link[1]
        releases_dir = posixpath.dirname(resolved)
        if chroot:
            resolved = '/' + posixpath.relpath(resolved, chroot)
            releases_dir = '/' + posixpath.relpath(releases_dir, chroot)
        if releases_dir in ('', '/'):
            continue
        entry = {'root': path, 'current': resolved, 'releases_dir': releases_dir}
        if entry not in found:
            found.append(entry)
    return found


def group_by_release(scripts, roots):
    """Cached scripts per release: ``[{root, releases_dir, current, releases: [{name, path, current,
    scripts, memory}], old_scripts, old_memory, old_releases}]``. ``scripts``: the probe's list
    ``[[path, timestamp, last_used, hits, memory_consumption], ...]``."""
    views = []
    for root in roots:
        prefix = root['releases_dir'].rstrip('/') + '/'
        current_name = posixpath.basename(root['current'])
        per = {}
        for entry in scripts:
            path = entry[0]
            if not path.startswith(prefix):
                continue
            name = path[len(prefix):].split('/', 1)[0]
            item = per.setdefault(name, {'name': name, 'path': prefix + name, 'current': name == current_name, 'scripts': 0, 'memory': 0})
            item['scripts'] += 1
            item['memory'] += (entry[4] if len(entry) > 4 and entry[4] else 0)
        releases = sorted(per.values(), key=lambda r: r['name'])
        old = [r for r in releases if not r['current']]
        views.append(dict(root, releases=releases, old_releases=[r['name'] for r in old], old_scripts=sum(r['scripts'] for r in old),
                          old_memory=sum(r['memory'] for r in old)))
    return views


def changed_preloads(script, scripts, loaded_at, changed_at):
    """``[(path, when)]`` of the preload script and the preloaded scripts whose file changed at or
    after ``loaded_at`` (``changed_at(path)``: when it last changed) or is gone (``when`` None); all
    of them when ``loaded_at`` is unknown (a file is fresh only when proven so). Used by the live
    view (finding) and by the invalidation (which action refreshes them)."""
    changed = []
    for path in [script] + [p for p in scripts if p != script]:
        when = changed_at(path)
        if when is None or not loaded_at or when >= loaded_at:
            changed.append((path, when))
    return changed


def preload_view(settings, preload_statistics, roots, loaded_time, changed_at):
    """Preloading of one master: ``{script, user, memory, functions, classes, scripts, changed,
    in_release}``. ``settings``: the probing pool's {directive: {value}}; ``preload_statistics``:
    ``opcache_get_status()['preload_statistics']`` (None without preloading); ``loaded_time``: when
    the master preloaded (its start); ``changed_at``: path -> when it last changed (later of mtime
    and ctime) or None. ``changed``: preloaded scripts changed (or removed) since, ``mtime`` being
    that time; ``in_release``: the releases directory the preload script
    lies in (it pins that release until PHP-FPM restarts), else None."""
    script = (settings.get('opcache.preload') or {}).get('value') or None
    stats = preload_statistics if isinstance(preload_statistics, dict) else {}
    view = {'script': script, 'user': (settings.get('opcache.preload_user') or {}).get('value') or None,
            'memory': stats.get('memory_consumption'), 'functions': len(stats.get('functions') or []), 'classes': len(stats.get('classes') or []),
            'scripts': list(stats.get('scripts') or []), 'changed': [], 'in_release': None}
    if not script:
        return view
    changed = changed_preloads(script, view['scripts'], loaded_time, changed_at)
    view['changed'] = [{'file': path, 'mtime': when} for path, when in changed]
    resolved = os.path.realpath(script)
    for root in roots:
        prefix = root['releases_dir'].rstrip('/') + '/'
        if resolved.startswith(prefix) or script.startswith(prefix) or script.startswith(root['root'].rstrip('/') + '/'):
            view['in_release'] = root['releases_dir']
    return view
