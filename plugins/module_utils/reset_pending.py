# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Explain an OPcache restart that is still pending when opcache_reset() is asked again.

``opcache_reset()`` returns false while a restart is pending, and OPcache does not say since when.
A run whose reset scheduled a restart notes it (time, pool, the master's start time and its count of
manual restarts) in the probe directory; a later run that finds that same restart pending can say
since when. The requests that hold it are read from the pools' own status pages (``pm.status_path``,
``?json&full``): the running requests, longest first.
"""

from __future__ import annotations

import json
import os
import time


RESET_NOTE = 'phpops-reset-%d.json'


def note_scheduled_reset(directory, master, pool, summary):
    """Note in ``directory`` (when it exists) that this run's opcache_reset() scheduled a restart of
    ``master``: a later run that finds a restart still pending can say since when. Best effort."""
    stats = (summary or {}).get('statistics') or {}
    if not os.path.isdir(directory) or stats.get('manual_restarts') is None:
        return
    path = os.path.join(directory, RESET_NOTE % master.pid)
    record = {'time': time.time(), 'pool': pool, 'pid': master.pid, 'master_start_time': master.start_time,
              'manual_restarts': stats['manual_restarts']}
    try:
        with open(path + '.new', 'w') as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(record, handle)
        os.rename(path + '.new', path)
    except (IOError, OSError):
        pass


def scheduled_reset(directory, master, summary):
    """The note of the reset that scheduled the restart pending now (same master, same count of
    manual restarts), else None."""
    try:
        with open(os.path.join(directory, RESET_NOTE % master.pid)) as handle:
            record = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    stats = (summary or {}).get('statistics') or {}
    if not isinstance(record, dict) or record.get('master_start_time') != master.start_time or record.get('manual_restarts') != stats.get('manual_restarts'):
        return None
    return record


def _clock(when):
    return time.strftime('%H:%M:%S UTC', time.gmtime(when))


def pending_since(directory, master, summary, first_seen):
    """Since when the pending restart is known: the earlier run that scheduled it (noted in
    ``directory``), else ``first_seen``, when this run first saw it pending."""
    record = scheduled_reset(directory, master, summary)
    now = time.time()
    if record and isinstance(record.get('time'), (int, float)):
        return 'scheduled by an earlier opcache_reset run through pool %s at %s (%.0f s ago)' % (
            record.get('pool'), _clock(record['time']), now - record['time'])
    stats = summary.get('statistics') or {}
    return ('scheduled by something else than this module (an application calling opcache_reset(), or OPcache itself when memory or keys '
            'ran out: oom_restarts=%s, hash_restarts=%s, manual_restarts=%s), pending at least since this run first looked at %s (%.1f s ago)'
            % (stats.get('oom_restarts'), stats.get('hash_restarts'), stats.get('manual_restarts'), _clock(first_seen), now - first_seen))


def _request_of(process):
    return 'pid %s: %s %s (script %s) running for %.1f s' % (
        process.get('pid'), process.get('request method'), process.get('request uri'), process.get('script'),
        (process.get('request duration') or 0) / 1e6)


def holders(channels, master):
    """The requests that may hold the pending restart (the longest running first), from the status
    pages of ``channels`` (PoolChannel.fpm_status); without one, the pools and their workers."""
    running, without = [], []
    for channel in channels:
        status = channel.fpm_status()
        if status is None:
            without.append(channel.name)
            continue
        for process in status.get('processes') or []:
            if process.get('state') == 'Running' and not str(process.get('request uri') or '').startswith(channel.status_path):
                running.append((channel.name, process))
    running.sort(key=lambda item: -(item[1].get('request duration') or 0))
    parts = []
    if running:
        parts.append('running now: %s' % '; '.join('pool %s %s' % (name, _request_of(p)) for name, p in running[:3]))
    elif len(without) < len(channels):
        parts.append('the status pages show no request running now: it may just have ended')
    if without:
        workers = master.worker_pools or {}
        parts.append('pool%s %s (%s) set%s no pm.status_path, so the request holding it there cannot be named' % (
            's' if len(without) > 1 else '', ', '.join(without), ', '.join('%s: %d workers' % (n, len(workers.get(n) or ())) for n in without),
            '' if len(without) > 1 else 's'))
    return 'held by a request that started before it: ' + ', '.join(parts)
