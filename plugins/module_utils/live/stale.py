# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stale code: cached scripts, and opcache.file_cache entries, older than their source file."""

from __future__ import annotations

import os
import posixpath


def file_mtime(path):
    """A file's mtime, or None when it is gone or unreadable."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def changed_at(path):
    """When a file last changed: the later of its mtime and its ctime (a deploy that keeps the build's
    mtime, rsync -a, tar x, cp -p, still sets the ctime), or None when it is gone."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return max(info.st_mtime, info.st_ctime)


def _times(path):
    """(mtime, ctime) of a file, or (None, None) when it is gone or unreadable."""
    try:
        info = os.stat(path)
    except OSError:
        return None, None
    return info.st_mtime, info.st_ctime


def judge_script(mtime, ctime, timestamp, last_used, cache_time):
    """Whether one cached script is stale: ``(verdict, certain, reason)`` with verdict ``stale``,
    ``fresh`` or ``inconclusive``.

    ``timestamp``: the file's mtime OPcache recorded when it compiled the script (0/None when the
    compiling pool had validate_timestamps and file_update_protection off, or when the probing pool
    has validate_timestamps off). Deploys that keep the build's mtime (rsync -a, tar x, unzip, cp -p)
    leave an mtime older than the cache, so the mtime alone cannot tell; the file's ctime can: any
    write, rename or extraction sets it to the time of the deploy. A script whose file changed (ctime)
    after the script was last used (``last_used``, whole seconds) was compiled before the change."""
    changed_after_use = bool(last_used) and ctime is not None and int(ctime) > int(last_used)
    if mtime is None:
        return 'stale', True, 'file removed'
    if timestamp:
        if int(mtime) != int(timestamp):
            return 'stale', True, 'file mtime %d differs from the cached timestamp %d' % (int(mtime), int(timestamp))
        if changed_after_use:
            return 'stale', False, ('file rewritten at %d (ctime), after the script was last used at %d, with the same mtime %d: '
                                    'OPcache\'s own timestamp check will not see a new content' % (int(ctime), int(last_used), int(mtime)))
        return 'fresh', True, None
    if cache_time is not None and mtime > cache_time:
        return 'stale', bool(last_used and mtime > last_used), 'file modified at %d, after the cache was (re)started at %d' % (int(mtime), int(cache_time))
    if changed_after_use:
        return 'stale', mtime > last_used, ('file replaced at %d (ctime), after the script was last used at %d; its mtime %d is older '
                                            '(a deploy that keeps modification times: rsync -a, tar, unzip, cp -p)' % (int(ctime), int(last_used), int(mtime)))
    if cache_time is not None and ctime is not None and int(ctime) >= int(cache_time):
        return 'inconclusive', False, ('file replaced at %d (ctime), after the cache was (re)started at %d, and the script was last used at %s: '
                                       'OPcache recorded no timestamp, so whether it was compiled before or after the change is unknown'
                                       % (int(ctime), int(cache_time), int(last_used) if last_used else 'an unknown time'))
    if cache_time is None:
        return 'inconclusive', False, 'the cache start time is unknown'
    return 'fresh', True, None


def stale_scripts(scripts, cache_time, chroot=None, max_examples=10):
    """Cached scripts whose file changed after it was cached.

    ``scripts``: ``[[path, timestamp|None, last_used_timestamp, hits, memory_consumption], ...]`` from the probe;
    ``cache_time``: max of start_time and last_restart_time. See ``judge_script``. Returns
    ``{count, examples, inconclusive, inconclusive_examples}``; ``certain`` of an example is true when
    the file's content surely changed after the script was compiled."""
    count = 0
    examples = []
    inconclusive = 0
    inconclusive_examples = []
    for entry in scripts:
        path, timestamp, last_used = entry[:3]
        local = posixpath.join(chroot, path.lstrip('/')) if chroot else path
        mtime, ctime = _times(local)
        verdict, certain, reason = judge_script(mtime, ctime, timestamp, last_used, cache_time)
        example = {'path': path, 'mtime': mtime, 'ctime': ctime, 'cached_timestamp': timestamp or None, 'last_used': last_used,
                   'certain': certain, 'reason': reason}
        if verdict == 'stale':
            count += 1
            if len(examples) < max_examples:
                examples.append(example)
        elif verdict == 'inconclusive':
            inconclusive += 1
            if len(inconclusive_examples) < max_examples:
                inconclusive_examples.append(example)
    return {'count': count, 'examples': examples, 'inconclusive': inconclusive, 'inconclusive_examples': inconclusive_examples}


def stale_file_cache(file_cache, paths, max_examples=10):
    """opcache.file_cache entries (``<dir>/<system id>/<path>.bin``) older than their source."""
    count = 0
    examples = []
    if not file_cache or not paths:
        return {'count': 0, 'examples': []}
    try:
        system_ids = [d for d in os.listdir(file_cache) if os.path.isdir(os.path.join(file_cache, d))]
    except OSError:
        return {'count': 0, 'examples': [], 'error': 'cannot read opcache.file_cache directory %s' % file_cache}
    for system_id in sorted(system_ids):
        root = os.path.join(file_cache, system_id)
        for app in paths:
            start = os.path.join(root, app.lstrip('/'))
            for dirpath, _dirs, files in os.walk(start):
                for name in files:
                    if not name.endswith('.bin'):
                        continue
                    entry = os.path.join(dirpath, name)
                    source = '/' + os.path.relpath(entry, root)[:-4]
                    src_mtime = file_mtime(source)
                    bin_mtime = file_mtime(entry)
                    if src_mtime is None or bin_mtime is None or src_mtime <= bin_mtime:
                        continue
                    count += 1
                    if len(examples) < max_examples:
                        examples.append({'path': source, 'cache_file': entry, 'mtime': src_mtime, 'cached_at': bin_mtime})
    return {'count': count, 'examples': examples}
