# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OPcache's file cache (``opcache.file_cache``): find and purge the entries it owns.

The cache keeps one ``<dir>/<system_id>/<absolute script path>.bin`` per script, where system_id is
32 hex digits (a hash of the PHP build). It survives opcache_reset(), reload and restart, and with
validate_timestamps off it serves old bytecode after every one of them. Purging removes only regular
``.bin`` files below a system_id directory, never follows a symlink, and never leaves the cache.
"""

from __future__ import annotations

import os
import re
import stat

_SYSTEM_ID = re.compile(r'^[0-9a-f]{32}$')


class FileCacheError(Exception):
    """The cache directory cannot be purged safely; the message says why."""


def _check_dir(cache_dir):
    if not cache_dir or not os.path.isabs(cache_dir):
        raise FileCacheError('opcache.file_cache %r is not an absolute path' % cache_dir)
    real = os.path.realpath(cache_dir)
    if real in ('/', '/etc', '/usr', '/var', '/home', '/root', '/tmp', '/srv'):
        raise FileCacheError('refusing to purge opcache.file_cache=%s: it resolves to %s, a system directory' % (cache_dir, real))
    if not os.path.isdir(real):
        raise FileCacheError('opcache.file_cache=%s is not a directory' % cache_dir)
    return real


def cache_entries(cache_dir, under=None):
    """Yield (entry_path, script_path, mtime) for every cache entry, optionally only for scripts
    below one of the ``under`` paths."""
    real = _check_dir(cache_dir)
    for system_id in sorted(os.listdir(real)):
        base = os.path.join(real, system_id)
        if not _SYSTEM_ID.match(system_id) or os.path.islink(base) or not os.path.isdir(base):
            continue
        for folder, dirs, files in os.walk(base, followlinks=False):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                entry = os.path.join(folder, name)
                if not name.endswith('.bin'):
                    continue
                info = os.lstat(entry)
                if not stat.S_ISREG(info.st_mode):
                    continue
                script = entry[len(base):-len('.bin')]
                if under and not any(script == u or script.startswith(u.rstrip('/') + '/') for u in under):
                    continue
                yield entry, script, info.st_mtime


def purge(cache_dir, under=None, check_mode=False):
    """Remove cache entries (all, or those for scripts below ``under``). Returns the count and a
    few examples."""
    removed = []
    for entry, script, dummy_mtime in list(cache_entries(cache_dir, under)):
        if not check_mode:
            try:
                os.unlink(entry)
            except OSError as error:
                raise FileCacheError('cannot remove file cache entry %s: %s' % (entry, error.strerror))
        removed.append(script)
    return {'dir': cache_dir, 'removed': len(removed), 'examples': removed[:10]}
