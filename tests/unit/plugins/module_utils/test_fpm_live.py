# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Unit tests for plugins/module_utils/live/: the pure logic, no php needed."""

from __future__ import annotations

import os
import re
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.live import drift as live_drift
from ansible_collections.phpops.opcache.plugins.module_utils.live import masters as proc_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live import probe as live_probe
from ansible_collections.phpops.opcache.plugins.module_utils.live import report as live_view
from ansible_collections.phpops.opcache.plugins.module_utils.live import stale as live_stale
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import PoolSpec
from ansible_collections.phpops.opcache.plugins.module_utils.live.records import LiveMaster
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import directives_for
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.report_records import report_with_fpm

TABLE = directives_for('8.2')


# -- titles and /proc ---------------------------------------------------------------------------

@pytest.mark.parametrize('raw, config', [
    (b'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)\x00\x00\x00\x00', '/etc/php/8.2/fpm/php-fpm.conf'),
    (b'php-fpm8.1: master process (/etc/php/8.1/fpm/php-fpm.conf)', '/etc/php/8.1/fpm/php-fpm.conf'),
    (b'php-fpm: master process (/srv/a dir/php-fpm (x).conf)', '/srv/a dir/php-fpm (x).conf'),
    (b'php-fpm: pool www', None),
    (b'/usr/sbin/php-fpm8.2\x00-F\x00-y\x00/x.conf', None),
    (b'nginx: master process /usr/sbin/nginx', None),
    (b'', None),
])
def test_master_title(raw, config):
    assert proc_masters.parse_master_title(proc_masters.parse_cmdline(raw)) == config


def test_pool_title():
    assert proc_masters.parse_pool_title('php-fpm: pool www') == 'www'
    assert proc_masters.parse_pool_title('php-fpm: master process (/x)') is None


def test_parse_btime_and_stat():
    assert proc_masters.parse_btime('cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n') == 1700000000
    with pytest.raises(ValueError):
        proc_masters.parse_btime('cpu 1\n')
    fields = ['S', '1'] + ['0'] * 17 + ['12345'] + ['0'] * 10
    stat_line = '4242 (php-fpm: master process (/a b).conf)) ' + ' '.join(fields)
    assert proc_masters.parse_pid_stat(stat_line) == (1, 12345)


def _fake_proc(root, pid, title, ppid, ticks, exe=None, uid=0):
    base = root.join(str(pid))
    base.ensure(dir=True)
    base.join('cmdline').write_binary(title.encode() + b'\x00' * 20)
    fields = ['S', str(ppid)] + ['0'] * 17 + [str(ticks)] + ['0'] * 10
    base.join('stat').write('%d (php-fpm8.2) %s\n' % (pid, ' '.join(fields)))
    base.join('status').write('Name:\tphp-fpm8.2\nUid:\t%d\t%d\t%d\t%d\n' % (uid, uid, uid, uid))
    if exe:
        os.symlink(exe, str(base.join('exe')))


def test_find_fpm_masters_fake_proc(tmpdir):
    tmpdir.join('stat').write('cpu 1\nbtime 1700000000\n')
    _fake_proc(tmpdir, 100, 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 1, 500, '/usr/sbin/php-fpm8.2')
    _fake_proc(tmpdir, 101, 'php-fpm: pool www', 100, 510, uid=33)
    _fake_proc(tmpdir, 102, 'php-fpm: pool www', 100, 511, uid=33)
    _fake_proc(tmpdir, 200, 'php-fpm: master process (/etc/php/8.1/fpm/php-fpm.conf)', 1, 1000, '/usr/sbin/php-fpm8.1 (deleted)')
    _fake_proc(tmpdir, 201, 'php-fpm: pool api', 200, 1001)
    _fake_proc(tmpdir, 300, 'php-fpm: master process (/srv/second/php-fpm.conf)', 1, 250)
    _fake_proc(tmpdir, 400, 'sshd: root', 1, 5)
    tmpdir.join('self').ensure(dir=True)
    masters = proc_masters.find_fpm_masters(str(tmpdir), clock_ticks=100)
    assert [m.pid for m in masters] == [100, 200, 300]
    first, second, third = masters
    assert first.config == '/etc/php/8.2/fpm/php-fpm.conf'
    assert first.binary == '/usr/sbin/php-fpm8.2' and not first.binary_deleted
    assert first.start_time == 1700000005.0
    assert first.worker_pools == {'www': [101, 102]}
    assert first.uid == 0
    assert second.binary == '/usr/sbin/php-fpm8.1' and second.binary_deleted
    assert second.worker_pools == {'api': [201]}
    assert third.binary is None and third.start_time == 1700000002.5


def test_masters_of_other_roots_or_mount_namespaces_are_not_ours(tmpdir):
    tmpdir.join('stat').write('cpu 1\nbtime 1700000000\n')
    tmpdir.join('self', 'ns').ensure(dir=True)
    os.symlink('mnt:[4026531841]', str(tmpdir.join('self', 'ns', 'mnt')))
    for pid, root, mnt in ((100, '/', 'mnt:[4026531841]'), (200, '/srv/lab/host1', 'mnt:[4026531841]'), (300, '/', 'mnt:[4026532999]')):
        _fake_proc(tmpdir, pid, 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 1, 500)
        os.symlink(root, str(tmpdir.join(str(pid), 'root')))
        tmpdir.join(str(pid), 'ns').ensure(dir=True)
        os.symlink(mnt, str(tmpdir.join(str(pid), 'ns', 'mnt')))
    assert [m.pid for m in proc_masters.find_fpm_masters(str(tmpdir), clock_ticks=100)] == [100]


def test_a_just_forked_worker_with_the_master_title_is_not_a_second_master(tmpdir):
    tmpdir.join('stat').write('cpu 1\nbtime 1700000000\n')
    _fake_proc(tmpdir, 100, 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 1, 500, '/usr/sbin/php-fpm8.2')
    _fake_proc(tmpdir, 101, 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 100, 510, '/usr/sbin/php-fpm8.2')
    _fake_proc(tmpdir, 102, 'php-fpm: pool www', 100, 511, uid=33)
    # a master started by another master's process for another configuration stays a master
    _fake_proc(tmpdir, 103, 'php-fpm: master process (/srv/other/php-fpm.conf)', 100, 512, '/usr/sbin/php-fpm8.2')
    tmpdir.join('self').ensure(dir=True)
    masters = proc_masters.find_fpm_masters(str(tmpdir), clock_ticks=100)
    assert [(m.pid, m.worker_pools) for m in masters] == [(100, {'www': [102]}), (103, {})]


def test_find_fpm_masters_missing_proc(tmpdir):
    assert proc_masters.find_fpm_masters(str(tmpdir.join('nope'))) == []


# -- origins and drift --------------------------------------------------------------------------

@pytest.mark.parametrize('local, glob, access, cfg, native, origin', [
    ('1', '1', 7, None, 'PHP_INI_ALL', 'default'),
    ('0', '0', 4, None, 'PHP_INI_ALL', 'php_admin_value'),       # admin-locked, nothing in the files
    ('1', '1', 4, '1', 'PHP_INI_ALL', 'php_admin_value'),        # admin-locked to the same value
    ('0', '0', 4, '1', None, 'php_admin_value'),
    ('7', '7', 7, '0', 'PHP_INI_ALL', 'php_value'),
    ('0', '0', 7, '0', 'PHP_INI_ALL', 'ini'),
    ('64', '64', 4, '64', 'PHP_INI_SYSTEM', 'ini'),
    ('128', '128', 4, None, 'PHP_INI_SYSTEM', 'default'),
    ('96', '96', 4, '64', 'PHP_INI_SYSTEM', 'php_admin_value'),
    ('5', '0', 7, '0', 'PHP_INI_ALL', 'runtime'),                # .user.ini / [PATH=] / ini_set
])
def test_classify_origin(local, glob, access, cfg, native, origin):
    assert live_drift.classify_origin(local, glob, access, cfg, native) == origin


@pytest.mark.parametrize('local, access, cfg, native, override, default, vtype, origin', [
    # issue 11: php_value over a directive the files do not set was "default"
    ('7', 7, None, 'PHP_INI_ALL', ('php_value', '7', '/p.conf', 9), '2', 'int', 'php_value'),
    ('7', 7, None, 'PHP_INI_ALL', None, '2', 'int', 'php_value'),            # the pool file no longer says it
    ('2', 7, None, 'PHP_INI_ALL', None, '2', 'int', 'default'),
    ('0', 7, '0', 'PHP_INI_ALL', ('php_value', '0', '/p.conf', 9), '2', 'int', 'php_value'),   # same value as the ini: the pool line wins
    ('1', 7, None, 'PHP_INI_ALL', ('php_flag', 'on', '/p.conf', 9), '0', 'bool', 'php_flag'),
    ('1', 4, None, 'PHP_INI_ALL', ('php_admin_flag', 'yes', '/p.conf', 9), '0', 'bool', 'php_admin_flag'),
    ('0', 4, None, 'PHP_INI_ALL', ('php_admin_value', '0', '/p.conf', 9), '1', 'bool', 'php_admin_value'),
    ('7', 7, None, 'PHP_INI_ALL', ('php_value', '60', '/p.conf', 9), '2', 'int', 'php_value'),   # drift: still the pool's
    ('0', 7, '0', 'PHP_INI_ALL', ('php_value', '60', '/p.conf', 9), '2', 'int', 'ini'),          # not applied yet: the ini's
])
def test_classify_origin_with_the_pool_file(local, access, cfg, native, override, default, vtype, origin):
    assert live_drift.classify_origin(local, local, access, cfg, native, override, default, vtype) == origin


def test_pool_settings_name_the_pool_line():
    data = {'ini': {'opcache.revalidate_freq': {'local': '7', 'global': '7', 'access': 7, 'cfg': None},
                    'opcache.validate_timestamps': {'local': '0', 'global': '0', 'access': 4, 'cfg': None},
                    'opcache.enable': {'local': '1', 'global': '1', 'access': 7, 'cfg': None}}}
    overrides = {'opcache.revalidate_freq': ('php_value', '7', '/etc/php/8.2/fpm/pool.d/ceobar.conf', 12),
                 'opcache.validate_timestamps': ('php_admin_value', '0', '/etc/php/8.2/fpm/pool.d/ceobar.conf', 11)}
    settings = live_drift.pool_settings(data, TABLE, overrides)
    assert settings['opcache.revalidate_freq'] == {'value': '7', 'origin': 'php_value', 'access': 7, 'global_value': '7', 'cfg_value': None,
                                                   'file': '/etc/php/8.2/fpm/pool.d/ceobar.conf', 'line': 12}
    assert (settings['opcache.validate_timestamps']['origin'], settings['opcache.validate_timestamps']['line']) == ('php_admin_value', 11)
    assert (settings['opcache.enable']['origin'], settings['opcache.enable']['file']) == ('default', None)


def test_values_equal():
    assert live_drift.values_equal('opcache.enable', '1', 'On', 'bool')
    assert live_drift.values_equal('opcache.enable', '', '0', 'bool')
    assert not live_drift.values_equal('opcache.enable', '1', '0', 'bool')
    assert not live_drift.values_equal('opcache.memory_consumption', '128', None, 'int')
    assert live_drift.values_equal('opcache.memory_consumption', ' 128', '128', 'int')
    assert live_drift.values_equal('x', None, None)


def test_chain_drift():
    running = {'opcache.memory_consumption': '64', 'opcache.enable': '1', 'opcache.max_accelerated_files': '4000', 'opcache.jit': None}
    disk = {'opcache.memory_consumption': '96', 'opcache.enable': 'On', 'opcache.jit': 'tracing', 'date.timezone': 'UTC'}
    assert live_drift.chain_drift(running, disk, TABLE) == [
        {'directive': 'opcache.max_accelerated_files', 'running': '4000', 'disk': '10000', 'running_origin': 'ini', 'disk_origin': 'default'},
        {'directive': 'opcache.memory_consumption', 'running': '64', 'disk': '96', 'running_origin': 'ini', 'disk_origin': 'ini'},
    ]


def test_chain_drift_shows_the_running_default():
    # issue 11: the master runs the default 128 and the files now say 96: never "running": null
    drift = live_drift.chain_drift({'opcache.memory_consumption': None}, {'opcache.memory_consumption': '96'}, TABLE)
    assert drift == [{'directive': 'opcache.memory_consumption', 'running': '128', 'disk': '96', 'running_origin': 'default', 'disk_origin': 'ini'}]
    # the files now spell out the default the master already runs: a reload changes nothing
    assert live_drift.chain_drift({'opcache.memory_consumption': None}, {'opcache.memory_consumption': '128'}, TABLE) == []
    # a directive PHP's table does not know: the value the probe saw
    assert live_drift.chain_drift({'opcache.future': None}, {'opcache.future': '3'}, TABLE, {'opcache.future': '1'}) == [
        {'directive': 'opcache.future', 'running': '1', 'disk': '3', 'running_origin': 'default', 'disk_origin': 'ini'}]


def test_pool_drift():
    live = {
        'opcache.validate_timestamps': {'value': '0', 'origin': 'php_admin_value'},
        'opcache.revalidate_freq': {'value': '2', 'origin': 'default'},
        'opcache.enable': {'value': '1', 'origin': 'php_admin_value'},
        'opcache.memory_consumption': {'value': '64', 'origin': 'ini'},
    }
    disk = {
        'opcache.validate_timestamps': ('php_admin_value', '0', '/p.conf', 3),
        'opcache.revalidate_freq': ('php_value', '60', '/p.conf', 4),
        'opcache.memory_consumption': ('php_admin_value', '512', '/p.conf', 5),   # startup-only: never a pool drift
    }
    drift = live_drift.pool_drift(live, disk, TABLE)
    assert [(d['directive'], d['running'], d['disk']) for d in drift] == [
        ('opcache.enable', '1', None),
        ('opcache.revalidate_freq', '2', '60'),
    ]
    assert drift[1]['evidence'] == '/p.conf:4'


# -- placement ----------------------------------------------------------------------------------

@pytest.mark.parametrize('limit, ext', [
    (None, '.php'), ('', '.php'), ('.php .phar', '.php'), ('.phtml .php5', '.phtml'), ('.phar', '.phar'),
])
def test_choose_extension(limit, ext):
    assert live_probe.choose_extension(limit) == ext


def test_choose_extension_none_usable():
    with pytest.raises(live_probe.LiveError, match='security.limit_extensions'):
        live_probe.choose_extension('../x .')


@pytest.mark.parametrize('basedir, path, allowed', [
    (None, '/run/p/x.php', True),
    ('', '/run/p/x.php', True),
    ('/var/www/', '/run/p/x.php', False),
    ('/var/www/:/run/p/', '/run/p/x.php', True),
    ('/var/www:/run/p', '/run/p/x.php', True),
    ('/run/pp/', '/run/p/x.php', False),
    ('.', '/run/p/x.php', False),
])
def test_basedir_allows(basedir, path, allowed):
    assert live_probe.basedir_allows(basedir, path) is allowed


def test_plan_probe_plain():
    site = live_probe.plan_probe(None, PoolSpec('www'))
    assert site['host_dir'] == site['script_dir'] == '/run/phpops-opcache'
    assert re.match(r'^/run/phpops-opcache/phpops-probe-%d-[0-9a-f]{32}\.php$' % os.getpid(), site['script_filename'])
    assert live_probe.PROBE_NAME_RE.match(site['name'])
    assert site['host_path'] == site['script_filename'] and site['warnings'] == []
    assert live_probe.plan_probe(None, PoolSpec('www'))['name'] != site['name']


def test_plan_probe_chroot_strips_prefix():
    site = live_probe.plan_probe('/run/phpops-opcache', PoolSpec('jail', chroot='/srv/jail/', limit_extensions='.phtml'))
    assert site['host_dir'] == '/srv/jail/run/phpops-opcache'
    assert site['script_dir'] == '/run/phpops-opcache'
    assert site['script_filename'].startswith('/run/phpops-opcache/phpops-probe-') and site['script_filename'].endswith('.phtml')
    assert site['host_path'] == '/srv/jail' + site['script_filename']


def test_plan_probe_open_basedir_and_restrict_api():
    with pytest.raises(live_probe.LiveError) as info:
        live_probe.plan_probe('/run/phpops-opcache', PoolSpec('www'), open_basedir='/var/www/')
    assert 'open_basedir' in str(info.value) and '/var/www/:/run/phpops-opcache/' in str(info.value)
    site = live_probe.plan_probe('/run/phpops-opcache', PoolSpec('www'), open_basedir='/var/www/:/run/phpops-opcache/', restrict_api='/var/www/')
    assert len(site['warnings']) == 1 and 'opcache.restrict_api' in site['warnings'][0] and '/var/www/' in site['warnings'][0]
    assert live_probe.plan_probe('/var/www/tools', PoolSpec('www'), restrict_api='/var/www/')['warnings'] == []
    assert 'PrivateTmp' in live_probe.plan_probe('/tmp/x', PoolSpec('www'))['warnings'][0]
    with pytest.raises(live_probe.LiveError):
        live_probe.plan_probe('/', PoolSpec('www'))


def test_probe_source_reads_values_through_variables():
    source = live_probe.PROBE_SOURCE
    assert not re.search(r"ini_get\(\s*'opcache", source)
    assert 'get_cfg_var($name)' in source and "ini_get_all('zend opcache', true)" in source
    assert 'opcache_get_status($want)' in source and "function_exists('opcache_get_status')" in source


def test_probe_file_lifecycle(tmpdir):
    base = str(tmpdir.join('probe'))
    site = live_probe.plan_probe(base, PoolSpec('www'))
    live_probe.ensure_probe_dir(site['host_dir'])
    assert os.stat(base).st_mode & 0o777 == 0o711
    live_probe.write_probe(site, os.getegid())
    with open(site['host_path']) as handle:
        assert handle.read() == live_probe.PROBE_SOURCE
    expected = 0o640 if os.geteuid() == 0 else 0o644
    assert os.stat(site['host_path']).st_mode & 0o777 == expected
    with pytest.raises(OSError):
        live_probe.write_probe(site, None)            # O_EXCL: never reuse or follow an existing name
    live_probe.remove_probe(site)
    assert os.listdir(base) == []


def test_ensure_probe_dir_refuses_symlink(tmpdir):
    target = tmpdir.join('elsewhere')
    target.ensure(dir=True)
    link = tmpdir.join('probe')
    os.symlink(str(target), str(link))
    with pytest.raises(live_probe.LiveError, match='symlink'):
        live_probe.ensure_probe_dir(str(link))


def test_cleanup_leftovers(tmpdir):
    dead_pid = 4194303   # above the default pid_max: never alive
    names = {
        'dead': 'phpops-probe-%d-%s.php' % (dead_pid, 'a' * 32),
        'mine': 'phpops-probe-%d-%s.php' % (os.getpid(), 'b' * 32),
        'alive': 'phpops-probe-%d-%s.php' % (os.getppid(), 'c' * 32),
        'alive_old': 'phpops-probe-%d-%s.phtml' % (os.getppid(), 'd' * 32),
        'foreign': 'index.php',
        'similar': 'phpops-probe-1-xyz.php',
    }
    for name in names.values():
        tmpdir.join(name).write('x')
    old = time.time() - 2 * live_probe.LEFTOVER_MAX_AGE
    os.utime(str(tmpdir.join(names['alive_old'])), (old, old))
    removed = live_probe.cleanup_leftovers(str(tmpdir))
    assert sorted(removed) == sorted([names['dead'], names['mine'], names['alive_old']])
    assert sorted(os.listdir(str(tmpdir))) == sorted([names['alive'], names['foreign'], names['similar']])


# -- stale code ---------------------------------------------------------------------------------

def test_stale_scripts(tmpdir):
    fresh = tmpdir.join('fresh.php')
    changed = tmpdir.join('changed.php')
    frozen = tmpdir.join('frozen.php')
    for item in (fresh, changed, frozen):
        item.write('<?php')
    now = int(time.time())
    used = now + 10       # every file was written (ctime) before the scripts were last used
    os.utime(str(fresh), (1000, 1000))
    os.utime(str(changed), (2000, 2000))
    os.utime(str(frozen), (now, now))
    scripts = [
        [str(fresh), 1000, used, 3],            # validate on, same mtime: fresh
        [str(changed), 1000, used, 3],          # validate on, mtime moved: stale
        [str(frozen), None, now - 100, 1],      # validate off, modified after the cache start and after its last use: stale
        [str(tmpdir.join('gone.php')), None, 10, 1],
    ]
    result = live_stale.stale_scripts(scripts, cache_time=now - 1000, max_examples=2)
    assert result['count'] == 3 and result['inconclusive'] == 0
    assert [e['path'] for e in result['examples']] == [str(changed), str(frozen)]
    assert result['examples'][1]['certain'] is True        # changed after its last use too
    assert live_stale.stale_scripts([[str(frozen), 0, used, 1]], cache_time=now - 1000)['examples'][0]['certain'] is False
    assert live_stale.stale_scripts([[str(frozen), None, used, 1]], cache_time=now + 5)['count'] == 0


@pytest.mark.parametrize('mtime, ctime, timestamp, last_used, cache_time, verdict, certain', [
    (None, None, 1000, 1500, 900, 'stale', True),                 # removed
    (1000, 1000, 1000, 1500, 900, 'fresh', True),
    (2000, 2000, 1000, 1500, 900, 'stale', True),                 # plain write: new mtime
    (500, 2000, 1000, 1500, 900, 'stale', True),                  # rsync -a: older mtime, still not the recorded one
    (1000, 2000, 1000, 1500, 900, 'stale', False),                # same mtime, new content, written after the last use
    (1000, 1400, 1000, 1500, 900, 'fresh', True),                 # recorded timestamp, used after the change: recompiled
    # no recorded timestamp (validate_timestamps and file_update_protection off when compiled)
    (2000, 2000, None, 1500, 900, 'stale', True),                 # modified after the cache start and the last use
    (1200, 1200, 0, 1500, 900, 'stale', False),                   # modified after the cache start, used since: maybe recompiled
    (500, 2000, None, 1500, 900, 'stale', False),                 # rsync -a / tar / cp -p after the last use (issue 11)
    (500, 1200, None, 1500, 900, 'inconclusive', False),          # replaced after the cache start, used since: unknown
    (500, 800, None, 1500, 900, 'fresh', True),                   # unchanged since before the cache start
    (500, 800, None, 1500, None, 'inconclusive', False),
])
def test_judge_script(mtime, ctime, timestamp, last_used, cache_time, verdict, certain):
    assert live_stale.judge_script(mtime, ctime, timestamp, last_used, cache_time)[:2] == (verdict, certain)


def test_stale_scripts_chroot(tmpdir):
    inside = tmpdir.join('srv', 'app', 'x.php')
    inside.ensure()
    os.utime(str(inside), (5000, 5000))
    result = live_stale.stale_scripts([['/srv/app/x.php', 4000, 4000, 1]], 0, chroot=str(tmpdir))
    assert result['count'] == 1 and result['examples'][0]['path'] == '/srv/app/x.php'


def test_stale_file_cache(tmpdir):
    app = tmpdir.join('app')
    src_old = app.join('old.php')
    src_new = app.join('new.php')
    for item in (src_old, src_new):
        item.ensure()
    cache = tmpdir.join('fc')
    sysid = cache.join('0123456789abcdef0123456789abcdef')
    bin_old = sysid.join(str(src_old).lstrip('/') + '.bin')
    bin_new = sysid.join(str(src_new).lstrip('/') + '.bin')
    bin_old.ensure()
    bin_new.ensure()
    os.utime(str(src_old), (5000, 5000))
    os.utime(str(bin_old), (4000, 4000))
    os.utime(str(src_new), (5000, 5000))
    os.utime(str(bin_new), (6000, 6000))
    result = live_stale.stale_file_cache(str(cache), [str(app) + '/'])
    assert result['count'] == 1 and result['examples'][0]['path'] == str(src_old)
    assert live_stale.stale_file_cache(str(cache), [])['count'] == 0
    assert 'error' in live_stale.stale_file_cache(str(tmpdir.join('none')), [str(app)])


# -- status and report --------------------------------------------------------------------------

STATUS = {
    'opcache_enabled': True, 'cache_full': True, 'restart_pending': True, 'restart_in_progress': False,
    'memory_usage': {'used_memory': 10, 'free_memory': 5, 'wasted_memory': 3, 'current_wasted_percentage': 12.5},
    'interned_strings_usage': {'buffer_size': 8, 'used_memory': 1, 'free_memory': 7, 'number_of_strings': 2},
    'opcache_statistics': {'num_cached_scripts': 4, 'start_time': 100, 'last_restart_time': 0, 'manual_restarts': 0, 'hits': 9},
    'jit': {'enabled': False},
}


def test_status_summary():
    summary = live_probe.status_summary(STATUS)
    assert summary['statistics']['start_time'] == 100 and summary['statistics']['manual_restarts'] == 0
    assert summary['memory_usage']['current_wasted_percentage'] == 12.5
    assert summary['cache_full'] and summary['restart_pending'] and summary['jit'] == {'enabled': False}
    assert live_probe.status_summary(None) is None


def test_status_findings():
    findings = []
    result = LiveMaster(_master(7, '/etc/php-fpm.conf'))
    data = {'status': STATUS, 'configuration': {'directives': {'opcache.max_wasted_percentage': 0.05}}}
    live_view._status_findings(result, data, TABLE, findings, 'debian:/etc/php/8.2')  # pylint: disable=protected-access
    codes = sorted(f.code for f in findings)
    assert codes == ['LIVE_CACHE_FULL', 'LIVE_RESTART_PENDING', 'LIVE_WASTED_MEMORY']
    assert all(f.sapi == 'fpm' and f.installation == 'debian:/etc/php/8.2' for f in findings)


def test_live_report_under_root_prefix_is_skipped(tmpdir):
    result = live_view.live_report(HostFS(str(tmpdir)), None).as_dict()
    assert result['masters'] == [] and 'root=/' in result['skipped']


def test_live_report_not_running():
    report = report_with_fpm('debian:/etc/php/8.2', '/etc/php/8.2/fpm/php-fpm.conf', ['www'])
    result = live_view.live_report(HostFS('/'), report, masters=[]).as_dict()
    assert result['not_running'][0]['pools'] == ['www']
    assert 'php-fpm is not running' in result['not_running'][0]['error']
    assert [f['code'] for f in result['findings']] == ['LIVE_PROBE_FAILED']


# -- selection (the collection's one rule, php_discovery.version_matches) ----------------------

def _master(pid, config):
    return proc_masters.Master(pid, 1, 'php-fpm: master process (%s)' % config, config, None, False, None, 0, None, {})


def _two_installations():
    report = report_with_fpm('debian:/etc/php/8.2', '/etc/php/8.2/fpm/php-fpm.conf', ['www'], version='8.2.36')
    report.installations += report_with_fpm('debian:/etc/php/8.3', '/etc/php/8.3/fpm/php-fpm.conf', ['www'], version='8.3.1').installations
    return report


MASTERS = [_master(10, '/etc/php/8.2/fpm/php-fpm.conf'), _master(20, '/etc/php/8.3/fpm/php-fpm.conf'), _master(30, '/srv/other/php-fpm.conf')]


def test_select_by_version_prefix():
    report = _two_installations()
    assert [m.pid for m in proc_masters.select_masters(MASTERS, report, versions=['8.3'])] == [20]
    assert [m.pid for m in proc_masters.select_masters(MASTERS, report, versions=['8.2.36'])] == [10]
    assert [m.pid for m in proc_masters.select_masters(MASTERS, report, versions=['8'])] == [10, 20], 'a major version selects its minors'
    assert [m.pid for m in proc_masters.select_masters(MASTERS, report, versions=['8.2.3'])] == [], '8.2.3 is not 8.2.36'


def test_select_by_config_and_default_all():
    report = _two_installations()
    assert [m.pid for m in proc_masters.select_masters(MASTERS, report, fpm_confs=['/srv/other/php-fpm.conf'])] == [30]
    assert [m.pid for m in proc_masters.select_masters(MASTERS, report)] == [10, 20, 30]


def test_same_binary_masters():
    one = _master(1, '/a.conf')._replace(binary='/usr/sbin/php-fpm8.2')
    two = _master(2, '/b.conf')._replace(binary='/usr/sbin/php-fpm8.2')
    other = _master(3, '/c.conf')._replace(binary='/usr/sbin/php-fpm8.3')
    unknown = _master(4, '/d.conf')
    assert proc_masters.same_binary_masters(one, [one, two, other, unknown]) == [two]
    assert proc_masters.same_binary_masters(unknown, [one, unknown]) == []


# -- the read-only probe and the acting one ----------------------------------------------------

def test_the_live_view_probe_cannot_act_and_the_invalidation_probe_can():
    from ansible_collections.phpops.opcache.plugins.module_utils.live import hold

    for word in ('opcache_reset(', 'opcache_invalidate(', "$req['hold']"):
        assert word not in live_probe.PROBE_SOURCE
        assert word in hold.ACTION_PROBE_SOURCE
    status_part = live_probe.PROBE_SOURCE.index("if (!function_exists('opcache_get_status'))")
    assert hold.ACTION_PROBE_SOURCE.startswith(live_probe.PROBE_SOURCE[:status_part])
    assert hold.ACTION_PROBE_SOURCE.endswith(live_probe.PROBE_SOURCE[status_part:])


def test_diagnose_reads_the_running_default_of_a_drift():
    # opcache_diagnose words a drift item of the live view: the default the master runs stays "PHP's default"
    from ansible_collections.phpops.opcache.plugins.module_utils import diagnose
    assert diagnose._running('1', 'default') == "PHP's default '1' (no file set it when the master started)"
    assert diagnose._running(None) == "PHP's default (no file set it when the master started)"
    assert diagnose._running('0', 'ini') == "'0'"


def test_a_script_stale_in_memory_and_in_the_file_cache_is_one_example(tmp_path):
    app = tmp_path / 'app'
    app.mkdir()
    script = app / 'index.php'
    script.write_text('<?php echo 2;')
    now = time.time()
    os.utime(str(script), (now, now))
    cache = tmp_path / 'fc'
    entry = cache / 'sysid' / (str(script).lstrip('/') + '.bin')
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b'old bytecode')
    os.utime(str(entry), (now - 100, now - 100))
    result = LiveMaster(_master(7, '/etc/php-fpm.conf'))
    result.status = {'statistics': {'start_time': int(now - 200)}, 'file_cache': str(cache)}
    data = {'scripts': {'list': [[str(script), int(now - 100), int(now - 50), 3, 1024]], 'matched': 1}}
    findings = []
    live_view._stale(result, data, [str(app)], 10, findings, 'debian:/etc/php/8.2')
    stale = [f.as_dict() for f in findings if f.code == 'LIVE_STALE_SCRIPTS']
    assert len(stale) == 1
    assert stale[0]['evidence'] == [str(script)]
    assert '(e.g. %s) and the file cache holds stale entries' % script in stale[0]['message']
