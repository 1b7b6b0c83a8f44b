# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11): the live view against a REAL private php-fpm in the cases deploys create.

One master (``-c <dir>/php.ini`` with ``opcache.file_update_protection = 0``; no
``opcache.memory_consumption`` and no ``opcache.revalidate_freq`` in its files) with the pools:
``www`` (nothing set), ``ceobar`` (the issue's pool: ``php_admin_value[opcache.validate_timestamps]=0``
and ``php_value[opcache.revalidate_freq]=7``), ``flags`` (php_flag, php_admin_flag and a php_value
equal to the ini's value) and ``rt`` (an auto_prepend_file that calls ``ini_set``).
The private master runs in the foreground as a child of the test; the system's FPM is never touched.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import FastCGIClient, build_php_params
from ansible_collections.phpops.opcache.tests.oracle.live_env import live_of, live_scratch, private_master
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import write_file

POOLS = {
    'www': '',
    'ceobar': 'php_admin_value[opcache.validate_timestamps] = 0\nphp_value[opcache.revalidate_freq] = 7',
    'flags': 'php_flag[opcache.revalidate_path] = on\nphp_admin_flag[opcache.dups_fix] = yes\nphp_value[opcache.file_update_protection] = 0',
    'rt': 'php_admin_value[auto_prepend_file] = %(base)s/prepend.php',
}


@pytest.fixture(scope='module')
def env():
    with live_scratch('deploys') as (base, probe_dir, started):
        write_file(os.path.join(base, 'prepend.php'), "<?php ini_set('opcache.revalidate_freq', '9');\n")
        app = os.path.join(base, 'app')
        os.makedirs(app)
        fpm = private_master(base, 'fpm', [('opcache.file_update_protection', 0)],
                             [(name, extra % {'base': base}) for name, extra in POOLS.items()])
        started.append(fpm.start())
        yield {'base': base, 'app': app, 'fpm': fpm, 'probe_dir': probe_dir}


def _run(env, **options):
    report = live_of(env['fpm'], env['probe_dir'], **options)
    return report, report['masters'][0]


def _pools(master):
    return dict((p['name'], p) for p in master['pools'])


def _line_of(path, text):
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if line.strip() == text:
                return number
    raise AssertionError('%s not in %s' % (text, path))


def _get(env, pool, script):
    response = FastCGIClient(env['fpm'].listens[pool], read_timeout=5).request(build_php_params(script))
    return response.body.decode()


# -- 1. where a pool's value comes from --------------------------------------------------------

def test_every_origin_against_real_pools(env):
    dummy_report, master = _run(env)
    pools = _pools(master)
    assert all(p['ok'] for p in pools.values()), [p['error'] for p in pools.values()]
    conf = env['fpm'].conf

    def origin(pool, key):
        s = pools[pool]['settings'][key]
        return s['value'], s['origin'], s['file'], s['line']

    # the case: the 7 comes from ceobar's php_value, not from a default
    assert origin('ceobar', 'opcache.revalidate_freq') == ('7', 'php_value', conf, _line_of(conf, 'php_value[opcache.revalidate_freq] = 7'))
    assert origin('ceobar', 'opcache.validate_timestamps') == (
        '0', 'php_admin_value', conf, _line_of(conf, 'php_admin_value[opcache.validate_timestamps] = 0'))
    assert origin('www', 'opcache.revalidate_freq') == ('2', 'default', None, None)
    assert origin('www', 'opcache.file_update_protection') == ('0', 'ini', None, None)
    assert origin('flags', 'opcache.revalidate_path') == ('1', 'php_flag', conf, _line_of(conf, 'php_flag[opcache.revalidate_path] = on'))
    assert origin('flags', 'opcache.dups_fix') == ('1', 'php_admin_flag', conf, _line_of(conf, 'php_admin_flag[opcache.dups_fix] = yes'))
    # the pool line wins over the ini even with the same value
    assert origin('flags', 'opcache.file_update_protection') == (
        '0', 'php_value', conf, _line_of(conf, 'php_value[opcache.file_update_protection] = 0'))
    # ini_set() at run time (an auto_prepend_file): local differs from the master's value
    rt = pools['rt']['settings']['opcache.revalidate_freq']
    assert (rt['value'], rt['global_value'], rt['origin'], rt['file']) == ('9', '2', 'runtime', None)
    assert all(p['drift'] == [] for p in pools.values()), [p['drift'] for p in pools.values()]
    assert master['drift'] == []


# -- 2. drift shows the running value, defaults included ---------------------------------------

def test_drift_shows_the_running_default(env):
    ini = os.path.join(env['fpm'].scan_dir, '10-opcache.ini')
    with open(ini) as handle:
        original = handle.read()
    try:
        write_file(ini, original + 'opcache.memory_consumption = 96\n')
        report, master = _run(env)
    finally:
        write_file(ini, original)
    assert {'directive': 'opcache.memory_consumption', 'running': '128', 'disk': '96', 'running_origin': 'default', 'disk_origin': 'ini',
            'evidence': '%s:4' % ini} in master['drift']
    # the 128 is what really runs: the shared memory OPcache reports
    memory = master['status']['memory_usage']
    assert memory['used_memory'] + memory['free_memory'] + memory['wasted_memory'] == 128 * 1024 * 1024
    assert any(f['code'] == 'LIVE_DRIFT' and "'128'" in f['message'] for f in report['findings'])


# -- 3. stale code whatever the deploy does to modification times -------------------------------

STYLES = ('rsync', 'tar', 'cp_p', 'plain', 'same_mtime')


def _deploy(style, build, target, old_mtime):
    """Replace ``target`` with 'v2' the way a deploy does; the build's mtime is older than the cache."""
    name = os.path.basename(target)
    source = os.path.join(build, name)
    write_file(source, '<?php echo "v2";\n', mtime=old_mtime - 5000)
    if style == 'rsync':
        subprocess.run(['rsync', '-a', source, target], check=True)
    elif style == 'tar':
        archive = source + '.tar'
        subprocess.run(['tar', '-cf', archive, '-C', build, name], check=True)
        subprocess.run(['tar', '-xf', archive, '-C', os.path.dirname(target)], check=True)
    elif style == 'cp_p':
        subprocess.run(['cp', '-p', source, target], check=True)
    elif style == 'plain':
        write_file(target, '<?php echo "v2";\n')
    else:  # new content, the old file's very mtime (a reproducible build, SOURCE_DATE_EPOCH)
        write_file(target, '<?php echo "v2";\n', mtime=old_mtime)


def test_stale_whatever_the_deploy_does_to_mtimes(env):
    app = os.path.join(env['app'], 'stale')
    build = os.path.join(env['base'], 'build')
    old_mtime = int(time.time()) - 20000
    scripts = {}
    for pool in ('www', 'ceobar'):           # validate_timestamps on / off in the COMPILING pool
        for style in STYLES + ('untouched',):
            path = os.path.join(app, pool, style + '.php')
            write_file(path, '<?php echo "v1";\n', mtime=old_mtime)
            scripts[pool, style] = path
    time.sleep(1.1)
    for (pool, style), path in scripts.items():
        assert _get(env, pool, path) == 'v1'
    time.sleep(1.1)                          # the deploy comes a second after the last use
    for (pool, style), path in scripts.items():
        if style != 'untouched':
            _deploy(style, os.path.join(build, pool), path, old_mtime)
    report, master = _run(env, verify_paths=[app], max_examples=50)
    stale = master['stale_scripts']
    found = dict((e['path'], e) for e in stale['examples'])
    unsure = [e['path'] for e in stale['inconclusive_examples']]
    assert stale['checked'] == len(scripts)
    expected = set(path for (pool, style), path in scripts.items() if style != 'untouched')
    assert set(found) == expected, dict((k, v['reason']) for k, v in found.items())
    # compiled by www (validation on): OPcache recorded the mtime; by ceobar it recorded none
    assert found[scripts['www', 'rsync']]['cached_timestamp'] == old_mtime
    assert found[scripts['ceobar', 'rsync']]['cached_timestamp'] is None
    assert found[scripts['www', 'rsync']]['certain'] and not found[scripts['www', 'same_mtime']]['certain']
    # an untouched file that ceobar compiled after it was written: not "0 stale" but "not conclusive"
    assert unsure == [scripts['ceobar', 'untouched']] and stale['conclusive'] is False
    codes = [f['code'] for f in report['findings']]
    assert 'LIVE_STALE_SCRIPTS' in codes and 'LIVE_STALE_INCONCLUSIVE' in codes
    # and the pools really serve the old code: ceobar never looks, www does not see a same-mtime change
    for style in STYLES:
        assert _get(env, 'ceobar', scripts['ceobar', style]) == 'v1'
    time.sleep(2.1)                          # past www's revalidate_freq
    assert _get(env, 'www', scripts['www', 'same_mtime']) == 'v1'
    assert _get(env, 'www', scripts['www', 'rsync']) == 'v2'


# -- 6. releases: current -> releases/N ------------------------------------------------------------

def test_old_releases_held_in_the_cache(env):
    site = os.path.join(env['base'], 'site')
    for release in ('1', '2', '3'):
        for name in ('index.php', 'lib.php'):
            write_file(os.path.join(site, 'releases', release, name), '<?php echo "%s";\n' % release)
    os.symlink(os.path.join(site, 'releases', '3'), os.path.join(site, 'current'))
    for release in ('1', '2', '3'):        # each release served while it was current
        for name in ('index.php', 'lib.php'):
            assert _get(env, 'www', os.path.join(site, 'releases', release, name)) == release
    report, master = _run(env, verify_paths=[os.path.join(site, 'current')])
    view = master['releases'][0]
    assert (view['root'], view['current'], view['releases_dir']) == (os.path.join(site, 'current'), os.path.join(site, 'releases', '3'),
                                                                     os.path.join(site, 'releases'))
    assert [(r['name'], r['current'], r['scripts']) for r in view['releases']] == [('1', False, 2), ('2', False, 2), ('3', True, 2)]
    assert view['old_releases'] == ['1', '2'] and view['old_scripts'] == 4
    assert view['old_memory'] == sum(r['memory'] for r in view['releases'][:2]) > 0
    found = [f for f in report['findings'] if f['code'] == 'LIVE_OLD_RELEASES_CACHED']
    assert len(found) == 1 and 'max_wasted_percentage' in found[0]['message']
    # a few scripts are KiB, not "0.0 MB"
    assert '4 script(s), %.1f KiB, of release(s) 1, 2' % (view['old_memory'] / 1024.0) in found[0]['message']
    # the stale scan looks at what the root serves: the current release only
    assert master['stale_scripts']['checked'] == 2 and master['stale_scripts']['count'] == 0
