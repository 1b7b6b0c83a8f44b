# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: no changing action takes a real PHP-FPM down, and a pending reset is explained.

1. A private php-fpm master whose pool file gets ``pm = bogus`` appended after it started (the
   operator's bad day of issue 9): ``php-fpm -t`` fails, and a reload would re-execute the master
   into a configuration it cannot load, so it would exit. The opcache_reset module (run as Ansible
   runs it), strategy reload, and strategy auto (reset barred by restrict_api, so it escalates) must
   refuse with PHP-FPM's own message naming the file, and the master must keep serving: same pid,
   answers FastCGI.
2. A reset held by a long request (a worker inside ``sleep(4)``): a second run of the reset must say
   that a restart is already pending, since when (the earlier run that scheduled it), which request
   holds it (the pool's ``pm.status_path`` process list), and what happens next.

The machine's own php-fpm is never touched: the masters run private copies of the binary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import FastCGIClient, build_php_params
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import InvalidationError, MasterInvalidation
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import PHP_VERSION, PrivateFpm, binary_version, opcache_ini, pool_conf, write_file

BOGUS = 'pm = bogus\n'


def _run_command(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    return result.returncode, result.stdout.decode('utf-8', 'replace'), result.stderr.decode('utf-8', 'replace')


class Site(object):
    """A private master: pool ``www`` in ``pool.d/www.conf`` (included), an app dir, a probe dir."""

    def __init__(self, base, ini=(), workers=2, pool_settings=(), foreground=True):
        os.chmod(base, 0o755)
        self.app = os.path.join(base, 'app')
        self.probe_dir = os.path.join(base, 'probe')
        self.pool_file = os.path.join(base, 'fpm', 'pool.d', 'www.conf')
        self.sock = os.path.join(base, 'fpm', 'www.sock')
        settings = [('opcache.enable', 1), ('opcache.enable_cli', 0), ('opcache.validate_timestamps', 0)] + list(ini)
        self.fpm = PrivateFpm(directory=os.path.join(base, 'fpm'), php_ini='; private\n', conf_d={'10-opcache.ini': opcache_ini(settings)},
                              global_settings=[('include', os.path.join(base, 'fpm', 'pool.d', '*.conf'))], foreground=foreground)
        self.fpm.listens['www'] = self.sock
        write_file(self.pool_file, pool_conf('www', self.sock, user='www-data', group='www-data', workers=workers, settings=pool_settings))
        write_file(os.path.join(self.app, 'index.php'), "<?php echo 'alive';\n")
        write_file(os.path.join(self.app, 'slow.php'), "<?php sleep(4); echo 'slow';\n")
        write_file(os.path.join(self.app, 'reset.php'), "<?php echo 'reset=', var_export(opcache_reset(), true);\n")
        os.chmod(self.app, 0o755)

    def start(self):
        self.fpm.start()
        return self

    def get(self, script, timeout=10.0):
        response = FastCGIClient(self.sock, read_timeout=timeout).request(build_php_params(os.path.join(self.app, script)))
        return response.status, response.body.decode('utf-8', 'replace').strip()

    def master(self):
        found = [m for m in find_fpm_masters() if m.config == self.fpm.conf]
        # a worker forked a moment ago still carries the master's title: the master is not a child of one
        found = [m for m in found if m.ppid not in [other.pid for other in found]]
        assert len(found) == 1, found
        return found[0]

    def installation(self):
        return {'php_ini': self.fpm.ini, 'scan_dirs': [self.fpm.scan_dir], 'sapi': 'fpm', 'fpm_conf': self.fpm.conf,
                'version': '.'.join((binary_version(self.fpm.binary) or PHP_VERSION).split('.')[:2])}

    def job(self, strategy, wait=5.0):
        report = build_report(HostFS('/'), _run_command, explicit=[self.installation()], sapis=['fpm'])
        params = {'strategy': strategy, 'wait': wait, 'timeout': 5.0, 'probe_dir': self.probe_dir, 'verify_paths': []}
        return MasterInvalidation(HostFS('/'), self.master(), report, params, _run_command)


@pytest.fixture
def base():
    """A directory the pools' user can traverse (pytest's tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix='phpops-safe-', dir='/tmp')
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def site(base):
    instance = Site(base).start()
    try:
        yield instance
    finally:
        instance.fpm.cleanup()


def _break(site):
    with open(site.pool_file, 'a') as handle:
        handle.write(BOGUS)


def _still_serving(site, pid):
    assert site.fpm.running(), 'the master exited: %s' % site.fpm.log_text(2000)
    assert site.master().pid == pid
    assert site.get('index.php') == (200, 'alive')


def _assert_fpm_message(message, site):
    assert 'invalid process manager' in message and site.pool_file in message, message
    assert '-t -y %s' % site.fpm.conf in message and 'the running master is left alone' in message, message


def test_the_module_refuses_to_reload_a_master_whose_configuration_fails(site):
    """The opcache_reset module, run the way Ansible runs it (args file), strategy reload."""
    pid = site.master().pid
    assert site.get('index.php') == (200, 'alive')
    _break(site)
    args = os.path.join(site.fpm.dir, 'args.json')
    with open(args, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': {'strategy': 'reload', 'fpm_confs': [site.fpm.conf], 'wait': 5, 'probe_dir': site.probe_dir}}, handle)
    done = subprocess.run([sys.executable, '-m', 'ansible_collections.phpops.opcache.plugins.modules.opcache_reset', args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
    out = done.stdout.decode('utf-8', 'replace')
    result = json.loads(out[out.index('{'):])
    assert result.get('failed') is True, result
    assert 'not reloading php-fpm master %d' % pid in result['msg'], result['msg']
    _assert_fpm_message(result['msg'], site)
    steps = result['masters'][0]['steps']
    assert [s['step'] for s in steps] == ['canary', 'reload'] and steps[-1]['ok'] is False, steps
    _still_serving(site, pid)


def test_auto_escalation_never_reloads_or_restarts_into_a_broken_configuration(base):
    """restrict_api bars the probe's opcache_reset(), so auto escalates: the reload is refused with
    PHP-FPM's message, the restart too (no service for a private master), and the master serves on."""
    site = Site(base, ini=[('opcache.restrict_api', '/nonexistent')]).start()
    try:
        pid = site.master().pid
        _break(site)
        job = site.job('auto')
        with pytest.raises(InvalidationError) as caught:
            job.run('auto', 5.0)
        message = str(caught.value)
        assert 'reset: pool www: opcache_reset() returned False (Zend OPcache API is restricted by "restrict_api"' in message, message
        reload_part = message.split('reload: ', 1)[1].split(' | restart: ')[0]
        _assert_fpm_message(reload_part, site)
        assert 'restart: no init service is known' in message, message
        _still_serving(site, pid)
    finally:
        site.fpm.cleanup()


def test_a_sound_configuration_still_reloads_with_proof(base):
    """A daemonised master (as the distributions run it) re-executes on reload with a new pid: the
    configuration test passes and the reload is proven."""
    site = Site(base, foreground=False).start()
    try:
        pid = site.master().pid
        result = site.job('reload').run('reload', 10.0)
        assert result['proven'] is True and result['action'] == 'reload', result
        assert [s['step'] for s in result['steps']][:2] == ['canary', 'reload'], result['steps']
        assert site.master().pid != pid and site.get('index.php') == (200, 'alive')
    finally:
        site.fpm.cleanup()


def test_a_rerun_while_a_reset_is_pending_says_since_when_who_holds_it_and_what_happens(base):
    site = Site(base, workers=3, pool_settings=[('pm.status_path', '/fpm-status')]).start()
    try:
        answers = []
        slow = threading.Thread(target=lambda: answers.append(site.get('slow.php', timeout=15)))
        slow.start()
        time.sleep(0.5)
        # the first run schedules the reset, which the slow request holds: not proven within 1 s
        with pytest.raises(InvalidationError) as first:
            site.job('reset', wait=1.0).run('reset', 1.0)
        assert 'reset: not proven within 1.0s (restart_pending=True' in str(first.value), str(first.value)
        # the rerun: opcache_reset() returns False while a restart is pending
        with pytest.raises(InvalidationError) as caught:
            site.job('reset', wait=1.0).run('reset', 1.0)
        message = str(caught.value)
        assert 'opcache_reset() returned False because an OPcache restart of master %d' % site.master().pid in message, message
        assert 'is already pending, scheduled by an earlier opcache_reset run through pool www at ' in message, message
        assert 'held by a request that started before it: running now: pool www pid ' in message, message
        assert 'GET /slow.php (script %s) running for ' % os.path.join(site.app, 'slow.php') in message, message
        assert 'it completes when no worker of the master is inside a request that started before it' in message, message
        assert 'opcache.force_restart_timeout=180 s' in message and 'run with strategy auto (or reload) to escalate' in message, message
        slow.join(15)
        assert answers == [(200, 'slow')]
        # once the request ended the restart happens: a new run proves a reset again
        result = site.job('reset').run('reset', 10.0)
        assert result['proven'] is True, result
    finally:
        site.fpm.cleanup()
