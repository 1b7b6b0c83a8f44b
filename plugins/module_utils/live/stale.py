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


def stale_scripts(scripts, cache_time, chroot=None, max_examples=10):
    """Cached scripts whose file changed after it was cached.

    ``scripts``: ``[[path, timestamp|None, last_used_timestamp, hits], ...]`` from the probe. With a
    timestamp (validate_timestamps on in the probing pool) a script is stale when the file's mtime
    differs from it; without one (or 0: compiled with validate_timestamps and file_update_protection
    off) when the file is newer than ``cache_time`` (max of start_time and last_restart_time).
    ``certain`` is true when the file changed after the script was last used as well."""
    count = 0
    examples = []
    for path, timestamp, last_used, _hits in scripts:
        local = posixpath.join(chroot, path.lstrip('/')) if chroot else path
        mtime = file_mtime(local)
        if mtime is None:
            reason, stale = 'file removed', True
        elif timestamp:
            stale = int(mtime) != int(timestamp)
            reason = 'file mtime %d differs from the cached timestamp %d' % (int(mtime), int(timestamp))
        else:
            stale = cache_time is not None and mtime > cache_time
            reason = 'file modified at %d, after the cache was (re)started at %d' % (int(mtime), int(cache_time or 0))
        if not stale:
            continue
        count += 1
        if len(examples) < max_examples:
            examples.append({'path': path, 'mtime': mtime, 'cached_timestamp': timestamp or None, 'last_used': last_used,
                             'certain': bool(mtime is None or (last_used and mtime > last_used) or timestamp), 'reason': reason})
    return {'count': count, 'examples': examples}


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
