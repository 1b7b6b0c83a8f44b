# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cause analysis over real opcache_info reports (built by the engine from trees written under a
root) plus live-view master entries in the format fpm_live.live_report returns: each cause fires and
does not fire, ranking, evidence."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils import diagnose as dg
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.test_webserver import nginx_dump
from ansible_collections.phpops.opcache.plugins.module_utils.webserver import route_nginx
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import Link, build_tree

NOW = 1800000000.0
FPM = '/etc/php/8.2/fpm'
CONF_D = FPM + '/conf.d'
BASE = {
    '/etc/php/8.2/mods-available/opcache.ini': '; priority=10\nzend_extension=opcache.so\n',
    FPM + '/php.ini': '[PHP]\n',
    CONF_D + '/10-opcache.ini': Link('/etc/php/8.2/mods-available/opcache.ini'),
    FPM + '/php-fpm.conf': '[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n',
    FPM + '/pool.d/www.conf': '[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n',
    '/etc/php/8.2/cli/php.ini': '',
    '/etc/php/8.2/cli/conf.d/10-opcache.ini': Link('/etc/php/8.2/mods-available/opcache.ini'),
}
INCIDENT = dict(BASE, **{
    CONF_D + '/20-opcache_temp.ini': '; temporary fix attempt 1\nopcache.enable=0\n',
    CONF_D + '/99-disable-opcache-temp.ini': '; "fix" that loses\nopcache.enable=0\n',
    CONF_D + '/99-opcache-optimization.ini': '; aggressive production tuning\nopcache.enable=1\nopcache.validate_timestamps=0\nopcache.revalidate_freq=0\n',
    CONF_D + '/99-opcache.ini': 'opcache.enable=1\nopcache.memory_consumption=256\n',
})


def report_for(tmp_path, layout):
    return build_report(HostFS(build_tree(tmp_path, layout))).as_dict()


def master(pid, config=FPM + '/php-fpm.conf', installation='debian:/etc/php/8.2', pools=('www',), version='8.2.36', start=NOW - 3600,
           last_restart=0, **extra):
    """A live-view master entry as fpm_live.live_report returns it."""
    entry = {
        'pid': pid, 'config': config, 'binary': '/usr/sbin/php-fpm' + version[:3], 'binary_deleted': False, 'start_time': start,
        'config_loaded_time': start, 'installation': installation, 'version': version, 'php_ini_loaded_file': None,
        'php_ini_scanned_files': [], 'status_error': None, 'configuration': None, 'probe_pool': pools[0], 'drift': [],
        'fpm_files': [config], 'stale_scripts': None, 'worker_pools': list(pools), 'restart_pending_for': None, 'changed_after_start': [],
        'status': {'opcache_enabled': True, 'cache_full': False, 'restart_pending': False, 'file_cache': None, 'file_cache_only': False,
                   'statistics': {'start_time': int(start), 'last_restart_time': last_restart, 'manual_restarts': 0}, 'preload_statistics': None},
        'pools': [{'name': name, 'listen': None, 'ok': True, 'error': None, 'settings': {}, 'drift': []} for name in pools],
    }
    for key, value in extra.items():
        if key in entry['status']:
            entry['status'][key] = value
        else:
            entry[key] = value
    return entry


def with_live(report, *masters):
    report['live'] = {'masters': list(masters), 'not_running': [], 'skipped': None}
    return report


def run(report, **facts):
    facts.setdefault('now', NOW)
    return dg.diagnose(report, facts)


def codes(result):
    return [c['code'] for c in result['causes']]


def cause(result, code):
    found = [c for c in result['causes'] if c['code'] == code]
    assert found, (code, result['causes'], result['checked'])
    return found[0]


def outcome(result, check):
    return [c for c in result['checked'] if c['check'] == check][0]['outcome']


def changed(path, mtime):
    return {'path': path, 'exists': True, 'mtime': mtime, 'size': 1, 'realpath': path}


# --- the incident -------------------------------------------------------------------------------

def test_incident_top_cause_is_validation_off_at_its_file_and_line(tmp_path):
    result = run(with_live(report_for(tmp_path, INCIDENT), master(100)))
    top = result['causes'][0]
    assert top['code'] == 'VALIDATION_OFF' and top['rank'] == 1
    assert CONF_D + '/99-opcache-optimization.ini:3' in top['title']
    assert top['evidence'][0].startswith(CONF_D + '/99-opcache-optimization.ini:3: opcache.validate_timestamps=0')
    assert top['installation'] == 'debian:/etc/php/8.2' and top['pool'] == 'www' and top['pid'] == 100
    assert 'opcache_reset' in top['fix']
    assert result['explained'] and result['summary'].startswith('most likely: opcache.validate_timestamps is off')


def test_incident_names_the_fix_files_that_lost_the_load_order(tmp_path):
    result = run(report_for(tmp_path, INCIDENT))
    lost = [e for e in cause(result, 'VALIDATION_OFF')['evidence'] if e.startswith('fix that lost')]
    assert [e.split(' sets ')[0] for e in lost] == ['fix that lost: %s/99-disable-opcache-temp.ini:2' % CONF_D,
                                                    'fix that lost: %s/20-opcache_temp.ini:2' % CONF_D]
    assert all('%s/99-opcache.ini:1 loads later' % CONF_D in e for e in lost)
    overridden = [c for c in result['causes'] if c['code'] == 'SETTING_OVERRIDDEN']
    losers = [c['evidence'][0] for c in overridden]
    assert '%s/99-disable-opcache-temp.ini:2: opcache.enable=0 (loses)' % CONF_D in losers
    assert all(c['rank'] > 1 for c in overridden)


def test_incident_without_live_view_skips_the_running_checks(tmp_path):
    result = run(report_for(tmp_path, INCIDENT))
    assert outcome(result, 'live_view') == 'skipped'
    assert outcome(result, 'reload_needed') == 'skipped'
    assert outcome(result, 'stale_cached_copy') == 'skipped'
    assert codes(result)[0] == 'VALIDATION_OFF'


def test_clean_configuration_nothing_explains_it_and_says_what_was_checked(tmp_path):
    report = with_live(report_for(tmp_path, BASE), master(100, stale_scripts={'count': 0, 'examples': [], 'checked': 3}))
    result = run(report, changed_files=[changed('/srv/app/index.php', NOW - 600)], symlinks=[])
    assert result['causes'] == []
    assert not result['explained']
    assert result['summary'].startswith('nothing explains it')
    checks = [c['check'] for c in result['checked']]
    assert checks == ['live_view', 'web_server_route', 'opcache_enabled', 'validate_timestamps', 'revalidate_freq', 'file_update_protection',
                      'overrides', 'file_cache', 'reload_needed', 'restart_pending', 'symlink_release', 'cli_vs_fpm', 'preload', 'stale_cached_copy']
    assert all(c['outcome'] in ('ok', 'skipped') for c in result['checked'])
    for check in checks:
        assert check in result['summary']


# --- pool overrides -----------------------------------------------------------------------------

def test_pool_admin_value_turning_validation_off(tmp_path):
    layout = dict(BASE, **{FPM + '/pool.d/www.conf': '[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n'
                                                     'php_admin_value[opcache.validate_timestamps] = 0\n'})
    live = master(100)
    live['pools'][0]['settings'] = {'opcache.validate_timestamps': {'value': '0', 'origin': 'php_admin_value', 'access': 4}}
    result = run(with_live(report_for(tmp_path, layout), live))
    top = result['causes'][0]
    assert top['code'] == 'VALIDATION_OFF'
    assert top['title'].startswith('opcache.validate_timestamps is off (%s/pool.d/www.conf:4)' % FPM)
    assert 'confirmed by the running pool' in top['evidence'][0]
    override = cause(result, 'SETTING_OVERRIDDEN')
    assert override['pool'] == 'www' and override['rank'] == 2
    assert override['evidence'][0] == '%s/pool.d/www.conf:4: php_admin_value[opcache.validate_timestamps]=0 in pool www' % FPM
    assert 'the running pool (master 100) uses opcache.validate_timestamps=0 (origin php_admin_value)' in override['evidence']


def test_pool_startup_only_value_does_not_take_effect(tmp_path):
    layout = dict(BASE, **{FPM + '/pool.d/www.conf': '[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n'
                                                     'php_admin_value[opcache.file_cache] = /var/cache/x\n'})
    result = run(report_for(tmp_path, layout))
    override = cause(result, 'SETTING_OVERRIDDEN')
    assert 'startup-only opcache.file_cache' in override['title']
    assert 'FILE_CACHE' not in codes(result)


def test_later_file_overriding_revalidate_freq(tmp_path):
    layout = dict(BASE, **{CONF_D + '/20-dev.ini': 'opcache.revalidate_freq=0\n', CONF_D + '/90-prod.ini': 'opcache.revalidate_freq=60\n'})
    result = run(report_for(tmp_path, layout))
    override = cause(result, 'SETTING_OVERRIDDEN')
    assert override['title'] == ('opcache.revalidate_freq=0 set in %s/20-dev.ini:1 is overridden by opcache.revalidate_freq=60 in %s/90-prod.ini:1, '
                                 'which loads later' % (CONF_D, CONF_D))
    assert cause(result, 'REVALIDATE_WINDOW')['score'] == 35


# --- revalidate_freq and file_update_protection -------------------------------------------------

@pytest.mark.parametrize('freq, age, fires, score', [
    (60, 10, True, 90),     # changed 10 s ago, checked again only after 60 s
    (60, 100, False, None),  # the window is over
    (0, 1000, False, None),
    (2, 1, True, 90),
])
def test_revalidate_window(tmp_path, freq, age, fires, score):
    layout = dict(BASE, **{CONF_D + '/90-freq.ini': 'opcache.revalidate_freq=%d\n' % freq})
    result = run(report_for(tmp_path, layout), changed_files=[changed('/srv/app/a.php', NOW - age)])
    assert ('REVALIDATE_WINDOW' in codes(result)) is fires
    if fires:
        window = cause(result, 'REVALIDATE_WINDOW')
        assert window['score'] == score
        assert '%s/90-freq.ini:1: opcache.revalidate_freq=%d' % (CONF_D, freq) in window['evidence'][1]


def test_revalidate_window_does_not_apply_with_validation_off(tmp_path):
    layout = dict(INCIDENT, **{CONF_D + '/99-zz.ini': 'opcache.revalidate_freq=60\n'})
    result = run(report_for(tmp_path, layout), changed_files=[changed('/srv/app/a.php', NOW - 5)])
    assert 'REVALIDATE_WINDOW' not in codes(result)


@pytest.mark.parametrize('protection, age, score', [
    ('2', 0.5, 25),     # just written: not cached yet
    ('2', -30, 40),     # mtime in the future
    ('0', 300, 20),     # same-second rewrites are invisible
    ('2', 300, None),
])
def test_file_update_protection(tmp_path, protection, age, score):
    layout = dict(BASE, **{CONF_D + '/90-fup.ini': 'opcache.file_update_protection=%s\nopcache.revalidate_freq=0\n' % protection})
    result = run(report_for(tmp_path, layout), changed_files=[changed('/srv/app/a.php', NOW - age)])
    if score is None:
        assert 'FILE_UPDATE_PROTECTION' not in codes(result)
        assert outcome(result, 'file_update_protection') == 'ok'
    else:
        assert cause(result, 'FILE_UPDATE_PROTECTION')['score'] == score


# --- file cache -----------------------------------------------------------------------------------

FILE_CACHE_ON = dict(INCIDENT, **{CONF_D + '/99-zz-filecache.ini': 'opcache.file_cache=/var/cache/opcache\n'})


def test_file_cache_with_validation_off_ranks_right_after_validation(tmp_path):
    result = run(with_live(report_for(tmp_path, FILE_CACHE_ON), master(100, start=NOW - 3600)), changed_files=[changed('/srv/app/a.php', NOW - 60)])
    assert codes(result)[:2] == ['VALIDATION_OFF', 'FILE_CACHE']
    assert cause(result, 'FILE_CACHE')['score'] == 96


def test_file_cache_explains_old_code_after_a_restart(tmp_path):
    # the file changed, then the master restarted (memory cache emptied), and the old code still runs
    result = run(with_live(report_for(tmp_path, FILE_CACHE_ON), master(100, start=NOW - 30)), changed_files=[changed('/srv/app/a.php', NOW - 60)])
    assert codes(result)[0] == 'FILE_CACHE'
    assert cause(result, 'FILE_CACHE')['score'] == 100
    assert any(e.startswith('master 100 emptied its memory cache at') for e in cause(result, 'FILE_CACHE')['evidence'])
    validation = cause(result, 'VALIDATION_OFF')
    assert validation['score'] == 70 and 'validation alone does not explain old code now' in validation['evidence'][-1]


def test_file_cache_entry_older_than_the_change(tmp_path):
    result = run(report_for(tmp_path, FILE_CACHE_ON), changed_files=[changed('/srv/app/a.php', NOW - 60)],
                 file_cache_entries={'/srv/app/a.php': [{'path': '/var/cache/opcache/abc/srv/app/a.php.bin', 'mtime': NOW - 3600}]})
    assert codes(result)[0] == 'FILE_CACHE'
    file_cache = cause(result, 'FILE_CACHE')
    assert file_cache['score'] == 100
    assert file_cache['evidence'][0].startswith('%s/99-zz-filecache.ini:1: opcache.file_cache=/var/cache/opcache' % CONF_D)
    assert any('a.php.bin: compiled at' in e and 'BEFORE /srv/app/a.php' in e for e in file_cache['evidence'])
    assert '/var/cache/opcache' in file_cache['fix']


@pytest.mark.parametrize('bin_age, score', [(3600, 80), (10, 30)])
def test_file_cache_with_validation_on(tmp_path, bin_age, score):
    layout = dict(BASE, **{CONF_D + '/99-zz-filecache.ini': 'opcache.file_cache=/var/cache/opcache\n'})
    result = run(report_for(tmp_path, layout), changed_files=[changed('/srv/app/a.php', NOW - 60)],
                 file_cache_entries={'/srv/app/a.php': [{'path': '/var/cache/opcache/abc/srv/app/a.php.bin', 'mtime': NOW - bin_age}]})
    assert cause(result, 'FILE_CACHE')['score'] == score


# --- the running master ---------------------------------------------------------------------------

def test_reload_needed_when_the_master_runs_older_settings(tmp_path):
    live = master(100, drift=[{'directive': 'opcache.validate_timestamps', 'running': '0', 'disk': '1', 'evidence': CONF_D + '/90-fix.ini:1'}],
                  changed_after_start=[{'file': CONF_D + '/90-fix.ini', 'mtime': NOW - 60}])
    result = run(with_live(report_for(tmp_path, BASE), live))
    reload = cause(result, 'RELOAD_NEEDED')
    assert reload['score'] == 98 and reload['pid'] == 100
    assert reload['evidence'][0] == "%s/90-fix.ini:1: opcache.validate_timestamps='1' on disk, but master 100 runs '0'" % CONF_D
    assert 'after master 100 loaded its configuration' in reload['evidence'][1]
    assert 'reload' in reload['fix'] and 'php8.2-fpm' in reload['fix']


def test_validation_fixed_on_disk_but_not_reloaded_is_a_reload_not_validation_off(tmp_path):
    # the fix (90-fix.ini: validate_timestamps=1) is on disk; the master still runs the 0 it started with
    layout = dict(BASE, **{CONF_D + '/90-fix.ini': '; the fix\nopcache.validate_timestamps=1\n'})
    live = master(100, drift=[{'directive': 'opcache.validate_timestamps', 'running': '0', 'disk': '1', 'running_origin': 'ini',
                               'evidence': CONF_D + '/90-fix.ini:2'}])
    live['pools'][0]['settings'] = {'opcache.validate_timestamps': {'value': '0', 'origin': 'ini'}}
    result = run(with_live(report_for(tmp_path, layout), live), changed_files=[changed('/srv/app/a.php', NOW - 10)])
    assert codes(result)[0] == 'RELOAD_NEEDED' and 'VALIDATION_OFF' not in codes(result)
    assert result['causes'][0]['evidence'] == ["%s/90-fix.ini:2: opcache.validate_timestamps='1' on disk, but master 100 runs '0'" % CONF_D]
    assert (result['causes'][0]['rank'], result['causes'][0]['score'], result['causes'][0]['pid']) == (1, 98, 100)
    assert [c for c in result['checked'] if c['check'] == 'validate_timestamps'] == [
        {'check': 'validate_timestamps', 'outcome': 'cause',
         'detail': 'on in the files but off in the running debian:/etc/php/8.2 fpm pool www master 100: see RELOAD_NEEDED'}]


def test_reload_needed_for_a_file_added_after_the_start(tmp_path):
    live = master(100, drift=[{'directive': 'opcache.validate_timestamps', 'running': None, 'disk': '0',
                               'evidence': CONF_D + '/99-opcache-optimization.ini:3'}])
    reload = cause(run(with_live(report_for(tmp_path, BASE), live)), 'RELOAD_NEEDED')
    assert reload['evidence'][0] == ("%s/99-opcache-optimization.ini:3: opcache.validate_timestamps='0' on disk, but master 100 runs PHP's default "
                                     "(no file set it when the master started)" % CONF_D)


def test_reload_needed_for_a_changed_file_only(tmp_path):
    result = run(with_live(report_for(tmp_path, BASE), master(100, changed_after_start=[{'file': FPM + '/php.ini', 'mtime': NOW - 5}])))
    assert cause(result, 'RELOAD_NEEDED')['score'] == 60


def test_restart_pending(tmp_path):
    result = run(with_live(report_for(tmp_path, BASE), master(100, restart_pending=True, restart_pending_for=1.0)))
    pending = cause(result, 'RESTART_PENDING')
    assert 'still after 1.0 s' in pending['evidence'][0]
    assert outcome(result, 'reload_needed') == 'ok'


def test_stale_cached_copy_of_the_changed_file(tmp_path):
    stale = {'count': 1, 'checked': 4, 'examples': [{'path': '/srv/app/a.php', 'mtime': NOW - 30, 'cached_timestamp': None, 'last_used': NOW - 10,
                                                     'certain': True, 'reason': 'file modified at 1, after the cache was (re)started at 0'}]}
    result = run(with_live(report_for(tmp_path, INCIDENT), master(100, stale_scripts=stale)), changed_files=[changed('/srv/app/a.php', NOW - 30)])
    assert codes(result)[:2] == ['VALIDATION_OFF', 'STALE_CACHED_COPY']
    assert cause(result, 'STALE_CACHED_COPY')['evidence'][0].startswith('master 100: /srv/app/a.php')
    other = run(with_live(report_for(tmp_path / 'o', INCIDENT), master(100, stale_scripts=stale)), changed_files=[changed('/srv/app/b.php', NOW - 30)])
    assert 'STALE_CACHED_COPY' not in codes(other) and outcome(other, 'stale_cached_copy') == 'ok'


def test_preloaded_changed_file(tmp_path):
    layout = dict(BASE, **{CONF_D + '/90-preload.ini': 'opcache.preload=/srv/app/preload.php\n'})
    live = master(100, preload_statistics={'scripts': ['/srv/app/preload.php', '/srv/app/src/Kernel.php']})
    result = run(with_live(report_for(tmp_path, layout), live), changed_files=[changed('/srv/app/src/Kernel.php', NOW - 600)])
    preloaded = cause(result, 'PRELOADED')
    assert preloaded['rank'] == 1 and preloaded['score'] == 97
    assert preloaded['evidence'][0].startswith('%s/90-preload.ini:1: opcache.preload=/srv/app/preload.php' % CONF_D)
    not_preloaded = run(with_live(report_for(tmp_path / 'o', layout), live), changed_files=[changed('/srv/app/src/Other.php', NOW - 600)])
    assert 'PRELOADED' not in codes(not_preloaded)


def test_opcache_off_is_a_cause_and_silences_the_opcache_checks(tmp_path):
    layout = dict(INCIDENT, **{CONF_D + '/zz-off.ini': 'opcache.enable=0\n'})
    result = run(report_for(tmp_path, layout))
    assert codes(result)[0] == 'OPCACHE_OFF'
    assert 'VALIDATION_OFF' not in codes(result)
    assert cause(result, 'OPCACHE_OFF')['evidence'][0].startswith('%s/zz-off.ini:1: opcache.enable=' % CONF_D)


def test_cli_vs_fpm(tmp_path):
    assert cause(run(report_for(tmp_path, INCIDENT)), 'CLI_VS_FPM')['evidence'][0].startswith('opcache.validate_timestamps=1 for php -i (cli')
    assert 'CLI_VS_FPM' not in codes(run(report_for(tmp_path / 'clean', BASE)))


# --- symlinked releases -----------------------------------------------------------------------------

@pytest.mark.parametrize('switched_ago, last_restart_ago, ttl, fires', [
    (30, None, None, True),       # switched 30 s ago, default ttl 120, nothing invalidated since
    (30, 10, None, False),        # an OPcache reset after the switch clears the realpath caches
    (300, None, None, False),     # longer ago than realpath_cache_ttl
    (300, None, '3600', True),    # a long ttl
])
def test_symlinked_release(tmp_path, switched_ago, last_restart_ago, ttl, fires):
    link = {'path': '/srv/app/current', 'target': 'releases/7', 'resolved': '/srv/app/releases/7', 'mtime': NOW - switched_ago}
    live = master(100, last_restart=int(NOW - last_restart_ago) if last_restart_ago else 0)
    ttls = {'debian:/etc/php/8.2': {'value': ttl, 'file': CONF_D + '/90-rp.ini', 'line': 1}} if ttl else {}
    result = run(with_live(report_for(tmp_path, BASE), live), symlinks=[link], realpath_cache_ttl=ttls,
                 changed_files=[changed('/srv/app/current/a.php', NOW - switched_ago)])
    assert ('SYMLINK_REALPATH_CACHE' in codes(result)) is fires
    if fires:
        found = cause(result, 'SYMLINK_REALPATH_CACHE')
        assert found['score'] == 78
        assert found['evidence'][0].startswith('/srv/app/current -> releases/7 (resolves to /srv/app/releases/7)')
        assert ('realpath_cache_ttl=%s' % (ttl or 120)) in found['evidence'][1]


# --- the URL is served by another PHP-FPM ---------------------------------------------------------

SITE = r'''server {
    listen 8080;
    server_name shop.example;
    root /srv/shop/current/public;
    location / { try_files $uri /index.php?$query_string; }
    location ~ \.php$ {
        include snippets/fcgi.conf;
        fastcgi_pass unix:/run/php/php8.4-fpm.sock;
    }
}
'''


def two_versions(tmp_path):
    layout = dict(INCIDENT)
    layout.update({
        '/etc/php/8.4/mods-available/opcache.ini': 'zend_extension=opcache.so\n',
        '/etc/php/8.4/fpm/php.ini': '',
        '/etc/php/8.4/fpm/conf.d/10-opcache.ini': Link('/etc/php/8.4/mods-available/opcache.ini'),
        '/etc/php/8.4/fpm/conf.d/90-prod.ini': 'opcache.validate_timestamps=0\n',
        '/etc/php/8.4/fpm/php-fpm.conf': '[global]\ninclude=/etc/php/8.4/fpm/pool.d/*.conf\n',
        '/etc/php/8.4/fpm/pool.d/www.conf': '[www]\nuser = www-data\nlisten = /run/php/php8.4-fpm.sock\n',
    })
    return with_live(report_for(tmp_path / 'root', layout), master(100, start=NOW - 60),
                     master(200, config='/etc/php/8.4/fpm/php-fpm.conf', installation='debian:/etc/php/8.4', version='8.4.16', start=NOW - 86400))


def test_url_served_by_another_version_than_the_one_restarted(tmp_path):
    (tmp_path / 'nginx').mkdir()
    route = route_nginx(nginx_dump(tmp_path / 'nginx', {'shop.conf': SITE}), 'http://shop.example:8080/checkout')
    result = run(two_versions(tmp_path), route=route, restarted='php8.2-fpm')
    top = result['causes'][0]
    assert top['code'] == 'OTHER_FPM_SERVES_URL'
    assert top['title'] == ('http://shop.example:8080/checkout is served by debian:/etc/php/8.4 (PHP 8.4.16, php-fpm master 200 of '
                            '/etc/php/8.4/fpm/php-fpm.conf), not by the PHP-FPM you restarted (php8.2-fpm)')
    shop = str(tmp_path / 'nginx' / 'sites' / 'shop.conf')
    assert '%s:8: fastcgi_pass unix:/run/php/php8.4-fpm.sock' % shop in top['evidence']
    assert '/etc/php/8.4/fpm/pool.d/www.conf:1: pool www listens on /run/php/php8.4-fpm.sock' in top['evidence']
    assert any(e.startswith('the one you restarted (php8.2-fpm) is master 100') for e in top['evidence'])
    assert 'no running PHP-FPM master on this host matches' not in ' '.join(top['evidence'])
    assert top['pid'] == 200
    # the other checks look at what serves the URL: 8.4's validation off, not 8.2's file
    validation = cause(result, 'VALIDATION_OFF')
    assert validation['installation'] == 'debian:/etc/php/8.4'
    assert '/etc/php/8.4/fpm/conf.d/90-prod.ini:1' in validation['title']
    assert result['served_by'] == [{'installation': 'debian:/etc/php/8.4', 'sapi': 'fpm', 'pool': 'www', 'pid': 200, 'version': '8.4.16',
                                    'why': 'the URL is routed to unix:/run/php/php8.4-fpm.sock, where pool www listens '
                                           '(/etc/php/8.4/fpm/pool.d/www.conf:1)'}]


def test_url_served_by_the_restarted_version(tmp_path):
    (tmp_path / 'nginx').mkdir()
    route = route_nginx(nginx_dump(tmp_path / 'nginx', {'shop.conf': SITE}), 'http://shop.example:8080/checkout')
    result = run(two_versions(tmp_path), route=route, restarted='8.4')
    assert 'OTHER_FPM_SERVES_URL' not in codes(result)
    missing = run(two_versions(tmp_path / 'm'), route=route, restarted='php8.3-fpm')
    assert 'no running PHP-FPM master on this host matches php8.3-fpm' in cause(missing, 'OTHER_FPM_SERVES_URL')['evidence']
    assert outcome(result, 'web_server_route') == 'ok'


def test_url_passed_to_an_address_no_pool_listens_on(tmp_path):
    (tmp_path / 'nginx').mkdir()
    route = route_nginx(nginx_dump(tmp_path / 'nginx', {'shop.conf': SITE.replace('php8.4-fpm.sock', 'php7.4-fpm.sock')}),
                        'http://shop.example:8080/')
    result = run(two_versions(tmp_path), route=route, restarted='php8.2-fpm')
    found = cause(result, 'OTHER_FPM_SERVES_URL')
    assert found['score'] == 90 and 'unix:/run/php/php7.4-fpm.sock' in found['title']
    # without a route to a pool the restarted PHP-FPM is examined
    assert cause(result, 'VALIDATION_OFF')['installation'] == 'debian:/etc/php/8.2'


def test_route_error_is_reported_as_skipped(tmp_path):
    result = run(report_for(tmp_path, BASE), route_error='nginx -T failed (exit 1): bad')
    assert [c for c in result['checked'] if c['check'] == 'web_server_route'] == [
        {'check': 'web_server_route', 'outcome': 'skipped', 'detail': 'nginx -T failed (exit 1): bad'}]


@pytest.mark.parametrize('restarted, expected', [
    ('php8.2-fpm', True), ('8.2', True), ('/etc/php/8.2/fpm/php-fpm.conf', True), ('100', True),
    ('php8.4-fpm', False), ('8.4', False), ('200', False),
])
def test_restarted_matches(restarted, expected):
    inst = {'id': 'debian:/etc/php/8.2', 'version': '8.2.36', 'sapis': {'fpm': {'fpm_conf': '/etc/php/8.2/fpm/php-fpm.conf'}}}
    assert dg.restarted_matches(restarted, inst, {'pid': 100, 'config': '/etc/php/8.2/fpm/php-fpm.conf', 'version': '8.2.36'}) is expected


# --- ranking ----------------------------------------------------------------------------------------

def test_ranks_follow_scores_and_are_consecutive(tmp_path):
    layout = dict(INCIDENT, **{CONF_D + '/99-zz-filecache.ini': 'opcache.file_cache=/var/cache/opcache\n'})
    live = master(100, restart_pending=True, changed_after_start=[{'file': FPM + '/php.ini', 'mtime': NOW - 5}])
    result = run(with_live(report_for(tmp_path, layout), live))
    scores = [c['score'] for c in result['causes']]
    assert scores == sorted(scores, reverse=True)
    assert [c['rank'] for c in result['causes']] == list(range(1, len(scores) + 1))
    assert codes(result)[:2] == ['VALIDATION_OFF', 'FILE_CACHE']
    for item in result['causes']:
        assert item['evidence'] and item['fix'] and item['title']


# --- facts gathered on the host -----------------------------------------------------------------------

def test_gather_facts_finds_the_release_symlink_and_file_cache_entries(tmp_path):
    release = tmp_path / 'app' / 'releases' / '7'
    release.mkdir(parents=True)
    (release / 'a.php').write_text('<?php echo 7;\n')
    os.symlink('releases/7', str(tmp_path / 'app' / 'current'))
    cache = tmp_path / 'cache'
    entry = cache / 'sysid' / (str(release / 'a.php').lstrip('/') + '.bin')
    entry.parent.mkdir(parents=True)
    entry.write_text('bin')
    report = {'installations': [{'id': 'x', 'sapis': {'fpm': {'settings': {'opcache.file_cache': {'value': str(cache)}}}}}]}
    changed_file = str(tmp_path / 'app' / 'current' / 'a.php')
    facts = dg.gather_facts(report, [changed_file, str(tmp_path / 'missing.php')], str(tmp_path / 'app' / 'current'), {}, now=time.time())
    assert [l['path'] for l in facts['symlinks']] == [str(tmp_path / 'app' / 'current')]
    assert facts['symlinks'][0]['target'] == 'releases/7' and facts['symlinks'][0]['resolved'] == str(tmp_path / 'app' / 'releases' / '7')
    assert facts['changed_files'][0]['exists'] and facts['changed_files'][0]['realpath'] == str(release / 'a.php')
    assert facts['changed_files'][1] == {'path': str(tmp_path / 'missing.php'), 'exists': False, 'error': 'No such file or directory'}
    assert [e['path'] for e in facts['file_cache_entries'][changed_file]] == [str(entry)]


def test_realpath_ttl_from_the_ini_chain(tmp_path):
    layout = dict(BASE, **{CONF_D + '/90-rp.ini': 'realpath_cache_ttl = 600\n'})
    root = build_tree(tmp_path, layout)
    fs = HostFS(root)
    report = build_report(fs).as_dict()
    assert dg.realpath_ttls(fs, report) == {'debian:/etc/php/8.2': {'value': '600', 'file': CONF_D + '/90-rp.ini', 'line': 1}}
    clean = build_report(HostFS(build_tree(tmp_path / 'c', BASE))).as_dict()
    assert dg.realpath_ttls(HostFS(str(tmp_path / 'c')), clean)['debian:/etc/php/8.2']['value'] == '120'


# --- another master of the same PHP serves the URL --------------------------------------------------

SHOP_CONF = '/etc/php/8.2/shop/php-fpm.conf'


def other_master(tmp_path):
    """The restarted php8.2-fpm (Debian's php-fpm.conf, pid 100) and a second php-fpm8.2 master started
    with a configuration of its own (pid 300, pool shop on its own socket), which no layout names."""
    other = master(300, config=SHOP_CONF, installation=None, pools=('shop',), start=NOW - 86400)
    other['pools'][0]['listen'] = '/run/php/shop.sock'
    other['pools'][0]['settings'] = {'opcache.validate_timestamps': {'value': '0', 'origin': 'php_admin_value', 'file': SHOP_CONF, 'line': 14},
                                     'opcache.enable': {'value': '1', 'origin': 'ini'}}
    return with_live(report_for(tmp_path / 'root', BASE), master(100, start=NOW - 60), other)


def test_url_served_by_another_master_of_the_same_version(tmp_path):
    (tmp_path / 'nginx').mkdir()
    route = route_nginx(nginx_dump(tmp_path / 'nginx', {'shop.conf': SITE.replace('php8.4-fpm.sock', 'shop.sock')}),
                        'http://shop.example:8080/checkout')
    result = run(other_master(tmp_path), route=route, restarted='php8.2-fpm')
    top = result['causes'][0]
    shop = str(tmp_path / 'nginx' / 'sites' / 'shop.conf')
    assert dict(top, evidence=None) == {
        'code': 'OTHER_FPM_SERVES_URL', 'rank': 1, 'score': 100, 'evidence': None,
        'title': 'http://shop.example:8080/checkout is served by debian:/etc/php/8.2 (PHP 8.2.36, php-fpm master 300 of %s), not by the '
                 'PHP-FPM you restarted (php8.2-fpm)' % SHOP_CONF,
        'fix': 'restart or reset the PHP-FPM that serves the site (master of %s), e.g. phpops.opcache.opcache_reset with fpm_confs: [%s]; '
               'or change the web server to pass to the pool you manage' % (SHOP_CONF, SHOP_CONF),
        'installation': 'debian:/etc/php/8.2', 'pool': 'shop', 'pid': 300}
    assert top['evidence'][-3:] == [
        '%s: pool shop listens on /run/php/shop.sock' % SHOP_CONF,
        'master 300 (%s, PHP 8.2.36) started at %s serves it' % (SHOP_CONF, dg._stamp(NOW - 86400)),
        'the one you restarted (php8.2-fpm) is master 100 (/etc/php/8.2/fpm/php-fpm.conf), started at %s' % dg._stamp(NOW - 60)]
    assert '%s:8: fastcgi_pass unix:/run/php/shop.sock' % shop in top['evidence']
    assert result['served_by'] == [{'installation': 'debian:/etc/php/8.2', 'sapi': 'fpm', 'pool': 'shop', 'pid': 300, 'version': '8.2.36',
                                    'why': 'the URL is routed to unix:/run/php/shop.sock, where pool shop of php-fpm master 300 (%s) listens'
                                           % SHOP_CONF}]
    # the other checks look at that master: its pool's own line turns validation off
    validation = cause(result, 'VALIDATION_OFF')
    assert (validation['pid'], validation['pool'], validation['rank']) == (300, 'shop', 2)
    assert validation['title'] == 'opcache.validate_timestamps is off (%s:14): PHP never looks at changed files' % SHOP_CONF
    # restarting that master by its configuration (or pid) is what serves the URL: no cause
    for restarted in (SHOP_CONF, '300'):
        assert 'OTHER_FPM_SERVES_URL' not in codes(run(other_master(tmp_path / restarted.strip('/')), route=route, restarted=restarted))
    # Debian's php-fpm.conf names the restarted master, not the other one
    assert 'OTHER_FPM_SERVES_URL' in codes(run(other_master(tmp_path / 'c'), route=route, restarted='/etc/php/8.2/fpm/php-fpm.conf'))


# --- stale code that cannot be judged --------------------------------------------------------------------

def _unsure(path):
    return {'path': path, 'mtime': NOW - 7200, 'ctime': NOW - 30, 'cached_timestamp': None, 'last_used': NOW - 120, 'certain': False,
            'reason': 'file replaced at %d (ctime), after the cache was (re)started at %d, and the script was last used at %d: OPcache '
                      'recorded no timestamp, so whether it was compiled before or after the change is unknown' % (NOW - 30, NOW - 3600, NOW - 120)}


def test_changed_file_among_the_inconclusive_scripts(tmp_path):
    stale = {'count': 0, 'checked': 3, 'examples': [], 'inconclusive': 2,
             'inconclusive_examples': [_unsure('/srv/app/a.php'), _unsure('/srv/app/b.php')]}
    item = dict(changed('/srv/app/a.php', NOW - 7200))
    result = run(with_live(report_for(tmp_path, BASE), master(100, stale_scripts=stale)), changed_files=[item])
    assert result['causes'] == [{
        'code': 'STALE_COPY_INCONCLUSIVE', 'rank': 1, 'score': 65,
        'title': 'php-fpm master 100 may still run an old compiled copy of /srv/app/a.php: OPcache recorded no timestamp for it, so whether '
                 'it was compiled before the change cannot be told',
        'evidence': ['master 100: /srv/app/a.php (%s)' % _unsure('/srv/app/a.php')['reason'],
                     '/srv/app/a.php modified at %s (ctime %s); cached copy last used at %s' % (
                         dg._stamp(NOW - 7200), dg._stamp(NOW - 30), dg._stamp(NOW - 120))],
        'fix': dg.FIX_RESET + '; OPcache cannot tell without a timestamp, a verified reset can',
        'installation': 'debian:/etc/php/8.2', 'pool': 'www', 'pid': 100}]
    assert result['explained'] is True
    assert [c for c in result['checked'] if c['check'] == 'stale_cached_copy'] == [
        {'check': 'stale_cached_copy', 'outcome': 'cause',
         'detail': 'masters 100: whether the cached copies are old cannot be told (OPcache recorded no timestamp): not "0 stale"'}]


def test_only_inconclusive_evidence_is_a_weak_cause_not_zero_stale(tmp_path):
    stale = {'count': 0, 'checked': 3, 'examples': [], 'inconclusive': 1, 'inconclusive_examples': [_unsure('/srv/app/b.php')]}
    result = run(with_live(report_for(tmp_path, BASE), master(100, stale_scripts=stale)), changed_files=[changed('/srv/app/a.php', NOW - 7200)])
    assert result['causes'] == [{
        'code': 'STALE_COPY_INCONCLUSIVE', 'rank': 1, 'score': 35,
        'title': 'php-fpm master 100: 1 cached script(s) were replaced after its cache started and cannot be judged (no OPcache timestamp); '
                 'the changed files are not among the examples',
        'evidence': ['master 100: /srv/app/b.php (%s)' % _unsure('/srv/app/b.php')['reason']],
        'fix': dg.FIX_RESET + '; OPcache cannot tell without a timestamp, a verified reset can',
        'installation': 'debian:/etc/php/8.2', 'pool': 'www', 'pid': 100}]
    assert result['explained'] is False and outcome(result, 'stale_cached_copy') == 'cause'
    # the same master with every script judged: no cause, "ok"
    judged = dict(stale, inconclusive=0, inconclusive_examples=[])
    clean = run(with_live(report_for(tmp_path / 'c', BASE), master(100, stale_scripts=judged)), changed_files=[changed('/srv/app/a.php', NOW - 7200)])
    assert clean['causes'] == [] and outcome(clean, 'stale_cached_copy') == 'ok'
