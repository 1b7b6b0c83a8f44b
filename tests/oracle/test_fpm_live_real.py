# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: plugins/module_utils/live/ against two REAL, private php-fpm masters (PHP-FPM under test, e.g. 8.2).

Master A (``-c <tmp>/a/php.ini``, ``PHP_INI_SCAN_DIR=<tmp>/a/conf.d``) has pools: live (defaults),
frozen (php_admin_value validate_timestamps=0), pv (php_value revalidate_freq=7), basedir
(open_basedir without the probe dir), basedir_ok (open_basedir with it), restricted
(opcache.restrict_api elsewhere) and jail (chroot). Master B has its own ini and one pool.
Both run in the foreground (-F) as children of the test (private_fpm.PrivateFpm); the system's FPM is never touched.
Needs root (pool users, chroot) and php-fpmX.Y (private_fpm.FPM_BINARY: PHPOPS_PHP_FPM, else
/usr/sbin/php-fpm<PHPOPS_PHP_VERSION or the installed version>): a missing binary FAILS the tests (no skip).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.live import masters as proc_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live import probe as live_probe
from ansible_collections.phpops.opcache.plugins.module_utils.live import report as live_view
from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import FastCGIClient, build_php_params
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import FPM_BINARY, PHP_VERSION, PrivateFpm, binary_version
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import opcache_ini as build_opcache_ini, write_file as _write
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.report_records import report_with_fpm

FPM = FPM_BINARY
COLLECTIONS = [p for p in sys.path if os.path.isdir(os.path.join(p or '.', 'ansible_collections', 'phpops', 'opcache'))][0]


class Master(PrivateFpm):
    """One private master: php.ini, conf.d/10-opcache.ini + 20-extra.ini; ``socks``: pool -> unix socket in <base>/sock.
    It runs PrivateFpm's private copy of the binary (out of reach of `service phpX.Y-fpm stop`)."""

    def __init__(self, base, name, pools, opcache_ini):
        super().__init__(FPM, directory=os.path.join(base, name), php_ini='; main ini of the test\nopcache.revalidate_freq = 0\n',
                         conf_d={'10-opcache.ini': opcache_ini, '20-extra.ini': 'opcache.max_accelerated_files = 4000\n'},
                         connect_unix=False)
        self.socks = {}
        for pool, extra in pools:
            self.socks[pool] = self.add_pool(pool, os.path.join(base, 'sock', '%s-%s.sock' % (name, pool)),
                                             user='www-data', group='www-data', extra=extra)

    @property
    def scan(self):
        return self.scan_dir


@pytest.fixture(scope='module')
def env():
    if not os.path.isfile(FPM):
        pytest.fail('php-fpm binary %s is missing (apt-get install php%s-fpm)' % (FPM, PHP_VERSION), pytrace=False)
    if os.geteuid() != 0:
        pytest.fail('this oracle needs root (pool users, chroot)', pytrace=False)
    base = tempfile.mkdtemp(prefix='fpmlive', dir='/tmp')
    os.chmod(base, 0o755)
    os.makedirs(os.path.join(base, 'sock'))
    app = os.path.join(base, 'app')
    _write(os.path.join(app, 'index.php'), '<?php echo "v1";\n')
    jail = os.path.join(base, 'jail')
    os.makedirs(jail)
    probe_dir = '/run/phpops-test-%d-%d' % (os.getpid(), int(time.time()))
    opcache_ini = build_opcache_ini([('opcache.enable', 1), ('opcache.file_update_protection', 0), ('opcache.memory_consumption', 64)])
    pools_a = [
        ('live', ''),
        ('frozen', 'php_admin_value[opcache.validate_timestamps] = 0'),
        ('pv', 'php_value[opcache.revalidate_freq] = 7'),
        ('basedir', 'php_admin_value[open_basedir] = %s/' % app),
        ('basedir_ok', 'php_admin_value[open_basedir] = %s/:%s/' % (app, probe_dir)),
        ('restricted', 'php_admin_value[opcache.restrict_api] = %s/' % app),
        ('jail', 'chroot = %s' % jail),
    ]
    master_a = Master(base, 'a', pools_a, opcache_ini)
    master_b = Master(base, 'b', [('other', '')], opcache_ini.replace('= 64', '= 32'))
    masters = [master_a, master_b]
    try:
        for master in masters:
            master.start()
        yield {'base': base, 'app': app, 'jail': jail, 'probe_dir': probe_dir, 'a': master_a, 'b': master_b}
    finally:
        for master in masters:
            master.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(probe_dir, ignore_errors=True)


def _ours(env):
    found = [m for m in proc_masters.find_fpm_masters() if m.config.startswith(env['base'] + '/')]
    return sorted(found, key=lambda m: m.config)


def _run(env, **options):
    options.setdefault('probe_dir', env['probe_dir'])
    options.setdefault('masters', _ours(env))
    return live_view.live_report(HostFS('/'), None, **options).as_dict()


def _pools(master):
    return dict((p['name'], p) for p in master['pools'])


def _get(listen, script):
    response = FastCGIClient(listen, read_timeout=5).request(build_php_params(script))
    return response.body.decode()


@pytest.fixture(scope='module')
def base_report(env):
    return _run(env)


def test_both_masters_found(env):
    masters = _ours(env)
    assert [m.config for m in masters] == [env['a'].conf, env['b'].conf]
    assert [m.pid for m in masters] == [env['a'].proc.pid, env['b'].proc.pid]
    for master, started in zip(masters, (env['a'], env['b'])):
        assert master.binary == os.path.realpath(started.binary)
        assert abs(master.start_time - time.time()) < 120
        # FPM writes its process title over argv AND environ: PHP_INI_SCAN_DIR is not readable from /proc
        assert master.scan_dir_env in (None, env['a'].scan, env['b'].scan)
    assert sorted(masters[0].worker_pools) == sorted(['live', 'frozen', 'pv', 'basedir', 'basedir_ok', 'restricted', 'jail'])


def test_running_master_identity(env, base_report):
    master_a, master_b = base_report['masters']
    assert master_a['pid'] == env['a'].proc.pid and master_b['pid'] == env['b'].proc.pid
    assert master_a['php_ini_loaded_file'] == env['a'].ini
    assert master_a['php_ini_scanned_files'] == [os.path.join(env['a'].scan, '10-opcache.ini'), os.path.join(env['a'].scan, '20-extra.ini')]
    # the full version the binary itself reports (8.2.x for php-fpm8.2)
    assert master_a['version'] == binary_version(FPM)
    assert master_a['status']['opcache_enabled'] is True
    assert master_a['status']['statistics']['start_time'] >= int(master_a['start_time']) - 1
    assert master_a['drift'] == [] and master_b['drift'] == []
    # the second master is queried on its own: its own SHM size and its own pool
    assert [p['name'] for p in master_b['pools']] == ['other']
    other = master_b['pools'][0]
    assert other['ok'] and other['settings']['opcache.memory_consumption']['value'] == '32'
    assert master_b['status']['memory_usage']['free_memory'] + master_b['status']['memory_usage']['used_memory'] <= 32 * 1024 * 1024


def test_pool_values_and_origins(base_report):
    pools = _pools(base_report['masters'][0])
    live, frozen, pv = pools['live'], pools['frozen'], pools['pv']
    assert live['ok'] and frozen['ok'] and pv['ok'], (live['error'], frozen['error'], pv['error'])
    assert live['settings']['opcache.validate_timestamps'] == {'value': '1', 'origin': 'default', 'access': 7, 'global_value': '1',
                                                               'cfg_value': None, 'file': None, 'line': None}
    vt = frozen['settings']['opcache.validate_timestamps']
    assert (vt['value'], vt['origin'], vt['access']) == ('0', 'php_admin_value', 4)
    rf = pv['settings']['opcache.revalidate_freq']
    assert (rf['value'], rf['origin'], rf['access']) == ('7', 'php_value', 7)
    assert live['settings']['opcache.revalidate_freq']['origin'] == 'ini'
    assert live['settings']['opcache.memory_consumption']['value'] == '64'
    assert live['settings']['opcache.memory_consumption']['origin'] == 'ini'
    # different workers, as www-data
    assert live['worker_pid'] != frozen['worker_pid']
    assert live['worker_uid'] == 33


def test_open_basedir_restrict_api_chroot(env, base_report):
    pools = _pools(base_report['masters'][0])
    assert not pools['basedir']['ok']
    assert 'open_basedir' in pools['basedir']['error'] and env['probe_dir'] in pools['basedir']['error']
    assert pools['basedir_ok']['ok'], pools['basedir_ok']['error']
    assert pools['basedir_ok']['open_basedir'].endswith(env['probe_dir'] + '/')
    restricted = pools['restricted']
    assert restricted['ok'] and 'restrict_api' in restricted['status_error'] and env['app'] in restricted['status_error']
    assert restricted['settings']['opcache.validate_timestamps']['value'] == '1'
    jail = pools['jail']
    assert jail['ok'], jail['error']
    assert jail['chroot'] == env['jail']
    codes = [(f['code'], f['pool']) for f in base_report['findings']]
    assert ('LIVE_PROBE_FAILED', 'basedir') in codes
    assert base_report['masters'][0]['probe_pool'] == 'live'


def test_probe_dir_empty_after_success(env, base_report):
    assert base_report['masters']
    assert os.listdir(env['probe_dir']) == []
    assert os.listdir(os.path.join(env['jail'], env['probe_dir'].lstrip('/'))) == []
    assert oct(os.stat(env['probe_dir']).st_mode & 0o777) == oct(0o711)


def test_probe_dir_empty_after_failure(env, monkeypatch):
    seen = []

    def boom(pool, site, payload, timeout=5.0, on_stdout=None):
        seen.append(os.path.exists(site['host_path']))
        raise RuntimeError('induced failure')

    monkeypatch.setattr(live_probe, 'request_probe', boom)
    with pytest.raises(RuntimeError):
        _run(env, masters=_ours(env)[:1])
    # the pools are asked at once: each that got a request (all but basedir, whose open_basedir refuses
    # the probe before it is placed) had its probe in place
    assert seen == [True] * (len(env['a'].socks) - 1)
    assert os.listdir(env['probe_dir']) == []


def test_killed_run_leftover_removed_by_next_run(env):
    code = ('import os, signal\nfrom ansible_collections.phpops.opcache.plugins.module_utils.live import probe as m\n'
            'site = m.plan_probe(%r, m.PoolSpec("live"))\nm.ensure_probe_dir(site["host_dir"])\nm.write_probe(site, 33)\n'
            'print(site["host_path"], flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n' % env['probe_dir'])
    proc = subprocess.run([sys.executable, '-c', code], env=dict(os.environ, PYTHONPATH=COLLECTIONS), stdout=subprocess.PIPE, check=False)
    assert proc.returncode == -signal.SIGKILL
    leftover = proc.stdout.decode().strip()
    assert os.path.exists(leftover)
    report = _run(env, masters=_ours(env)[1:])
    assert report['masters'][0]['pools'][0]['ok']
    assert os.listdir(env['probe_dir']) == []


def test_default_probe_dir(env):
    report = live_view.live_report(HostFS('/'), None, masters=_ours(env)[1:]).as_dict()
    assert report['masters'][0]['pools'][0]['ok']
    assert [n for n in os.listdir(live_probe.DEFAULT_PROBE_DIR) if n.startswith(live_probe.PROBE_PREFIX + '%d-' % os.getpid())] == []
    assert os.stat(live_probe.DEFAULT_PROBE_DIR).st_mode & 0o777 == 0o711


def test_ini_edit_without_reload_is_drift(env):
    master = env['a']
    ini = os.path.join(master.scan, '10-opcache.ini')
    extra = os.path.join(master.scan, '20-extra.ini')
    with open(ini) as handle:
        original = handle.read()
    try:
        _write(ini, original.replace('memory_consumption = 64', 'memory_consumption = 96'))
        later = time.time() + 2
        os.utime(ini, (later, later))
        os.rename(extra, extra + '.disabled')
        report = _run(env, masters=_ours(env)[:1])
    finally:
        _write(ini, original)
        os.rename(extra + '.disabled', extra)
    running = report['masters'][0]
    assert {'directive': 'opcache.memory_consumption', 'running': '64', 'disk': '96', 'running_origin': 'ini', 'disk_origin': 'ini',
            'evidence': ini + ':4'} in running['drift']
    assert {'directive': 'opcache.max_accelerated_files', 'running': '4000', 'disk': '10000', 'running_origin': 'ini', 'disk_origin': 'default',
            'evidence': 'removed from the ini files (the default applies)'} in running['drift']
    assert running['fileset_differs']['only_running'] == [extra]
    codes = set(f['code'] for f in report['findings'])
    assert {'LIVE_DRIFT', 'LIVE_INI_CHANGED_AFTER_START', 'LIVE_FILESET_DIFFERS'} <= codes
    assert ini in [c['file'] for c in running['changed_after_start']]


def test_stale_code_under_validate_timestamps_off(env):
    script = os.path.join(env['app'], 'index.php')
    frozen = env['a'].socks['frozen']
    assert _get(frozen, script) == 'v1'
    _write(script, '<?php echo "v2";\n')
    later = time.time() + 2
    os.utime(script, (later, later))
    assert _get(frozen, script) == 'v1'   # really served old code
    report = _run(env, masters=_ours(env)[:1], verify_paths=[env['app']], max_examples=5)
    stale = report['masters'][0]['stale_scripts']
    assert stale['count'] == 1 and stale['checked'] == 1
    assert stale['examples'][0]['path'] == script
    assert any(f['code'] == 'LIVE_STALE_SCRIPTS' and script in f['message'] for f in report['findings'])


def test_not_running_and_connection_errors(env):
    report = live_view.live_report(HostFS('/'), report_with_fpm('x:/nowhere', '/nowhere/php-fpm.conf', []), masters=[], probe_dir=env['probe_dir']).as_dict()
    assert 'not running' in report['not_running'][0]['error']
    site = live_probe.plan_probe(env['probe_dir'], live_probe.PoolSpec('x'))
    with pytest.raises(live_probe.LiveError, match='socket missing'):
        live_probe.request_probe(live_probe.PoolSpec('x', listen=os.path.join(env['base'], 'sock', 'gone.sock')), site, {})
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)

    def answer_http():
        conn, _addr = server.accept()
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')
        conn.close()

    thread = threading.Thread(target=answer_http, daemon=True)
    thread.start()
    try:
        with pytest.raises(live_probe.LiveError, match='not a FastCGI server: the peer answered with HTTP'):
            live_probe.request_probe(live_probe.PoolSpec('x', listen='127.0.0.1:%d' % server.getsockname()[1]), site, {})
    finally:
        server.close()
    # a unix socket the caller may not open: run the request as nobody
    private = os.path.join(env['base'], 'sock', 'private.sock')
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(private)
    listener.listen(1)
    os.chmod(private, 0o600)
    code = ('from ansible_collections.phpops.opcache.plugins.module_utils.live import probe as m\n'
            'try:\n    m.request_probe(m.PoolSpec("x", listen=%r), {"script_filename": "/x/p.php"}, {})\n'
            'except m.LiveError as e:\n    print(e)\n' % private)
    # nobody must be able to import the collection: the test tree may sit in a 0700 directory
    readable = tempfile.mkdtemp(prefix='phpops-nobody-')
    os.chmod(readable, 0o755)
    shutil.copytree(os.path.join(COLLECTIONS, 'ansible_collections', 'phpops', 'opcache', 'plugins', 'module_utils'),
                    os.path.join(readable, 'ansible_collections', 'phpops', 'opcache', 'plugins', 'module_utils'))
    for folder, dummy_dirs, dummy_files in os.walk(readable):
        os.chmod(folder, 0o755)
    try:
        out = subprocess.run(['/usr/bin/python3', '-c', code], env={'PYTHONPATH': readable}, stdout=subprocess.PIPE,
                             preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)), check=True).stdout.decode()
    finally:
        listener.close()
        shutil.rmtree(readable, ignore_errors=True)
    assert 'permission denied' in out and 'listen.mode' in out


def _run_command(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    return result.returncode, result.stdout.decode('utf-8', 'replace'), result.stderr.decode('utf-8', 'replace')


@pytest.fixture
def breakable_master(tmp_path):
    """A private master of its own, whose php-fpm.conf the test may break (issue 9: pm = bogus)."""
    os.chmod(str(tmp_path), 0o755)
    fpm = PrivateFpm(FPM, directory=str(tmp_path / 'fpm'))
    fpm.add_pool('www', str(tmp_path / 'fpm' / 'www.sock'), user='www-data', group='www-data')
    fpm.start()
    try:
        yield fpm
    finally:
        fpm.cleanup()
        shutil.rmtree('/run/phpops-test-%d-config' % os.getpid(), ignore_errors=True)


def _master_of(fpm):
    return [m for m in proc_masters.find_fpm_masters() if m.config == fpm.conf]


def test_a_configuration_that_would_not_start_is_a_finding(breakable_master, tmp_path):
    fpm = breakable_master
    probe_dir = '/run/phpops-test-%d-config' % os.getpid()
    untouched = live_view.live_report(HostFS('/'), None, masters=_master_of(fpm), probe_dir=probe_dir, run_command=_run_command).as_dict()
    assert untouched['masters'][0]['config_test'] is None, 'nothing changed since the start: the master started with it'
    assert 'FPM_CONFIG_INVALID' not in [f['code'] for f in untouched['findings']]

    with open(fpm.conf) as handle:
        lines = handle.read().count('\n')
    with open(fpm.conf, 'a') as handle:
        handle.write('pm = bogus\n')
    later = time.time() + 3
    os.utime(fpm.conf, (later, later))
    report = live_view.live_report(HostFS('/'), None, masters=_master_of(fpm), probe_dir=probe_dir, run_command=_run_command).as_dict()
    master = report['masters'][0]
    assert master['config_test']['ok'] is False and master['config_test']['command'] == [master['binary'], '-t', '-y', fpm.conf]
    assert 'invalid process manager' in master['config_test']['message']
    invalid = [f for f in report['findings'] if f['code'] == 'FPM_CONFIG_INVALID']
    assert len(invalid) == 1 and invalid[0]['severity'] == 'critical' and invalid[0]['sapi'] == 'fpm'
    assert invalid[0]['evidence'] == [fpm.conf, '%s:%d' % (fpm.conf, lines + 1)]
    assert 'invalid process manager' in invalid[0]['message'] and 'would stop PHP-FPM' in invalid[0]['message']
    assert report['masters'][0]['pools'][0]['ok'], 'the running master still serves: the test only reads'
    assert _master_of(fpm)[0].pid == fpm.master_pid

    # the same configuration for an installation whose PHP-FPM does not run: it cannot start
    stopped = report_with_fpm('explicit:%s' % fpm.conf, fpm.conf, ['www'], fpm_binary=fpm.binary)
    report = live_view.live_report(HostFS('/'), stopped, masters=[], probe_dir=probe_dir, run_command=_run_command).as_dict()
    invalid = [f for f in report['findings'] if f['code'] == 'FPM_CONFIG_INVALID']
    assert len(invalid) == 1 and 'PHP-FPM cannot start' in invalid[0]['message'] and invalid[0]['installation'] == 'explicit:%s' % fpm.conf

    # a valid change is tested too, and passes without a finding
    with open(fpm.conf) as handle:
        text = handle.read()
    with open(fpm.conf, 'w') as handle:
        handle.write(text.replace('pm = bogus\n', '; pm = bogus\n'))
    os.utime(fpm.conf, (later, later))
    report = live_view.live_report(HostFS('/'), None, masters=_master_of(fpm), probe_dir=probe_dir, run_command=_run_command).as_dict()
    assert report['masters'][0]['config_test']['ok'] is True
    assert 'FPM_CONFIG_INVALID' not in [f['code'] for f in report['findings']]


def test_many_pools_are_asked_at_once_and_a_failing_one_does_not_stop_the_others():
    """Issue 12 (scale): the pools of a master are asked at once. 12 pools whose requests take 0.3 s
    each (an auto_prepend_file sleeps), the socket of one removed: the result keeps the pools in the
    order of php-fpm.conf, reports the failing one (and only it), and takes about two rounds of
    0.3 s (8 at a time), not twelve."""
    base = tempfile.mkdtemp(prefix='fpmpools', dir='/tmp')
    os.chmod(base, 0o755)
    slow = os.path.join(base, 'slow.php')
    _write(slow, '<?php usleep(300000);\n')
    probe_dir = '/run/phpops-test-%d-pools' % os.getpid()
    names = ['p%02d' % index for index in range(12)]
    fpm = PrivateFpm(FPM, directory=os.path.join(base, 'fpm'), php_ini='; private php.ini\n')
    for name in names:
        fpm.add_pool(name, os.path.join(base, 'fpm', name + '.sock'), user='www-data', group='www-data',
                     extra='php_admin_value[auto_prepend_file] = %s' % slow)
    try:
        fpm.start()
        os.unlink(fpm.listens['p05'])
        masters = _master_of(fpm)
        started = time.monotonic()
        report = live_view.live_report(HostFS('/'), None, masters=masters, probe_dir=probe_dir).as_dict()
        elapsed = time.monotonic() - started
        left = os.listdir(probe_dir)
    finally:
        fpm.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(probe_dir, ignore_errors=True)
    master = report['masters'][0]
    assert [p['name'] for p in master['pools']] == names
    assert [p['name'] for p in master['pools'] if not p['ok']] == ['p05']
    failed = [f for f in report['findings'] if f['code'] == 'LIVE_PROBE_FAILED']
    assert [(f['pool'], f['message']) for f in failed] == [('p05', master['pools'][5]['error'])]
    assert master['pools'][5]['error'].startswith('pool p05 (listen %s): ' % fpm.listens['p05'])
    answered = [p for p in master['pools'] if p['ok']]
    assert len(set(p['worker_pid'] for p in answered)) == 11, 'each pool answered through a worker of its own'
    assert all(p['settings']['opcache.enable']['value'] == '1' for p in answered)
    assert master['probe_pool'] == 'p00' and master['status']['opcache_enabled']
    assert elapsed < 11 * 0.3 / 2, 'the pools were asked one after another: %.2f s' % elapsed
    assert left == [], 'every probe removed itself'
