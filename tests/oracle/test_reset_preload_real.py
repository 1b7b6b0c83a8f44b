# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11, preload): opcache_reset against REAL private php-fpm masters whose
``opcache.preload`` script requires ``lib.php``; ``version.php`` prints what ``lib.php`` defines
(requiring it when nothing preloaded it).

What PHP does, measured here before trusting it: ``opcache_reset()`` returns true and the restart
happens, but the preloaded ``lib.php`` keeps serving the old code (OPcache puts preloaded scripts
back after every restart); a reload (SIGUSR2: the master re-executes) preloads again, daemonised
(new pid) and with ``-F`` (same pid, as systemd runs php-fpm: only the cache start time tells).

Then the module: ``auto`` skips the reset, reloads and proves the preloaded code fresh; ``reset``
fails naming the changed file and the action needed and does not reset; a deploy that keeps the old
mtime (``rsync -a``) is seen by the ctime; without preloading nothing changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import MasterInvalidation
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.tests.oracle.live_env import live_scratch
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import write_file
from ansible_collections.phpops.opcache.tests.oracle.test_safe_reload_real import Site, _run_command

LIB = "<?php function phpops_lib() { return '%s'; }\n"


class PreloadSite(Site):
    """A private master preloading ``app/preload.php`` (which requires ``app/lib.php``), or nothing."""

    def __init__(self, base, preload=True, foreground=False):
        old = time.time() - 3600
        app = os.path.join(base, 'app')
        write_file(os.path.join(app, 'lib.php'), LIB % 'v1', mtime=old)
        write_file(os.path.join(app, 'preload.php'), "<?php require __DIR__ . '/lib.php';\n", mtime=old)
        write_file(os.path.join(app, 'version.php'), "<?php if (!function_exists('phpops_lib')) { require __DIR__ . '/lib.php'; }\necho phpops_lib();\n",
                   mtime=old)
        ini = [('opcache.preload', os.path.join(app, 'preload.php')), ('opcache.preload_user', 'www-data')] if preload else []
        super(PreloadSite, self).__init__(base, ini=ini, foreground=foreground)
        self.lib = os.path.join(app, 'lib.php')

    def deploy(self, version, mtime=None):
        """A new lib.php, renamed into place like a deploy tool does (a new inode, a new ctime)."""
        staged = self.lib + '.new'
        write_file(staged, LIB % version, mtime=mtime)
        os.rename(staged, self.lib)

    def version(self):
        status, body = self.get('version.php')
        assert status == 200, body
        return body

    def job(self, strategy, wait=10.0, verify_paths=()):
        report = build_report(HostFS('/'), _run_command, explicit=[self.installation()], sapis=['fpm'])
        params = {'strategy': strategy, 'wait': wait, 'timeout': 5.0, 'probe_dir': self.probe_dir, 'verify_paths': list(verify_paths)}
        return MasterInvalidation(HostFS('/'), self.master(), report, params, _run_command)

    def run_module(self, strategy):
        """The opcache_reset module, run the way Ansible runs it (args file): its JSON result."""
        args = os.path.join(self.fpm.dir, 'args.json')
        with open(args, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': {'strategy': strategy, 'fpm_confs': [self.fpm.conf], 'wait': 10, 'probe_dir': self.probe_dir}}, handle)
        done = subprocess.run([sys.executable, '-m', 'ansible_collections.phpops.opcache.plugins.modules.opcache_reset', args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
        out = done.stdout.decode('utf-8', 'replace')
        return json.loads(out[out.index('{'):])

    def manual_restarts(self):
        summary, dummy_channel, dummy_data = self.job('reset').status()
        return summary['statistics']['manual_restarts']


@pytest.fixture
def base():
    """A directory the pools' user can traverse, removed afterwards (fails without root or php-fpm)."""
    with live_scratch('reset-preload') as (path, dummy_probe_dir, dummy_started):
        yield path


@pytest.fixture
def site(base):
    instance = PreloadSite(base).start()
    yield instance
    instance.fpm.cleanup()


def _steps(result):
    return [(s['step'], s['ok']) for s in result['steps']]


def test_php_keeps_preloaded_code_through_opcache_reset_and_preloads_again_on_reload(site):
    """The facts the module relies on, on the real binary."""
    assert site.version() == 'v1'
    site.deploy('v2')
    status, body = site.get('reset.php')
    assert (status, body) == (200, 'reset=true')
    time.sleep(0.3)
    assert site.version() == 'v1', 'opcache_reset() dropped the preloaded lib.php'
    pid = site.master().pid
    site.fpm.reload()
    site.fpm.wait_ready()
    assert site.master().pid != pid and site.version() == 'v2'


def test_auto_skips_the_reset_reloads_and_proves_the_preloaded_code_fresh(site):
    assert site.version() == 'v1'
    pid = site.master().pid
    site.deploy('v2')
    result = site.job('auto').run('auto', 10.0)
    assert result['proven'] is True and result['action'] == 'reload', result
    assert _steps(result) == [('preload', True), ('reset', False), ('canary', True), ('reload', True), ('verify_reload', True),
                              ('verify_preload', True)], result['steps']
    reset = result['steps'][1]
    assert reset.get('skipped') is True and 'opcache_reset() skipped: it keeps preloaded code' in reset['detail'], reset
    assert site.lib + ' (changed on disk at ' in reset['detail'], reset
    preload = result['preload']
    assert preload['script'] == os.path.join(site.app, 'preload.php') and site.lib in preload['scripts']
    assert [(e['file'], e['reason']) for e in preload['refresh']] == [(site.lib, 'changed')], preload
    assert preload['proven'] is True and preload['after']['refresh'] == [] and site.lib in preload['after']['scripts']
    assert preload['after']['loaded_at'] > preload['refresh'][0]['changed_at'] > preload['loaded_at']
    assert 'preloaded again: %s' % site.lib in result['steps'][-1]['detail'], result['steps'][-1]
    assert site.master().pid != pid and site.version() == 'v2'


def test_reset_only_fails_loudly_naming_the_preloaded_file_and_the_action_needed(site):
    pid = site.master().pid
    site.deploy('v2')
    result = site.run_module('reset')
    assert result.get('failed') is True, result
    message = result['msg']
    assert 'fresh code NOT proven: reset: opcache_reset() would not refresh preloaded code: master %d' % pid in message, message
    assert site.lib + ' (changed on disk at ' in message and 'run with strategy reload or restart (or auto)' in message, message
    master = result['masters'][0]
    assert [s['step'] for s in master['steps']] == ['preload', 'reset'] and master['steps'][1]['skipped'] is True, master['steps']
    assert master['proven'] is False and master['preload']['refresh'][0]['file'] == site.lib
    assert site.manual_restarts() == 0, 'reset is refused before anything is done'
    assert site.master().pid == pid and site.version() == 'v1'


def test_auto_without_changes_resets_and_proves_the_preloaded_code_current(site):
    result = site.run_module('auto')
    assert result.get('failed') is not True, result
    master = result['masters'][0]
    assert master['action'] == 'reset' and master['proven'] is True, master
    assert [s['step'] for s in master['steps']] == ['preload', 'canary', 'reset', 'verify_reset', 'verify_preload'], master['steps']
    assert 'none changed on disk since' in master['steps'][0]['detail'] and master['preload']['proven'] is True
    assert master['preload']['after']['loaded_at'] == master['preload']['loaded_at'], 'a reset does not preload again'


def test_a_deploy_that_keeps_the_old_mtime_still_escalates(site):
    """rsync -a / tar x / cp -p: lib.php's mtime stays an hour old; its ctime is the deploy's."""
    site.deploy('v2', mtime=time.time() - 3600)
    result = site.job('auto').run('auto', 10.0)
    assert result['action'] == 'reload' and result['preload']['refresh'][0]['file'] == site.lib, result
    assert site.version() == 'v2'


def test_verify_paths_over_preloaded_code_leave_nothing_to_a_reset(site):
    result = site.job('auto', verify_paths=[site.app]).run('auto', 10.0)
    assert result['action'] == 'reload', result
    assert sorted(e['reason'] for e in result['preload']['refresh']) == ['verify_paths', 'verify_paths'], result['preload']


def test_a_master_run_in_the_foreground_reloads_in_place_and_is_proven_by_its_cache(base):
    """php-fpm --nodaemonize (systemd's unit) re-executes on SIGUSR2 with the same pid and process
    start: the new cache start time proves the reload."""
    site = PreloadSite(base, foreground=True).start()
    try:
        pid = site.master().pid
        time.sleep(1.1)  # the cache start time has a resolution of one second
        site.deploy('v2')
        result = site.job('auto').run('auto', 10.0)
        assert result['proven'] is True and result['action'] == 'reload', result
        verify = [s for s in result['steps'] if s['step'] == 'verify_reload'][0]
        assert 'cache start time' in verify['detail'], verify
        assert site.master().pid == pid and site.version() == 'v2'
    finally:
        site.fpm.cleanup()


def test_without_preloading_nothing_changes(base):
    site = PreloadSite(base, preload=False).start()
    try:
        assert site.version() == 'v1'
        site.deploy('v2')
        assert site.version() == 'v1', 'cached, validate_timestamps=0'
        result = site.job('auto').run('auto', 10.0)
        assert result['action'] == 'reset' and result['proven'] is True and result.get('preload') is None, result
        assert [s['step'] for s in result['steps']] == ['canary', 'reset', 'verify_reset'], result['steps']
        assert site.version() == 'v2'
    finally:
        site.fpm.cleanup()


def test_a_switched_release_symlink_is_preloaded_again(base):
    """opcache.preload=<site>/current/preload.php with current -> releases/1; releases/2 was built
    before the master started (nothing in it is newer than the master), then current switched to it:
    the master still runs the release it preloaded."""
    site = PreloadSite(base)
    old = time.time() - 3600
    releases = os.path.join(base, 'site', 'releases')
    for name in ('1', '2'):
        write_file(os.path.join(releases, name, 'lib.php'), LIB % ('release' + name), mtime=old)
        write_file(os.path.join(releases, name, 'preload.php'), "<?php require __DIR__ . '/lib.php';\n", mtime=old)
    current = os.path.join(base, 'site', 'current')
    os.symlink(os.path.join(releases, '1'), current)
    site.fpm.conf_d['10-opcache.ini'] = site.fpm.conf_d['10-opcache.ini'].replace(os.path.join(site.app, 'preload.php'), os.path.join(current, 'preload.php'))
    site.start()
    try:
        assert site.version() == 'release1'
        os.symlink(os.path.join(releases, '2'), current + '.new')
        os.rename(current + '.new', current)
        result = site.job('auto').run('auto', 10.0)
        assert result['action'] == 'reload', result
        assert result['preload']['refresh'] == [{'file': os.path.join(releases, '2', 'preload.php'), 'reason': 'moved',
                                                 'changed_at': result['preload']['refresh'][0]['changed_at']}], result['preload']
        assert os.path.join(releases, '2', 'lib.php') in result['preload']['after']['scripts'] and result['preload']['proven'] is True
        assert site.version() == 'release2'
    finally:
        site.fpm.cleanup()
