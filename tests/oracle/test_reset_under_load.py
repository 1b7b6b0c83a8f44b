# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: the verified reset (MasterInvalidation, strategy reset) under real load.

A private php-fpmX.Y master (pools a and b, pm static, 4 workers each, validate_timestamps=0)
behind a private nginx on 127.0.0.1 serves ``version=<v>`` from an app that requires version.php
and sleeps 20 ms. 16 closed-loop clients load both pools through nginx. At t=1.5 s version.php is
atomically replaced (v1 -> v2): the old code must keep being served. At t=2.0 s the verified reset
runs with verify_url = the nginx URL and verify_content = the new version. Asserted: the reset is
proven, NO request fails during the whole run, and every request started after the proof serves
v2. No timing is asserted. The machine's own php-fpm and nginx are never touched.
"""

from __future__ import annotations

import subprocess
import threading
import time
from urllib.request import urlopen

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.live.hold import HOLD_MARKER
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import status_summary
from ansible_collections.phpops.opcache.plugins.module_utils.live.report import live_report
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import CANARY_PREFIX, MasterInvalidation, write_canary
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.tests.oracle import loadgen
from ansible_collections.phpops.opcache.tests.oracle.loadgen import LabError, LoadGenerator, PhpLab, Sample


def _run_command(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    return result.returncode, result.stdout.decode('utf-8', 'replace'), result.stderr.decode('utf-8', 'replace')


@pytest.fixture
def lab():
    try:
        instance = PhpLab(pools=('a', 'b'), workers=4, sleep_us=20000).start()
    except LabError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield instance
    finally:
        instance.close()


def _master(lab):
    found = [m for m in find_fpm_masters() if m.config == lab.fpm_conf]
    assert len(found) == 1, found
    assert found[0].pid == lab.master_pid
    return found[0]


def test_verified_reset_under_load(lab):
    report = build_report(HostFS('/'), _run_command, explicit=[lab.installation()], sapis=['fpm'])
    master = _master(lab)
    params = {'strategy': 'reset', 'pools': None, 'wait': 15.0, 'verify_paths': [], 'verify_url': lab.url('a'),
              'verify_content': 'version=v2', 'probe_dir': lab.probe_dir, 'timeout': 5.0}
    gen = LoadGenerator(lab.urls(), clients=16, duration=20.0, max_requests=20000, timeout=5.0, accept={'v1', 'v2'})
    with gen:
        time.sleep(1.5)
        deployed = gen.mark('deploy')
        lab.deploy('v2')
        time.sleep(0.5)
        action = gen.mark('action')
        job = MasterInvalidation(HostFS('/'), master, report, params, _run_command)
        result = job.run('reset', params['wait'])
        proof = gen.mark('proof')
        time.sleep(1.0)
        assert gen.running(), 'the load must still run after the proof'
    samples = gen.snapshot()
    summary = loadgen.describe(samples)

    assert result['proven'] is True and result['action'] == 'reset', result
    assert result['installation'] is not None and sorted(result['pools']) == ['a', 'b']
    # the reset request itself cached the canary in pool a and saw the old token after the change
    assert result['canary_stale_before'] == {'a': True}, result
    assert [s['step'] for s in result['steps']][:2] == ['canary', 'reset'], result['steps']
    assert [s for s in result['steps'] if s['step'] == 'verify_url'][0]['ok'], result['steps']
    # before the deploy only v1, and after the deploy the OLD code keeps being served until the action
    assert loadgen.versions(samples, None, deployed) == {'v1': len(loadgen.between(samples, None, deployed))}, summary
    stale_window = loadgen.completed_within(samples, deployed + 0.05, action)
    assert stale_window and all(s.ok and s.version == 'v1' for s in stale_window), loadgen.versions(stale_window)
    # not one failed request during the whole run, for both pools
    assert loadgen.failures(samples) == [], summary
    assert set(s.client % 2 for s in samples) == {0, 1}
    # after the proof every request serves the new version
    after = loadgen.between(samples, proof)
    assert after and all(s.ok and s.version == 'v2' for s in after), loadgen.versions(samples, proof)
    assert loadgen.fresh_after(samples, action, 'v2') is not None


def _channels_of(lab):
    report = build_report(HostFS('/'), _run_command, explicit=[lab.installation()], sapis=['fpm'])
    return MasterInvalidation(HostFS('/'), _master(lab), report, {'probe_dir': lab.probe_dir, 'timeout': 5.0}, _run_command)


def _channels(lab):
    job = _channels_of(lab)
    channels = dict((c.name, c) for c in job.channels)
    assert sorted(channels) == ['a', 'b']
    return job, channels['a'], channels['b']


def test_held_request_caches_the_canary_for_every_pool_of_the_master(lab):
    """The verified reset caches the canary in ONE pool, inside its reset request. The other pools
    of the master must serve that same cache entry (the old token after the file changed), or their
    proof would mean nothing."""
    job, a, b = _channels(lab)
    sites = {}
    a.place_canary(sites, 'old1', time.time() - 60)
    b.place_canary(sites, 'old1', time.time() - 60)
    assert a.canary is b.canary, 'pools with one group share one canary file'
    replaced = []

    def on_stdout(output):
        if HOLD_MARKER in output and not replaced:
            write_canary(a.canary, 'new1', time.time() - 30, job.in_use)
            replaced.append(True)

    try:
        data = a.probe({'scripts': False, 'hold': {'canary': a.canary['script_filename'], 'wait': 5}}, on_stdout)
        assert replaced
        assert data['hold'] == {'cached': CANARY_PREFIX + 'old1', 'stale': CANARY_PREFIX + 'old1', 'replaced': True}, data['hold']
        assert 'reset_result' not in data
        assert b.read_canary() == 'old1', 'pool b must serve the entry that pool a cached'
    finally:
        job.cleanup()


def test_held_request_does_not_wait_when_the_canary_is_not_the_expected_one(lab):
    job, a, dummy_b = _channels(lab)
    a.place_canary({}, 'old3', time.time() - 60)
    seen = []
    try:
        data = a.probe({'reset': True, 'scripts': False, 'hold': {'canary': a.canary['script_filename'], 'expect': 'something else', 'wait': 30}},
                       seen.append, timeout=10)
        assert data['hold'] == {'cached': CANARY_PREFIX + 'old3', 'stale': None, 'replaced': False}, data['hold']
        assert 'reset_result' not in data and seen, 'answered at once (a 30 s wait would exceed the 10 s timeout), and never reset'
    finally:
        job.cleanup()


def test_a_caller_that_gives_up_frees_the_held_worker_without_a_reset():
    """The module fails while the probe waits (here: its callback raises): the probe notices the
    closed connection, ends without resetting, and the pool's only worker serves the next request
    long before the hold's own 30 s bound."""
    try:
        one = PhpLab(pools=('a',), workers=1, sleep_us=0).start()
    except LabError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        job = _channels_of(one)
        a = job.channels[0]
        a.place_canary({}, 'old4', time.time() - 60)
        before = status_summary(a.probe({'scripts': False})['status'])['statistics']['manual_restarts']

        class GaveUp(Exception):
            pass

        def give_up(output):
            if HOLD_MARKER in output:
                raise GaveUp()

        with pytest.raises(GaveUp):
            a.probe({'reset': True, 'scripts': False, 'hold': {'canary': a.canary['script_filename'], 'wait': 30}}, give_up, timeout=40)
        # answered by the single worker within a 5 s timeout: the held request has ended
        after = status_summary(a.probe({'scripts': False}, timeout=5.0)['status'])
        assert after['statistics']['manual_restarts'] == before and not after['restart_pending']
        job.cleanup()
    finally:
        one.close()


def test_held_reset_never_resets_when_the_canary_was_not_replaced(lab):
    job, a, dummy_b = _channels(lab)
    a.place_canary({}, 'old2', time.time() - 60)
    before = status_summary(a.probe({'scripts': False})['status'])['statistics']['manual_restarts']
    try:
        data = a.probe({'reset': True, 'scripts': False, 'hold': {'canary': a.canary['script_filename'], 'wait': 0.3}})
        assert data['hold']['replaced'] is False and data['hold']['stale'] is None, data['hold']
        assert 'reset_result' not in data
        after = status_summary(data['status'])
        assert after['statistics']['manual_restarts'] == before and not after['restart_pending']
    finally:
        job.cleanup()


def test_a_restart_held_by_a_long_request_is_reported_still_pending():
    """opcache_reset() while a request that started before it still runs (3 s): the restart waits for
    it. The live view reads the status again a second later and reports it still pending; once the
    request ended, the next look finds the restart done and no finding."""
    try:
        slow = PhpLab(pools=('a',), workers=3, sleep_us=3000000).start()
    except LabError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        report = build_report(HostFS('/'), _run_command, explicit=[slow.installation()], sapis=['fpm'])
        options = dict(probe_dir=slow.probe_dir, timeout=5.0, masters=[_master(slow)])
        answers = []
        request = threading.Thread(target=lambda: answers.append(urlopen(slow.url('a'), timeout=15).read()))
        request.start()
        time.sleep(0.5)
        assert slow.raw_reset() == 'reset=true'
        live = live_report(HostFS('/'), report, **options).as_dict()
        pending = [f for f in live['findings'] if f['code'] == 'LIVE_RESTART_PENDING']
        assert len(pending) == 1 and 'still pending after 1 s' in pending[0]['message'], live['findings']
        assert live['masters'][0]['restart_pending_for'] == 1.0 and live['masters'][0]['status']['restart_pending']
        request.join(15)
        assert answers and b'version=' in answers[0]
        live = live_report(HostFS('/'), report, **options).as_dict()
        assert not [f for f in live['findings'] if f['code'] == 'LIVE_RESTART_PENDING'], live['findings']
        assert live['masters'][0]['restart_pending_for'] is None and not live['masters'][0]['status']['restart_pending']
    finally:
        slow.close()


def _sample(start, version, error=None):
    return Sample(0, start, start + 0.02, 200 if error is None else 502, error, version, None)


def test_fresh_after_definition():
    samples = [_sample(0.0, 'v1'), _sample(1.0, 'v1'), _sample(1.01, 'v2'), _sample(1.02, 'v1'), _sample(1.05, 'v2'), _sample(1.2, 'v2')]
    assert round(loadgen.fresh_after(samples, 1.0, 'v2')) == 50
    assert loadgen.fresh_after(samples + [_sample(1.3, None, 'http 502')], 1.0, 'v2') is None
    assert loadgen.fresh_after(samples[:2], 1.0, 'v2') is None
    assert loadgen.fresh_after([_sample(1.1, 'v2')], 1.0, 'v2') == pytest.approx(100, abs=0.01)
    assert len(loadgen.failures(samples + [_sample(1.3, None, 'connect')])) == 1


def test_loadgen_refuses_non_loopback():
    for url in ('http://192.0.2.1/', 'http://example.org/', 'https://127.0.0.1/'):
        with pytest.raises(ValueError):
            LoadGenerator(url)


def test_loadgen_stops_by_itself():
    gen = LoadGenerator('http://127.0.0.1:%d/' % loadgen.free_port(), clients=2, duration=0.5, max_requests=50, timeout=0.5).start()
    gen.wait()
    assert not gen.running()
    assert 0 < len(gen.samples) <= 50 and all(s.error == 'connect' for s in gen.samples)
