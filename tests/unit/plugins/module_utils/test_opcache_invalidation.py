# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the verified invalidation: the canary file, leftovers, what a reset cannot refresh on
a master that preloads, and the FPM configuration loaded once per run."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import Master
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import PROBE_NAME_RE, cleanup_leftovers
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import (
    CANARY_PREFIX,
    InvalidationError,
    MasterInvalidation,
    preload_state,
    stage_canary,
    swap_canary,
    write_canary,
)
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.report_records import report_with_fpm


def _site(tmp_path):
    return {'host_dir': str(tmp_path), 'host_path': str(tmp_path / ('phpops-probe-1-%s.php' % ('a' * 32))), 'gid': None, 'ext': '.php'}


def test_canary_is_replaced_atomically_with_the_given_mtime(tmp_path):
    site = _site(tmp_path)
    then = time.time() - 60
    write_canary(site, 'old', then, set())
    first_inode = os.stat(site['host_path']).st_ino
    write_canary(site, 'new', then + 30, set())
    assert open(site['host_path']).read() == "<?php\necho '%snew';\n" % CANARY_PREFIX
    assert int(os.stat(site['host_path']).st_mtime) == int(then + 30)
    assert os.stat(site['host_path']).st_ino != first_inode, 'a new file, renamed over the old one'
    assert sorted(os.listdir(str(tmp_path))) == [os.path.basename(site['host_path'])]


def test_a_staged_canary_is_a_probe_named_file_that_a_later_run_cleans_up(tmp_path):
    site = _site(tmp_path)
    in_use = set()
    write_canary(site, 'old', time.time() - 60, in_use)
    stage_canary(site, 'new', time.time() - 30, in_use)
    stage_canary(site, 'newer', time.time() - 30, in_use)  # staging again replaces the staged file
    staged = site['staged']
    assert sorted(os.listdir(str(tmp_path))) == sorted([os.path.basename(site['host_path']), os.path.basename(staged)])
    assert PROBE_NAME_RE.match(os.path.basename(staged))
    assert cleanup_leftovers(str(tmp_path), in_use=in_use) == [], 'in use by this run'
    in_use.clear()  # as after a killed run: the files are nobody's
    assert cleanup_leftovers(str(tmp_path), now=time.time() + 7200) == sorted(
        [os.path.basename(site['host_path']), os.path.basename(staged)])
    assert os.listdir(str(tmp_path)) == []


def test_swap_canary_renames_the_staged_file(tmp_path):
    site = _site(tmp_path)
    in_use = set()
    write_canary(site, 'old', time.time() - 60, in_use)
    stage_canary(site, 'new', time.time() - 30, in_use)
    assert "'%sold'" % CANARY_PREFIX in open(site['host_path']).read()
    swap_canary(site, in_use)
    assert "'%snew'" % CANARY_PREFIX in open(site['host_path']).read()
    assert 'staged' not in site and os.listdir(str(tmp_path)) == [os.path.basename(site['host_path'])]


def test_cleanup_keeps_files_in_use_and_removes_our_old_ones(tmp_path):
    ours = tmp_path / ('phpops-probe-%d-%s.php' % (os.getpid(), 'b' * 32))
    in_use = tmp_path / ('phpops-probe-%d-%s.php' % (os.getpid(), 'c' * 32))
    ours.write_text('<?php')
    in_use.write_text('<?php')
    removed = cleanup_leftovers(str(tmp_path), in_use={str(in_use)})
    assert removed == [ours.name]
    assert in_use.exists()


# -- preloading: what a reset cannot refresh ---------------------------------------------------------

def _preload_ini(script):
    return {'opcache.preload': {'local': script, 'global': script, 'access': 4, 'cfg': script}}


def _summary(scripts):
    return {'preload_statistics': {'scripts': list(scripts), 'functions': [], 'classes': [], 'memory_consumption': 1024}}


def _write(path, text, mtime):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)
    os.utime(path, (mtime, mtime))


@pytest.fixture
def app(tmp_path):
    """preload.php (preloading lib.php), both written an hour ago, and the time the master preloaded."""
    old = time.time() - 3600
    preload, lib = str(tmp_path / 'app' / 'preload.php'), str(tmp_path / 'app' / 'lib.php')
    _write(lib, '<?php function f() { return 1; }\n', old)
    _write(preload, "<?php require __DIR__ . '/lib.php';\n", old)
    return {'preload': preload, 'lib': lib, 'loaded_at': time.time() + 1, 'root': str(tmp_path)}


def test_no_preload_is_none():
    assert preload_state({}, _summary([]), 100.0) is None
    assert preload_state(_preload_ini(''), _summary([]), 100.0) is None


def test_preloaded_files_unchanged_since_the_master_preloaded_need_nothing(app):
    state = preload_state(_preload_ini(app['preload']), _summary([app['preload'], app['lib']]), app['loaded_at'])
    assert state == {'script': app['preload'], 'scripts': [app['preload'], app['lib']], 'loaded_at': app['loaded_at'], 'refresh': []}


def test_a_preloaded_file_written_after_the_master_preloaded_is_changed(app):
    loaded = time.time() - 10
    later = time.time() - 5
    _write(app['lib'], '<?php function f() { return 2; }\n', later)
    state = preload_state(_preload_ini(app['preload']), _summary([app['preload'], app['lib']]), loaded)
    # the preload script itself was written before (an hour ago): its ctime is this test's though, so it counts as changed too
    assert [(e['file'], e['reason']) for e in state['refresh']] == [(app['preload'], 'changed'), (app['lib'], 'changed')]
    assert state['refresh'][1]['changed_at'] >= later


def test_a_deploy_that_keeps_the_old_mtime_is_seen_by_the_ctime(app):
    """rsync -a / tar x / cp -p: the mtime is the build's (an hour ago), the ctime is the deploy's."""
    loaded = time.time() - 1
    _write(app['lib'], '<?php function f() { return 2; }\n', time.time() - 7200)
    state = preload_state(_preload_ini(app['preload']), _summary([app['preload'], app['lib']]), loaded, changed=_ctime_only)
    assert [(e['file'], e['reason']) for e in state['refresh']] == [(app['preload'], 'changed'), (app['lib'], 'changed')]
    real = preload_state(_preload_ini(app['preload']), _summary([app['preload'], app['lib']]), loaded)
    assert app['lib'] in [e['file'] for e in real['refresh'] if e['reason'] == 'changed']


def _ctime_only(path):
    try:
        return os.stat(path).st_ctime
    except OSError:
        return None


def test_removed_moved_and_verify_paths_reasons(app, tmp_path):
    releases = tmp_path / 'site' / 'releases'
    for name in ('1', '2'):
        _write(str(releases / name / 'preload.php'), '<?php\n', time.time() - 3600)
    current = tmp_path / 'site' / 'current'
    os.symlink(str(releases / '2'), str(current))
    script = str(current / 'preload.php')
    gone = str(releases / '1' / 'gone.php')
    old_release = str(releases / '1' / 'preload.php')
    loaded_at = time.time() + 1
    # the master preloaded release 1 (through current, then pointing there); current points to 2 now
    state = preload_state(_preload_ini(script), _summary([old_release, gone]), loaded_at)
    assert [(e['file'], e['reason']) for e in state['refresh']] == [(gone, 'removed'), (str(releases / '2' / 'preload.php'), 'moved')]
    # verify_paths: code the caller wants fresh, found through the root as given, its target, or its releases directory
    state = preload_state(_preload_ini(script), _summary([old_release, str(releases / '2' / 'preload.php')]), loaded_at, [str(current)])
    assert [(e['file'], e['reason']) for e in state['refresh']] == [
        (script, 'verify_paths'), (old_release, 'verify_paths'), (str(releases / '2' / 'preload.php'), 'verify_paths')]
    state = preload_state(_preload_ini(app['preload']), _summary([app['preload'], app['lib']]), loaded_at, [str(tmp_path / 'elsewhere')])
    assert state['refresh'] == []


def test_without_the_master_start_every_preloaded_file_counts_as_changed(app):
    state = preload_state(_preload_ini(app['preload']), _summary([app['preload']]), None)
    assert [e['reason'] for e in state['refresh']] == ['changed']


# -- one MasterInvalidation, fed the probe answers a real run gets -------------------------------------

class NoFS(object):
    """A host filesystem that must not be read: every call fails the test."""

    def __getattr__(self, name):
        raise AssertionError('the FPM configuration was read again (HostFS.%s)' % name)


class FailingFS(object):
    """A host filesystem where nothing can be read; it notes what was asked."""

    def __init__(self):
        self.asked = []

    def __getattr__(self, name):
        def fail(path, *args, **kwargs):
            self.asked.append(path)
            raise HostFSError(path, 'unreadable')
        return fail


def _master(config, pid=4242, start=1000.0):
    return Master(pid=pid, ppid=1, title='php-fpm: master process (%s)' % config, config=config, binary='/usr/sbin/php-fpm8.2',
                  binary_deleted=False, start_time=start, uid=0, scan_dir_env=None, worker_pools={})


def test_the_fpm_configuration_the_report_loaded_is_not_read_again():
    report = report_with_fpm('debian:/etc/php/8.2', '/etc/php/8.2/fpm/php-fpm.conf', ['www', 'api'])
    job = MasterInvalidation(NoFS(), _master('/etc/php/8.2/fpm/php-fpm.conf'), report, {}, None)
    assert [c.name for c in job.channels] == ['www', 'api']
    assert job.installation == 'debian:/etc/php/8.2'


def test_a_master_the_report_does_not_know_has_its_configuration_read():
    report = report_with_fpm('debian:/etc/php/8.2', '/etc/php/8.2/fpm/php-fpm.conf', ['www'])
    fs = FailingFS()
    job = MasterInvalidation(fs, _master('/srv/other/php-fpm.conf'), report, {}, None)
    assert '/srv/other/php-fpm.conf' in fs.asked and job.channels == [] and job.installation is None


def _job(strategy, verify_paths=()):
    report = report_with_fpm('debian:/etc/php/8.2', '/etc/php/8.2/fpm/php-fpm.conf', ['www'])
    job = MasterInvalidation(NoFS(), _master('/etc/php/8.2/fpm/php-fpm.conf'), report, {'verify_paths': list(verify_paths)}, None)
    job.result['strategy'] = strategy
    job.process_control_timeout = '10s'
    return job


def _answer(script, scripts, start_time):
    ini = dict(_preload_ini(script) if script else {}, **{'opcache.validate_timestamps': {'local': '1'}})
    status = {'opcache_enabled': True, 'restart_pending': False, 'preload_statistics': _summary(scripts)['preload_statistics'] if script else None,
              'opcache_statistics': {'start_time': start_time, 'last_restart_time': 0, 'manual_restarts': 0}}
    return {'ini': ini, 'status': status}


def _note(job, data):
    from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import status_summary
    job.note_before(status_summary(data['status']), job.channels[0], data)


def test_a_changed_preloaded_file_makes_auto_skip_the_reset_and_reset_fail_naming_it(app):
    for strategy, expected in (('auto', 'opcache_reset() skipped: it keeps preloaded code'),
                               ('reset', 'run with strategy reload or restart (or auto) so that the master preloads the new code')):
        job = _job(strategy)
        _write(app['lib'], '<?php function f() { return 2; }\n', time.time())
        _note(job, _answer(app['preload'], [app['preload'], app['lib']], int(time.time()) - 30))
        blocked = job.reset_blocked_by_preload()
        assert expected in blocked and app['lib'] + ' (changed on disk at ' in blocked, blocked
        assert 'master 4242 (/etc/php/8.2/fpm/php-fpm.conf)' in blocked
        assert [s['step'] for s in job.steps] == ['preload'] and 'must be preloaded again' in job.steps[0]['detail']
        assert [e['file'] for e in job.result['preload']['refresh'] if e['reason'] == 'changed'][-1] == app['lib']


def test_unchanged_preloading_and_no_preloading_do_not_block_the_reset(app):
    job = _job('reset')
    _note(job, _answer(app['preload'], [app['preload'], app['lib']], int(app['loaded_at'])))
    assert job.reset_blocked_by_preload() is None
    assert job.result['preload']['refresh'] == [] and 'none changed on disk since' in job.steps[0]['detail']
    job = _job('reset')
    _note(job, _answer(None, [], 1000))
    assert job.reset_blocked_by_preload() is None and job.result['preload'] is None and job.steps == []


def test_preloaded_code_under_verify_paths_is_never_left_to_a_reset(app):
    job = _job('auto', verify_paths=[os.path.dirname(app['preload'])])
    _note(job, _answer(app['preload'], [app['preload'], app['lib']], int(app['loaded_at'])))
    assert 'under verify_paths' in job.reset_blocked_by_preload()


def test_check_mode_says_the_reset_is_skipped_or_fails_for_reset_only(app):
    _write(app['lib'], '<?php function f() { return 2; }\n', time.time())
    answer = _answer(app['preload'], [app['preload'], app['lib']], int(time.time()) - 30)
    from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import status_summary
    for strategy in ('auto', 'reset'):
        job = _job(strategy)
        job.check_mode = True
        job.status = lambda: (status_summary(answer['status']), job.channels[0], answer)
        if strategy == 'auto':
            result = job.run('auto', 1.0)
            assert result['would'].startswith('reload (escalating to restart if not proven); the reset is skipped: opcache_reset() skipped'), result
        else:
            with pytest.raises(InvalidationError, match='run with strategy reload or restart'):
                job.run('reset', 1.0)


def test_a_long_list_of_changed_preloaded_files_is_cut_short(tmp_path):
    scripts = []
    for index in range(25):
        path = str(tmp_path / ('f%02d.php' % index))
        _write(path, '<?php\n', time.time())
        scripts.append(path)
    job = _job('reset')
    _note(job, _answer(scripts[0], scripts, int(time.time()) - 30))
    blocked = job.reset_blocked_by_preload()
    assert scripts[9] in blocked and scripts[10] not in blocked and ' and 15 more' in blocked, blocked
