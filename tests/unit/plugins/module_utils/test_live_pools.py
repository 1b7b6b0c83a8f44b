# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""The pools of a master are asked at once (live.probe.probe_pools) and the live view's records
(live.records) give the result's dicts: answers in pool order, a failing pool among many, the probe
files of concurrent requests left alone until their own request is done, and the exact shape of
``as_dict()`` and of compact_facts. The pools are FastCGI servers of the test (fake_fastcgi_server)
that answer as the probe does after a delay of their own; tests/oracle/test_fpm_live_real.py does the
same against a real php-fpm."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.live import probe as live_probe
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import Master
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import LiveError, PoolSpec, probe_pools
from ansible_collections.phpops.opcache.plugins.module_utils.live.records import LiveMaster, LivePool, LiveView
from ansible_collections.phpops.opcache.plugins.module_utils.live.report import byte_size, live_report
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import Report, compact_facts
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils import fake_fastcgi_server as fake
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.report_records import report_with_fpm

FPM_CONF = '/etc/php/8.2/fpm/php-fpm.conf'


def probe_answer(name, delay, seen):
    """Behaviour of a pool: after ``delay`` s, note whether the probe file is still there (a worker
    would read it now) and answer as the probe does, naming the pool."""
    def behaviour(conn, captured):
        params = dict(fake.decode_pairs(captured.stream(fake.PARAMS)))
        script = params[b'SCRIPT_FILENAME'].decode()
        time.sleep(delay)
        seen.append((name, script, os.path.isfile(script)))
        data = {'probe': 'phpops.opcache/1', 'pool': name, 'php_version': '8.2.0', 'pid': None, 'ini': {}, 'other_ini': {},
                'status': None, 'status_error': 'missing', 'scanned_files': [], 'loaded_file': None}
        conn.sendall(fake.php_response(b'\n' + live_probe.PROBE_MARKER.encode() + json.dumps(data).encode()))
    return behaviour


class Pools(object):
    """Fake pools: ``delays`` s each (None: nothing listens on the pool's socket)."""

    def __init__(self, tmp_path, delays):
        self.seen = []
        self.servers = []
        self.listens = []
        for index, delay in enumerate(delays):
            if delay is None:
                self.listens.append(str(tmp_path / ('gone%02d.sock' % index)))
                continue
            server = fake.FakeFastCGIServer(probe_answer('p%02d' % index, delay, self.seen), unix_path=str(tmp_path / ('p%02d.sock' % index)))
            self.servers.append(server.__enter__())
            self.listens.append(server.listen)

    def close(self):
        for server in self.servers:
            server.close()


def test_pools_are_asked_at_once_and_answer_in_pool_order(tmp_path):
    delays = [0.5, 0.4, 0.3, None, 0.2, 0.1, 0.05]  # the first pool answers last
    pools = Pools(tmp_path, delays)
    probe_dir = str(tmp_path / 'probe')
    os.makedirs(probe_dir, 0o711)
    leftovers = ['phpops-probe-4194303-%s.php' % ('a' * 32), 'phpops-probe-%d-%s.php' % (os.getpid(), 'b' * 32)]  # a dead writer, us before
    for name in leftovers:
        with open(os.path.join(probe_dir, name), 'w') as handle:
            handle.write('<?php // interrupted run\n')
    specs = [PoolSpec('p%02d' % index, listen) for index, listen in enumerate(pools.listens)]
    try:
        started = time.monotonic()
        answers = probe_pools(specs, probe_dir, {'scripts': False}, timeout=5.0)
        elapsed = time.monotonic() - started
    finally:
        pools.close()
    assert [a.data['pool'] if a.data else None for a in answers] == ['p00', 'p01', 'p02', None, 'p04', 'p05', 'p06']
    assert [a.error is None for a in answers] == [True, True, True, False, True, True, True]
    assert isinstance(answers[3].error, LiveError) and answers[3].site is None
    assert [a.site['script_filename'] for a in answers if a.site] == [script for name, script, dummy in sorted(pools.seen)]
    assert all(present for dummy, dummy_script, present in pools.seen), 'a probe was removed while its request ran: %s' % pools.seen
    assert elapsed < 1.2, 'the pools were asked one after another (%.2f s; one after another: %.2f s)' % (elapsed, sum(d or 0 for d in delays))
    assert os.listdir(probe_dir) == [], 'the leftovers are gone and every probe removed itself'


def test_at_most_workers_pools_at_a_time(tmp_path):
    pools = Pools(tmp_path, [0.4] * 4)
    try:
        started = time.monotonic()
        answers = probe_pools([PoolSpec('p%d' % i, listen) for i, listen in enumerate(pools.listens)], str(tmp_path / 'probe'),
                              {'scripts': False}, workers=2)
        elapsed = time.monotonic() - started
    finally:
        pools.close()
    assert [a.data['pool'] for a in answers] == ['p00', 'p01', 'p02', 'p03']
    assert 0.8 <= elapsed < 1.4, 'two at a time: two rounds of 0.4 s, not four (%.2f s)' % elapsed


def _report_with_pools(listens):
    report = report_with_fpm('debian:/etc/php/8.2', FPM_CONF, ['p%02d' % i for i in range(len(listens))])
    for index, pool in enumerate(report.installations[0].sapis['fpm'].fpm.pools):
        pool.line = 10 * (index + 1)
        pool.settings['listen'] = (listens[index], FPM_CONF, pool.line + 1)
    return report


def test_a_failing_pool_among_many_is_reported_and_the_others_answer(tmp_path):
    delays = [0.2, None, 0.1, 0.15, None, 0.05]
    pools = Pools(tmp_path, delays)
    master = Master(4242, 1, 'php-fpm: master process (%s)' % FPM_CONF, FPM_CONF, '/usr/sbin/php-fpm8.2', False, None, 0, None,
                    frozenset(['p00']))
    try:
        view = live_report(HostFS('/'), _report_with_pools(pools.listens), masters=[master], probe_dir=str(tmp_path / 'probe'))
    finally:
        pools.close()
    result = view.as_dict()
    live = result['masters'][0]
    assert [p['name'] for p in live['pools']] == ['p00', 'p01', 'p02', 'p03', 'p04', 'p05']
    assert [p['ok'] for p in live['pools']] == [True, False, True, True, False, True]
    failed = [f for f in result['findings'] if f['code'] == 'LIVE_PROBE_FAILED']
    assert [(f['pool'], f['evidence']) for f in failed] == [('p01', ['%s:20' % FPM_CONF]), ('p04', ['%s:50' % FPM_CONF])]
    assert failed[0]['message'] == live['pools'][1]['error']
    assert live['pools'][1]['error'].startswith('pool p01 (listen %s): ' % pools.listens[1])
    assert live['probe_pool'] == 'p00', 'the first pool of those that answered alike probes the master'
    # a pool that answered has open_basedir and status_error, a failed one has not (the result's shape)
    assert sorted(live['pools'][0]) == sorted(FAILED_POOL_KEYS + ['open_basedir', 'status_error'])
    assert sorted(live['pools'][1]) == sorted(FAILED_POOL_KEYS)
    assert live['pools'][0]['status_error'] == 'OPcache is not loaded in this pool (opcache_get_status() does not exist)'
    assert list(live) == MASTER_KEYS + ['changed_after_start']
    assert list(result) == ['masters', 'not_running', 'findings', 'skipped']
    assert list(view.as_dict(findings=False)) == ['masters', 'not_running', 'skipped']


FAILED_POOL_KEYS = ['name', 'listen', 'user', 'group', 'chroot', 'ok', 'error', 'warnings', 'worker_pid', 'worker_uid', 'settings', 'drift']
MASTER_KEYS = ['pid', 'config', 'binary', 'binary_deleted', 'start_time', 'config_loaded_time', 'installation', 'version',
               'php_ini_loaded_file', 'php_ini_scanned_files', 'status', 'status_error', 'configuration', 'probe_pool', 'pools', 'drift',
               'fpm_files', 'stale_scripts', 'worker_pools', 'restart_pending_for', 'config_test', 'jit', 'capacity', 'releases', 'preload']


def test_a_master_whose_configuration_cannot_be_read_has_an_error_and_nothing_else_set():
    master = LiveMaster(Master(7, 1, 't', '/nowhere.conf', None, False, 100.0, 0, None, frozenset(['www', 'api'])), 'x:/y')
    master.error = 'cannot read /nowhere.conf: gone'
    result = master.as_dict()
    assert list(result) == MASTER_KEYS + ['error']
    assert (result['pid'], result['config'], result['installation'], result['start_time'], result['config_loaded_time']) == (
        7, '/nowhere.conf', 'x:/y', 100.0, 100.0)
    assert result['worker_pools'] == ['api', 'www'] and result['pools'] == [] and result['status'] is None


def test_compact_facts_read_the_live_records():
    report = Report([], [])
    view = LiveView()
    master = LiveMaster(Master(7, 1, 't', FPM_CONF, None, False, 100.0, 0, None, frozenset()), 'debian:/etc/php/8.2')
    master.status = {'opcache_enabled': True, 'restart_pending': False, 'statistics': {'manual_restarts': 3}}
    ok = LivePool(PoolSpec('www', '/run/www.sock'))
    ok.ok = True
    ok.settings = {'opcache.enable': {'value': '1', 'origin': 'ini'}, 'opcache.jit': {'value': 'tracing', 'origin': 'php_admin_value'}}
    failed = LivePool(PoolSpec('api', '/run/api.sock'))
    failed.error = 'pool api (listen /run/api.sock): refused'
    master.pools = [ok, failed]
    view.masters.append(master)
    report.live = view
    assert compact_facts(report)['live'] == [{
        'pid': 7, 'config': FPM_CONF, 'installation': 'debian:/etc/php/8.2', 'start_time': 100.0, 'opcache_enabled': True,
        'restart_pending': False, 'manual_restarts': 3,
        'pools': {'www': {'ok': True, 'error': None, 'settings': {'opcache.enable': '1', 'opcache.jit': 'tracing'}},
                  'api': {'ok': False, 'error': 'pool api (listen /run/api.sock): refused', 'settings': {}}},
    }]
    assert report.as_dict() == {'installations': [], 'findings': [], 'live': {'masters': [master.as_dict()], 'not_running': [], 'skipped': None}}


def test_byte_size_reads_small_amounts_in_kib():
    assert [byte_size(n) for n in (4536, 1048575, 1048576, 3 * 1048576 + 524288)] == ['4.4 KiB', '1024.0 KiB', '1.0 MiB', '3.5 MiB']
