# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The assembled report and its findings, on the seed incident's tree under a root prefix."""

from __future__ import annotations

import os
import subprocess
import sys

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import directives_for
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report, compact_facts
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import Link, build_tree

FPM = '/etc/php/8.2/fpm'
SEED = {
    '/etc/php/8.2/mods-available/opcache.ini': '; priority=10\nzend_extension=opcache.so\nopcache.jit=off\n',
    FPM + '/php.ini': '[opcache]\n;opcache.enable=1\n',
    FPM + '/conf.d/10-opcache.ini': Link('/etc/php/8.2/mods-available/opcache.ini'),
    FPM + '/conf.d/20-opcache_temp.ini': 'opcache.enable=0\n',
    FPM + '/conf.d/99-disable-opcache-temp.ini': 'opcache.enable=0\n',
    FPM + '/conf.d/99-opcache-optimization.ini': 'opcache.enable=1\nopcache.validate_timestamps=0\nopcache.revalidate_freq=0\n',
    FPM + '/conf.d/99-opcache.ini': 'opcache.memory_consumption=256\n',
    FPM + '/php-fpm.conf': '[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n',
    FPM + '/pool.d/www.conf': '[www]\nlisten = /run/php/php8.2-fpm.sock\nphp_admin_value[opcache.memory_consumption] = 512\n',
    FPM + '/pool.d/api.conf': '[api]\nlisten = 127.0.0.1:9001\nphp_admin_value[opcache.validate_timestamps] = 1\n',
    '/etc/php/8.2/cli/php.ini': '',
    '/etc/php/8.2/cli/conf.d/10-opcache.ini': Link('/etc/php/8.2/mods-available/opcache.ini'),
}


def records_for(tmp_path, layout=None, **kwargs):
    return build_report(HostFS(build_tree(tmp_path, layout or SEED)), **kwargs)


def report_for(tmp_path, layout=None, **kwargs):
    """The result opcache_info returns."""
    return records_for(tmp_path, layout, **kwargs).as_dict()


def codes(report, **where):
    return sorted(set(f['code'] for f in report['findings'] if all(f.get(k) == v for k, v in where.items())))


def test_seed_incident_names_the_winners(tmp_path):
    report = report_for(tmp_path)
    fpm = report['installations'][0]['sapis']['fpm']
    assert fpm['scanned_files'] == [FPM + '/conf.d/' + n for n in (
        '10-opcache.ini', '20-opcache_temp.ini', '99-disable-opcache-temp.ini', '99-opcache-optimization.ini', '99-opcache.ini')]
    vt = fpm['settings']['opcache.validate_timestamps']
    assert (vt['value'], vt['file'], vt['line']) == ('0', FPM + '/conf.d/99-opcache-optimization.ini', 2)
    enable = fpm['settings']['opcache.enable']
    assert (enable['value'], enable['file'], enable['line']) == ('1', FPM + '/conf.d/99-opcache-optimization.ini', 1)
    assert [o['file'].rsplit('/', 1)[1] for o in enable['overridden']] == ['99-disable-opcache-temp.ini', '20-opcache_temp.ini']
    assert fpm['settings']['opcache.jit']['value'] == ''
    assert fpm['settings']['opcache.revalidate_path'] == {'value': '0', 'file': None, 'line': None, 'overridden': []}


def test_seed_incident_findings(tmp_path):
    report = report_for(tmp_path)
    fpm_codes = codes(report, sapi='fpm')
    for expected in ('OPC_VALIDATE_TIMESTAMPS_OFF', 'OPC_DIRECTIVE_MULTIPLE_FILES',
                     'OPC_POOL_STARTUP_ONLY', 'OPC_POOL_VALIDATE_TIMESTAMPS_MIXED'):
        assert expected in fpm_codes
    assert 'OPC_JIT_WORD_REWRITTEN' not in fpm_codes, 'PHP 8.2 reads the unquoted opcache.jit=off ("") as "off": nothing to do'
    assert 'OPC_SAPI_MISMATCH' in codes(report)
    multiple = [f for f in report['findings'] if f['code'] == 'OPC_DIRECTIVE_MULTIPLE_FILES' and f['directive'] == 'opcache.enable']
    assert '99-opcache-optimization.ini:1 wins' in multiple[0]['message']


def test_pool_settings_say_what_takes_effect(tmp_path):
    pools = dict((p['name'], p) for p in report_for(tmp_path)['installations'][0]['sapis']['fpm']['pools'])
    memory = pools['www']['settings']['opcache.memory_consumption']
    assert (memory['value'], memory['takes_effect'], memory['file_chain_value']) == ('512', False, '256')
    vt = pools['api']['settings']['opcache.validate_timestamps']
    assert (vt['value'], vt['source'], vt['takes_effect']) == ('1', 'php_admin_value', True)
    assert pools['www']['settings']['opcache.validate_timestamps']['source'] == 'ini'


def test_filters(tmp_path):
    report = report_for(tmp_path, sapis=['fpm'], directives=['opcache.validate_*'])
    sapi = report['installations'][0]['sapis']
    assert list(sapi) == ['fpm']
    assert sorted(sapi['fpm']['settings']) == ['opcache.validate_permission', 'opcache.validate_root', 'opcache.validate_timestamps']


def test_file_cache_without_validation_is_critical(tmp_path):
    layout = {'/etc/php/8.2/fpm/conf.d/10-opcache.ini': 'zend_extension=opcache\nopcache.file_cache=/var/cache/op\nopcache.validate_timestamps=off\n'}
    report = report_for(tmp_path, layout)
    critical = [f for f in report['findings'] if f['severity'] == 'critical']
    assert [f['code'] for f in critical] == ['OPC_FILE_CACHE_NO_VALIDATION']
    assert report['findings'][0]['code'] == 'OPC_FILE_CACHE_NO_VALIDATION', 'most severe first'


def test_loaded_twice_not_loaded_and_builtin(tmp_path):
    layout = {
        '/etc/php/8.2/fpm/conf.d/10-opcache.ini': 'zend_extension=opcache.so\n',
        '/etc/php/8.2/fpm/conf.d/20-opcache.ini': 'zend_extension=opcache\n',
        '/etc/php/8.2/cli/conf.d/20-x.ini': 'opcache.enable=1\n',
        '/etc/php/8.5/fpm/conf.d/10-opcache.ini': 'zend_extension=opcache\n',
    }
    report = report_for(tmp_path, layout)
    assert 'OPC_EXTENSION_LOADED_TWICE' in codes(report, installation='debian:/etc/php/8.2', sapi='fpm')
    assert 'OPC_NOT_LOADED' in codes(report, installation='debian:/etc/php/8.2', sapi='cli')
    assert 'OPC_ZEND_EXTENSION_BUILTIN' in codes(report, installation='debian:/etc/php/8.5', sapi='fpm')


def test_unknown_hash_and_conditional(tmp_path):
    layout = {'/etc/php/8.2/fpm/conf.d/10-opcache.ini': 'zend_extension=opcache\nopcache.validate_timestamp=0\n#opcache.enable=0\n'
                                                        'opcache.consistency_checks=1\n[PATH=/srv/app]\nopcache.enable=0\n'}
    report = report_for(tmp_path, layout)
    found = codes(report, sapi='fpm')
    assert {'OPC_UNKNOWN_DIRECTIVE', 'OPC_HASH_COMMENT', 'OPC_CONDITIONAL_SECTION'} <= set(found)
    assert report['installations'][0]['sapis']['fpm']['settings']['opcache.enable']['value'] == '1', '[PATH=] is not the file chain'


def test_bad_input_is_reported_not_raised(tmp_path):
    layout = {
        '/etc/php/8.2/fpm/conf.d/10-opcache.ini': 'zend_extension=opcache\n',
        '/etc/php/8.2/fpm/conf.d/20-garbage.ini': '\x00\x01\x02 = = [[\n',
        '/etc/php/8.2/fpm/conf.d/30-dangling.ini': Link('/nowhere.ini'),
        '/etc/php/8.2/fpm/conf.d/40-loop.ini': Link('/etc/php/8.2/fpm/conf.d/40-loop.ini'),
        '/etc/php/8.2/fpm/conf.d/50-dir.ini': None,
    }
    report = report_for(tmp_path, layout)
    fpm = report['installations'][0]['sapis']['fpm']
    assert fpm['scanned_files'] == ['/etc/php/8.2/fpm/conf.d/10-opcache.ini']
    messages = ' '.join(f['message'] for f in report['findings'])
    assert 'symlink loop' in messages and 'dangling' in messages and 'not a regular file' in messages
    assert 'INI_SYNTAX_ERROR' in codes(report, sapi='fpm')


def test_compact_facts(tmp_path):
    facts = compact_facts(records_for(tmp_path))
    fpm = facts['installations'][0]['sapis']['fpm']
    assert fpm['settings']['opcache.validate_timestamps'] == '0'
    assert fpm['origins']['opcache.validate_timestamps'] == FPM + '/conf.d/99-opcache-optimization.ini:2'
    assert fpm['origins']['opcache.revalidate_path'] == 'default'
    assert fpm['pools']['api']['overrides'] == {'opcache.validate_timestamps': '1'}


def test_no_php_is_a_finding(tmp_path):
    report = build_report(HostFS(str(tmp_path))).as_dict()
    assert report['installations'] == []
    assert [f['code'] for f in report['findings']] == ['PHP_NOT_FOUND']


def test_the_chain_and_fpm_configuration_are_loaded_once_and_kept(tmp_path):
    report = records_for(tmp_path, sapis=['fpm'])
    inst, sapi = report.fpm_sapi_for(FPM + '/php-fpm.conf')
    assert inst is report.installations[0] and sapi is inst.sapis['fpm']
    assert sapi.chain.settings['opcache.validate_timestamps'].value == '0'
    assert [p.name for p in sapi.fpm.pools] == sorted(p['name'] for p in sapi.as_dict()['pools'])
    assert report.fpm_sapi_for('/elsewhere/php-fpm.conf') is None


def test_unknown_sapis_and_directives_are_warned_about_with_the_known_names(tmp_path):
    report = records_for(tmp_path, sapis=['bogus', 'fpm'], directives=['opcache.validate_timestamp', 'opcache.jit*'])
    assert report.warnings == [
        'sapis: no SAPI is called bogus; known SAPIs: apache2, cgi, cli, embed, fpm, litespeed, phpdbg',
        'directives: opcache.validate_timestamp matches no OPcache directive (did you mean opcache.validate_timestamps?); known directives: '
        + ', '.join(sorted(report.installations[0].sapis['fpm'].chain.settings.keys() | directives_for('8.2').keys())),
    ]
    assert list(report.installations[0].sapis) == ['fpm'], 'the known SAPI is still reported'
    fs = HostFS(str(tmp_path))
    assert build_report(fs, sapis=['fpm', 'cli'], directives=['opcache.jit*', 'opcache.enable']).warnings == []


def test_versions_select_installations_by_the_one_rule(tmp_path):
    fs = HostFS(build_tree(tmp_path, SEED))
    assert [i.id for i in build_report(fs, versions=['8']).installations] == ['debian:/etc/php/8.2']
    assert [i.id for i in build_report(fs, versions=['8.2']).installations] == ['debian:/etc/php/8.2']
    assert build_report(fs, versions=['8.3']).installations == []


def _modules_loaded_by(statement):
    code = 'import sys\n%s\nprint("\\n".join(sorted(m for m in sys.modules if "phpops.opcache" in m)))' % statement
    out = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE, check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return [m.rsplit('.', 1)[-1] for m in out.stdout.decode().split() if '.module_utils.' in m]


def test_a_disk_only_run_does_not_load_the_live_view():
    loaded = _modules_loaded_by('from ansible_collections.phpops.opcache.plugins.module_utils import info_module')
    assert 'info_module' in loaded and 'opcache_report' in loaded
    assert not set(loaded) & {'live', 'masters', 'probe', 'hold', 'report', 'records', 'fastcgi', 'fpm_service', 'drift', 'stale'}, loaded
    assert _modules_loaded_by('from ansible_collections.phpops.opcache.plugins.module_utils import module_support') == ['module_support']


def test_the_reporting_modules_default_probe_dir_is_the_probes():
    from ansible_collections.phpops.opcache.plugins.module_utils import info_module
    from ansible_collections.phpops.opcache.plugins.module_utils.live import probe

    assert info_module.target_argument_spec()['probe_dir']['default'] == probe.DEFAULT_PROBE_DIR
