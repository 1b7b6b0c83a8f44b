# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The explanation of a pending OPcache restart: the note of the run that scheduled it, the holders."""

from __future__ import annotations

import collections
import os
import time

from ansible_collections.phpops.opcache.plugins.module_utils.reset_pending import holders, note_scheduled_reset, pending_since, scheduled_reset

Master = collections.namedtuple('Master', 'pid start_time worker_pools')
MASTER = Master(pid=77, start_time=1000.5, worker_pools={'a': [78, 79, 80], 'b': [81]})


def _summary(manual, oom=0):
    return {'restart_pending': True, 'statistics': {'manual_restarts': manual, 'oom_restarts': oom, 'hash_restarts': 0}}


def test_the_note_names_the_run_only_for_the_same_pending_restart(tmp_path):
    note_scheduled_reset(str(tmp_path), MASTER, 'a', _summary(3))
    assert oct(os.stat(str(tmp_path / 'phpops-reset-77.json')).st_mode & 0o777) == '0o600'
    assert scheduled_reset(str(tmp_path), MASTER, _summary(3))['pool'] == 'a'
    assert scheduled_reset(str(tmp_path), MASTER, _summary(4)) is None, 'another restart was scheduled since'
    assert scheduled_reset(str(tmp_path), MASTER._replace(start_time=2000.0), _summary(3)) is None, 'another master with the same pid'
    said = pending_since(str(tmp_path), MASTER, _summary(3), time.time())
    assert said.startswith('scheduled by an earlier opcache_reset run through pool a at ') and said.endswith(' s ago)'), said


def test_without_a_note_it_says_what_else_schedules_restarts(tmp_path):
    note_scheduled_reset(str(tmp_path / 'missing'), MASTER, 'a', _summary(3))
    assert not (tmp_path / 'missing').exists()
    said = pending_since(str(tmp_path), MASTER, _summary(5, oom=2), time.time() - 2.0)
    assert 'scheduled by something else than this module' in said and 'oom_restarts=2, hash_restarts=0, manual_restarts=5' in said
    assert said.endswith('(2.0 s ago)'), said


class Channel(object):
    def __init__(self, name, status):
        self.name = name
        self.status_path = '/fpm-status'
        self.status = status

    def fpm_status(self):
        return self.status


def _process(pid, uri, seconds, state='Running'):
    return {'pid': pid, 'state': state, 'request method': 'GET', 'request uri': uri, 'script': '/srv/app' + uri.split('?')[0],
            'request duration': int(seconds * 1e6)}


def test_holders_are_the_running_requests_longest_first_without_the_status_request():
    a = Channel('a', {'processes': [_process(78, '/fpm-status?json&full', 0.001), _process(79, '/report.php', 3.5),
                                    _process(80, '/index.php', 0.2, state='Idle')]})
    b = Channel('b', {'processes': [_process(81, '/export.php', 12.25)]})
    assert holders([a, b], MASTER) == ('held by a request that started before it: running now: '
                                       'pool b pid 81: GET /export.php (script /srv/app/export.php) running for 12.2 s; '
                                       'pool a pid 79: GET /report.php (script /srv/app/report.php) running for 3.5 s')


def test_holders_without_status_pages_name_the_pools_that_cannot_tell():
    assert holders([Channel('a', None), Channel('b', None)], MASTER) == (
        'held by a request that started before it: pools a, b (a: 3 workers, b: 1 workers) set no pm.status_path, '
        'so the request holding it there cannot be named')
    assert holders([Channel('a', {'processes': []}), Channel('b', None)], MASTER) == (
        'held by a request that started before it: the status pages show no request running now: it may just have ended, '
        'pool b (b: 1 workers) sets no pm.status_path, so the request holding it there cannot be named')
