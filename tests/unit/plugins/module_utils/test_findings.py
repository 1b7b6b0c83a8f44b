# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every finding code of findings.py, case by case: when it fires, when it must not, and the whole
finding (severity, message, evidence, installation, SAPI, pool, directive) it gives. Each test
compares the complete result list, never membership."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.findings import (
    CRITICAL,
    INFO,
    WARNING,
    cross_sapi_findings,
    effective_findings,
    evidence,
    jit_empty_means_disable,
    opcache_loaded,
    php_bool,
    sapi_findings,
)
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import directives_for
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import Link, build_tree

INST = 'debian:/etc/php/8.2'
CONF_D = '/etc/php/8.2/fpm/conf.d'
LOADER = 'zend_extension=opcache.so\n'


def finding(code, severity, message, ev, sapi='fpm', pool=None, directive=None, installation=INST):
    return {'code': code, 'severity': severity, 'message': message, 'evidence': ev, 'installation': installation,
            'sapi': sapi, 'pool': pool, 'directive': directive}


def as_dicts(found):
    return [f.as_dict() for f in found]


def chain(tmp_path, files, version='8.2', env=None):
    """The effective config of conf.d files (name -> text or Link) of an fpm SAPI."""
    layout = dict((CONF_D + '/' + name, text) for name, text in files.items())
    layout[CONF_D] = None
    root = build_tree(tmp_path, layout)
    return IniChain(HostFS(root), env=env or {}, version=version).load(None, [CONF_D])


def file_findings(tmp_path, files, version='8.2', sapi='fpm', env=None):
    config = chain(tmp_path, files, version, env)
    return as_dicts(sapi_findings(INST, version, sapi, config, directives_for(version)))


def at(name, line=None):
    return '%s/%s:%d' % (CONF_D, name, line) if line else '%s/%s' % (CONF_D, name)


# --- helpers ---------------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('1', True), ('On', True), ('yes', True), ('TRUE', True), ('2', True), ('-1', True), ('+3', True), (' 5', True), ('12abc', True),
    ('0', False), ('', False), ('off', False), ('no', False), ('false', False), (None, False), ('abc', False), ('0x1', False),
    ('00', False), ('-0', False),
])
def test_php_bool(value, expected):
    assert php_bool(value) is expected


@pytest.mark.parametrize('path, line, expected', [
    (None, 3, 'default'), (None, None, 'default'), ('/a.ini', 3, '/a.ini:3'), ('/a.ini', None, '/a.ini'), ('/a.ini', 0, '/a.ini'),
])
def test_evidence(path, line, expected):
    assert evidence(path, line) == expected


@pytest.mark.parametrize('files, version, expected', [
    ({'10-opcache.ini': LOADER}, '8.2', True),
    ({'10-opcache.ini': 'zend_extension=/usr/lib/php/20220829/opcache.so\n'}, '8.2.36', True),
    ({'10-opcache.ini': 'zend_extension=opcache\n'}, '8.2', True),
    ({'10-opcache.ini': 'zend_extension=php_opcache.dll\n'}, '8.2', True),
    ({'10-opcache.ini': 'extension=opcache.so\n'}, '8.2', False),
    ({'10-opcache.ini': 'zend_extension=xdebug.so\n'}, '8.2', False),
    ({'10-opcache.ini': 'zend_extension=myopcache.so\n'}, '8.2', False),
    ({'10-opcache.ini': 'opcache.enable=1\n'}, '8.2', False),
    ({'10-opcache.ini': 'opcache.enable=1\n'}, '8.5', True),
    ({'10-opcache.ini': 'opcache.enable=1\n'}, None, False),
])
def test_opcache_loaded(tmp_path, files, version, expected):
    assert opcache_loaded(chain(tmp_path, files, version or '8.2'), version) is expected


# --- sapi_findings: the file chain -----------------------------------------------------------

def test_clean_chain_has_no_finding(tmp_path):
    assert file_findings(tmp_path, {'10-opcache.ini': LOADER + 'opcache.enable=1\nopcache.memory_consumption=256\n',
                                    '20-other.ini': 'memory_limit=1G\nopcache_like=1\n'}) == []


def test_multiple_files_names_the_winner_and_every_loser(tmp_path):
    files = {'10-opcache.ini': LOADER + 'opcache.validate_timestamps=1\n',
             '50-mid.ini': 'opcache.validate_timestamps=on\n',
             '99-late.ini': '; tuned\nopcache.validate_timestamps=0\n'}
    assert file_findings(tmp_path, files) == [finding(
        'OPC_DIRECTIVE_MULTIPLE_FILES', WARNING,
        "opcache.validate_timestamps is set in 3 files; %s wins with '0' because it loads last (overrides %s='1' at %s, %s='1' at %s)"
        % (at('99-late.ini', 2), at('50-mid.ini'), at('50-mid.ini', 1), at('10-opcache.ini'), at('10-opcache.ini', 2)),
        [at('99-late.ini', 2), at('50-mid.ini', 1), at('10-opcache.ini', 2)], directive='opcache.validate_timestamps')]


@pytest.mark.parametrize('files', [
    {'10-opcache.ini': LOADER + 'opcache.enable=0\nopcache.enable=1\n'},               # twice in one file: one owner
    {'10-opcache.ini': LOADER, '20-x.ini': 'memory_limit=1\n', '30-x.ini': 'memory_limit=2\n'},   # not an opcache.* key
])
def test_multiple_files_must_not_fire(tmp_path, files):
    assert file_findings(tmp_path, files) == []


@pytest.mark.parametrize('line, version, expected_message', [
    ('opcache.validate_timestamp=0', '8.2', 'opcache.validate_timestamp is not an OPcache directive (typo?); PHP ignores it'),
    ('opcache.consistency_checks=1', '8.3', 'opcache.consistency_checks does not exist in PHP 8.3; PHP ignores it'),
    ('opcache.file_cache_read_only=1', '8.2', 'opcache.file_cache_read_only does not exist in PHP 8.2; PHP ignores it'),
    ('opcache.jit=tracing', '7.4', 'opcache.jit does not exist in PHP 7.4; PHP ignores it'),
])
def test_unknown_directive(tmp_path, line, version, expected_message):
    assert file_findings(tmp_path, {'10-opcache.ini': LOADER + line + '\n'}, version) == [
        finding('OPC_UNKNOWN_DIRECTIVE', WARNING, expected_message, [at('10-opcache.ini', 2)], directive=line.split('=')[0])]


@pytest.mark.parametrize('line, version', [
    ('opcache.consistency_checks=1', '8.2'), ('opcache.file_cache_read_only=1', '8.5'), ('opcache.jit_max_trace_length=10', '8.3'),
    ('opcachex.enable=1', '8.2'),
])
def test_unknown_directive_must_not_fire(tmp_path, line, version):
    loader = '' if version == '8.5' else LOADER
    assert file_findings(tmp_path, {'10-opcache.ini': loader + line + '\n'}, version) == []


def test_hash_comment(tmp_path):
    assert file_findings(tmp_path, {'10-opcache.ini': LOADER + '#opcache.enable=0\n# a real comment\n#memory_limit=1\n'}) == [
        finding('OPC_HASH_COMMENT', WARNING,
                "%s: a line starting with '#' is not a comment since PHP 7.0; it sets a directive named '#opcache.enable'" % at('10-opcache.ini', 2),
                [at('10-opcache.ini', 2)], directive='#opcache.enable')]


def test_hash_comment_in_a_conditional_section(tmp_path):
    found = file_findings(tmp_path, {'10-opcache.ini': LOADER + '[PATH=/srv/app]\n#opcache.enable=0\n'})
    assert found == [finding('OPC_HASH_COMMENT', WARNING,
                             "conditional section: a line starting with '#' is not a comment since PHP 7.0; it sets a directive named '#opcache.enable'",
                             ['conditional section'], directive='#opcache.enable')]


def test_conditional_section(tmp_path):
    files = {'10-opcache.ini': LOADER + '[HOST=example.org]\nopcache.enable=0\nmemory_limit=1G\n'}
    assert file_findings(tmp_path, files) == [finding(
        'OPC_CONDITIONAL_SECTION', INFO,
        'opcache.enable in [HOST=example.org] at %s applies only to FPM/CGI requests that match it, never to the CLI' % at('10-opcache.ini', 3),
        [at('10-opcache.ini', 3)], directive='opcache.enable')]


@pytest.mark.parametrize('files, version, sapi, expected', [
    ({'10-opcache.ini': LOADER, '20-again.ini': 'zend_extension=opcache\n'}, '8.2', 'fpm',
     [('OPC_EXTENSION_LOADED_TWICE', WARNING, 'OPcache is loaded by 2 lines (%s, %s); PHP warns that it is already loaded'
       % (at('10-opcache.ini', 1), at('20-again.ini', 1)), [at('10-opcache.ini', 1), at('20-again.ini', 1)])]),
    ({'10-other.ini': 'opcache.enable=1\n'}, '8.2', 'fpm',
     [('OPC_NOT_LOADED', WARNING, 'no zend_extension=opcache line in the fpm chain: OPcache is not loaded, its settings have no effect', [])]),
    ({'10-other.ini': 'opcache.enable=1\n'}, '8.2', 'cli',
     [('OPC_NOT_LOADED', INFO, 'no zend_extension=opcache line in the cli chain: OPcache is not loaded, its settings have no effect', [])]),
    ({'10-opcache.ini': LOADER}, '8.5', 'fpm',
     [('OPC_ZEND_EXTENSION_BUILTIN', WARNING, 'OPcache is built into PHP 8.5; %s loads it again and PHP warns "Module Zend OPcache is already loaded"'
       % at('10-opcache.ini', 1), [at('10-opcache.ini', 1)])]),
    ({'10-opcache.ini': LOADER, '20-again.ini': LOADER}, '8.5', 'fpm',
     [('OPC_ZEND_EXTENSION_BUILTIN', WARNING, 'OPcache is built into PHP 8.5; %s loads it again and PHP warns "Module Zend OPcache is already loaded"'
       % at(name, 1), [at(name, 1)]) for name in ('10-opcache.ini', '20-again.ini')]),
    ({'10-other.ini': 'opcache.enable=1\n'}, '8.5', 'fpm', []),
    ({'10-opcache.ini': LOADER}, '8.2', 'fpm', []),
])
def test_loader_lines(tmp_path, files, version, sapi, expected):
    assert file_findings(tmp_path, files, version, sapi) == [finding(c, s, m, e, sapi=sapi) for c, s, m, e in expected]


def test_file_problems_keep_their_code_with_a_severity(tmp_path):
    files = {
        '10-opcache.ini': LOADER,
        '20-syntax.ini': 'memory_limit=1\nbad = "unterminated\n',
        '40-const.ini': 'error_reporting = E_NOT_A_CONSTANT\n',
        '50-dangling.ini': Link('/nowhere.ini'),
    }
    found = file_findings(tmp_path, files)
    assert [(f['code'], f['severity'], f['evidence']) for f in found] == [
        ('SCAN_FILE_SKIPPED', INFO, [at('50-dangling.ini')]),
        ('INI_SYNTAX_ERROR', WARNING, [at('20-syntax.ini', 3)]),    # an unterminated string ends at the end of the file
        ('INI_UNRESOLVED_CONSTANT', INFO, [at('40-const.ini', 1)]),
    ]
    assert all(f['sapi'] == 'fpm' and f['installation'] == INST and f['directive'] is None for f in found)


def test_unreadable_and_too_large_files_are_warnings(tmp_path):
    config = chain(tmp_path, {'10-opcache.ini': LOADER, '20-big.ini': 'a=1\n' * 10})
    config.problems = []
    for code in ('INI_FILE_UNREADABLE', 'INI_FILE_TOO_LARGE', 'INI_BINARY_CONTENT', 'SCAN_DIR_UNREADABLE'):
        config.problems.append(type('P', (), {'code': code, 'file': '/x.ini', 'line': None, 'message': code + ' text'})())
    found = as_dicts(sapi_findings(INST, '8.2', 'fpm', config, directives_for('8.2')))
    assert [(f['code'], f['severity'], f['message'], f['evidence']) for f in found] == [
        ('INI_FILE_UNREADABLE', WARNING, 'INI_FILE_UNREADABLE text', ['/x.ini']),
        ('INI_FILE_TOO_LARGE', WARNING, 'INI_FILE_TOO_LARGE text', ['/x.ini']),
        ('INI_BINARY_CONTENT', WARNING, 'INI_BINARY_CONTENT text', ['/x.ini']),
        ('SCAN_DIR_UNREADABLE', INFO, 'SCAN_DIR_UNREADABLE text', ['/x.ini']),
    ]


@pytest.mark.parametrize('env, shown', [({}, 'unset, so empty'), ({'CACHE_DIR': '/var/cache/op'}, "'/var/cache/op'")])
def test_env_reference(tmp_path, env, shown):
    files = {'10-opcache.ini': LOADER + 'opcache.file_cache=${CACHE_DIR}\n'}
    assert file_findings(tmp_path, files, env=env) == [finding(
        'INI_ENV_REFERENCE', INFO,
        '${CACHE_DIR} in %s comes from the environment (%s here); the PHP service may run with another environment' % (at('10-opcache.ini'), shown),
        [at('10-opcache.ini')])]


def test_env_reference_to_a_directive_is_no_finding(tmp_path):
    files = {'05-base.ini': 'app_base=/srv\n', '10-opcache.ini': LOADER + 'opcache.preload=${app_base}/preload.php\n'}
    config = chain(tmp_path, files)
    assert [(r['name'], r['source'], r['value']) for r in config.env_references] == [('app_base', 'directive', '/srv')]
    assert config.settings['opcache.preload'].value == '/srv/preload.php'
    assert as_dicts(sapi_findings(INST, '8.2', 'fpm', config, directives_for('8.2'))) == []


# --- effective_findings: values after the chain (and FPM pools) ---------------------------------

def effective(version='8.2', sapi='fpm', pools=(), **changed):
    """Defaults of ``version`` with ``changed`` (name with '_' for '.', value or (value, origin))."""
    values = dict((name, d.default) for name, d in directives_for(version).items())
    origins = dict((name, 'default') for name in values)
    for key, spec in changed.items():
        name = 'opcache.' + key
        value, origin = spec if isinstance(spec, tuple) else (spec, '/etc/php/f.ini:%d' % (len(name) % 7 + 1))
        values[name] = value
        origins[name] = origin
    return as_dicts(effective_findings(INST, version, sapi, values, origins, list(pools)))


def pool(name, overrides=None, settings=None):
    return {'name': name,
            'overrides': dict((k, {'value': v, 'kind': kind, 'file': '/etc/php/8.2/fpm/pool.d/%s.conf' % name, 'line': line, 'overridden': []})
                              for k, (v, kind, line) in (overrides or {}).items()),
            'settings': dict((k, {'value': v}) for k, v in (settings or {}).items())}


def test_defaults_give_no_effective_finding():
    assert effective(sapi='fpm') == []
    assert effective(sapi='cli') == []


@pytest.mark.parametrize('sapi, changed, expected', [
    ('fpm', {'enable': ('0', '/e.ini:1')}, [('OPC_DISABLED', WARNING, "OPcache is disabled for fpm: opcache.enable='0' (/e.ini:1)", ['/e.ini:1'],
                                             'opcache.enable')]),
    ('fpm', {'enable': ('', '/e.ini:4')}, [('OPC_DISABLED', WARNING, "OPcache is disabled for fpm: opcache.enable='' (/e.ini:4)", ['/e.ini:4'],
                                            'opcache.enable')]),
    ('fpm', {'enable_cli': ('0', '/e.ini:1')}, []),                          # the CLI switch does not concern FPM
    ('cgi', {'enable': ('0', '/e.ini:1')}, [('OPC_DISABLED', WARNING, "OPcache is disabled for cgi: opcache.enable='0' (/e.ini:1)", ['/e.ini:1'],
                                             'opcache.enable')]),
    ('cli', {'enable_cli': ('0', '/e.ini:2')}, [('OPC_DISABLED', INFO, "OPcache is disabled for cli: opcache.enable_cli='0' (/e.ini:2)", ['/e.ini:2'],
                                                 'opcache.enable_cli')]),
    ('cli', {'enable_cli': ('1', '/e.ini:2'), 'enable': ('0', '/e.ini:3')},
     [('OPC_DISABLED', INFO, "OPcache is disabled for cli: opcache.enable='0' (/e.ini:3)", ['/e.ini:3'], 'opcache.enable')]),
    ('cli', {'enable': ('0', '/e.ini:3')},                                   # enable_cli stays PHP's default 0: the file's line is named
     [('OPC_DISABLED', INFO, "OPcache is disabled for cli: opcache.enable='0' (/e.ini:3)", ['/e.ini:3'], 'opcache.enable')]),
    ('cli', {'enable_cli': ('1', '/e.ini:2')}, []),
    ('cli', {}, []),                                                         # PHP's default: every CLI starts so
])
def test_disabled(sapi, changed, expected):
    assert effective(sapi=sapi, **changed) == [finding(c, s, m, e, sapi=sapi, directive=d) for c, s, m, e, d in expected]


VT_OFF_MESSAGE = ('opcache.validate_timestamps is off (/v.ini:3): changed PHP files are never picked up until the cache is reset or the '
                  'service reloaded')


@pytest.mark.parametrize('changed, expected', [
    ({'validate_timestamps': ('0', '/v.ini:3')}, [('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING, VT_OFF_MESSAGE, ['/v.ini:3'], 'opcache.validate_timestamps')]),
    ({'validate_timestamps': ('', '/v.ini:3')}, [('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING, VT_OFF_MESSAGE, ['/v.ini:3'], 'opcache.validate_timestamps')]),
    ({'validate_timestamps': ('0', '/v.ini:3'), 'file_cache': ('/var/cache/op', '/c.ini:7')}, [
        ('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING, VT_OFF_MESSAGE, ['/v.ini:3'], 'opcache.validate_timestamps'),
        ('OPC_FILE_CACHE_NO_VALIDATION', CRITICAL,
         'opcache.file_cache=/var/cache/op (/c.ini:7) with validate_timestamps off: stale bytecode survives opcache_reset(), reload and restart; '
         'purge the file cache on deploy', ['/c.ini:7', '/v.ini:3'], 'opcache.file_cache')]),
    ({'validate_timestamps': ('0', '/v.ini:3'), 'file_cache': ('', '/c.ini:7')},
     [('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING, VT_OFF_MESSAGE, ['/v.ini:3'], 'opcache.validate_timestamps')]),
    ({'validate_timestamps': ('1', '/v.ini:3'), 'file_cache': ('/var/cache/op', '/c.ini:7')}, []),
    ({'validate_timestamps': ('On', '/v.ini:3')}, []),
    ({'revalidate_freq': ('0', '/v.ini:3')}, []),
])
def test_validate_timestamps_and_file_cache(changed, expected):
    assert effective(**changed) == [finding(c, s, m, e, directive=d) for c, s, m, e, d in expected]


JIT_OFF = ('', '/etc/php/8.3/fpm/conf.d/10-opcache.ini:4')
TRACING_POOL = pool('www', {'opcache.jit': ('tracing', 'php_value', 12)})


def jit_rewritten(version, pool_name='www', value='tracing', line=12):
    where = '/etc/php/8.2/fpm/pool.d/%s.conf:%d' % (pool_name, line)
    return finding('OPC_JIT_WORD_REWRITTEN', WARNING,
                   'opcache.jit at %s reaches PHP %s as "" (the ini scanner rewrites an unquoted off/no/false/none/null), which PHP reads as '
                   '"disable", not "off": pool %s sets opcache.jit=%r (%s) but PHP refuses it and the JIT stays off there; '
                   'write opcache.jit="off" (quoted) to let pools switch it on' % (JIT_OFF[1], version, pool_name, value, where),
                   [JIT_OFF[1], where], pool=pool_name, directive='opcache.jit')


@pytest.mark.parametrize('version, jit, pools, expected', [
    # PHP 8.2 reads "" as "off": a pool may switch the JIT on (tests/oracle/test_findings_real_php.py checks it with real PHP)
    ('8.2', JIT_OFF, [TRACING_POOL], []),
    ('8.2.36', JIT_OFF, [], []),
    ('8.3', JIT_OFF, [TRACING_POOL], [jit_rewritten('8.3')]),
    ('8.4.1', JIT_OFF, [TRACING_POOL, pool('api'), pool('jit', {'opcache.jit': ('1255', 'php_admin_value', 3)})],
     [jit_rewritten('8.4.1'), jit_rewritten('8.4.1', 'jit', '1255', 3)]),
    ('8.3', JIT_OFF, [], []),                                                   # no pool wants the JIT: off is off
    ('8.3', JIT_OFF, [pool('www', {'opcache.jit': ('off', 'php_value', 2)}), pool('api', {'opcache.jit': ('', 'php_value', 2)}),
                      pool('x', {'opcache.jit': ('Disable', 'php_value', 2)}), pool('y', {'opcache.jit': ('0', 'php_value', 2)})], []),
    ('8.3', ('tracing', '/t.ini:1'), [TRACING_POOL], []),
    ('8.3', ('disable', '/t.ini:1'), [TRACING_POOL], []),
    ('8.3', ('1', '/t.ini:1'), [TRACING_POOL], []),                             # on/yes/true -> "1" is "tracing" since PHP 8.0
    ('8.3', ('', 'default'), [TRACING_POOL], []),
])
def test_jit_word_rewritten(version, jit, pools, expected):
    assert effective(version=version, jit=jit, pools=pools) == expected


@pytest.mark.parametrize('version, expected', [('8.0', False), ('8.2', False), ('8.2.36', False), ('8.3', True), ('8.5.0', True), (None, True),
                                               ('garbage', True)])
def test_jit_empty_means_disable(version, expected):
    assert jit_empty_means_disable(version) is expected


def test_pool_startup_only():
    pools = [pool('www', {'opcache.memory_consumption': ('512', 'php_admin_value', 5), 'opcache.revalidate_freq': ('0', 'php_value', 6),
                          'opcache.jit_buffer_size': ('64M', 'php_value', 7)})]
    assert effective(pools=pools) == [finding(
        'OPC_POOL_STARTUP_ONLY', WARNING,
        "pool www sets %s=%r with %s (/etc/php/8.2/fpm/pool.d/www.conf:%d), but %s is fixed when the FPM master starts: "
        "ini_get() shows the pool value, PHP does not use it" % (key, value, kind, line, key),
        ['/etc/php/8.2/fpm/pool.d/www.conf:%d' % line], pool='www', directive=key)
        for key, value, kind, line in (('opcache.jit_buffer_size', '64M', 'php_value', 7),
                                       ('opcache.memory_consumption', '512', 'php_admin_value', 5))]


@pytest.mark.parametrize('per_pool, fires', [
    ({'www': '0', 'api': '1'}, True),
    ({'www': '0', 'api': '1', 'old': 'On'}, True),
    ({'www': '1', 'api': 'On'}, False),
    ({'www': '0', 'api': ''}, False),
    ({'www': '0'}, False),
])
def test_pool_validate_timestamps_mixed(per_pool, fires):
    pools = [pool(name, settings={'opcache.validate_timestamps': value}) for name, value in per_pool.items()]
    expected = [finding('OPC_POOL_VALIDATE_TIMESTAMPS_MIXED', WARNING,
                        'pools of one FPM master disagree on opcache.validate_timestamps (%s): they share one cache, '
                        'and a script cached by a pool with it off is never revalidated by the others'
                        % ', '.join('%s=%r' % item for item in sorted(per_pool.items())), [], directive='opcache.validate_timestamps')]
    found = [f for f in effective(pools=pools) if f['code'] != 'OPC_VALIDATE_TIMESTAMPS_OFF']
    assert found == (expected if fires else [])


def pool_vt_off(name, kind, line):
    where = '/etc/php/8.2/fpm/pool.d/%s.conf:%d' % (name, line)
    return finding('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING,
                   'pool %s turns opcache.validate_timestamps off with %s (%s): changed PHP files this pool serves are never picked up '
                   'until the cache is reset or the service reloaded' % (name, kind, where), [where], pool=name, directive='opcache.validate_timestamps')


@pytest.mark.parametrize('chain, pools, expected', [
    # the files validate, one pool turns it off: named with the pool's line
    ('1', [pool('www', {'opcache.validate_timestamps': ('0', 'php_admin_value', 491)}), pool('api')], [pool_vt_off('www', 'php_admin_value', 491)]),
    ('1', [pool('www', {'opcache.validate_timestamps': ('off', 'php_admin_flag', 9)})], [pool_vt_off('www', 'php_admin_flag', 9)]),
    ('1', [pool('www', {'opcache.validate_timestamps': ('1', 'php_value', 9)})], []),                # the pool keeps it on
    ('0', [pool('www', {'opcache.validate_timestamps': ('0', 'php_value', 9)})], 'chain only'),     # the chain's finding says it once
])
def test_pool_turning_validation_off(chain, pools, expected):
    found = [f for f in effective(validate_timestamps=(chain, '/v.ini:3'), pools=pools) if f['code'] == 'OPC_VALIDATE_TIMESTAMPS_OFF']
    if expected == 'chain only':
        assert [f['pool'] for f in found] == [None]
    else:
        assert found == expected


def test_pool_turning_validation_off_with_a_file_cache_is_critical():
    pools = [pool('www', {'opcache.validate_timestamps': ('0', 'php_admin_value', 7)})]
    found = effective(validate_timestamps=('1', '/v.ini:3'), file_cache=('/var/cache/op', '/c.ini:2'), pools=pools)
    assert [f for f in found if f['code'] == 'OPC_FILE_CACHE_NO_VALIDATION'] == [finding(
        'OPC_FILE_CACHE_NO_VALIDATION', CRITICAL,
        'opcache.file_cache=/var/cache/op (/c.ini:2) with validate_timestamps off in pool www: stale bytecode survives opcache_reset(), reload and '
        'restart; purge the file cache on deploy', ['/c.ini:2', '/etc/php/8.2/fpm/pool.d/www.conf:7'], pool='www', directive='opcache.file_cache')]


# --- cross_sapi_findings ------------------------------------------------------------------------

def sapi_values(**changed):
    values = dict((name, (d.default, 'default')) for name, d in directives_for('8.2').items())
    values.update(('opcache.' + k, v) for k, v in changed.items())
    return values


def test_sapi_mismatch_names_only_the_directives_that_differ():
    found = as_dicts(cross_sapi_findings(INST, {
        'cli': sapi_values(validate_timestamps=('1', '/cli.ini:2'), enable=('1', '/cli.ini:1'), revalidate_freq=('5', '/both.ini:1')),
        'fpm': sapi_values(validate_timestamps=('0', '/fpm.ini:3'), enable=('1', '/fpm.ini:1'), revalidate_freq=('5', '/both.ini:1')),
    }))
    assert found == [finding(
        'OPC_SAPI_MISMATCH', INFO,
        "opcache.validate_timestamps differs between CLI ('1', /cli.ini:2) and FPM ('0', /fpm.ini:3): "
        "a check with `php -i` does not describe what PHP-FPM runs", ['/cli.ini:2', '/fpm.ini:3'], sapi=None, directive='opcache.validate_timestamps')]


def test_sapi_mismatch_in_several_directives_and_a_missing_one():
    cli = sapi_values(jit=('', '/cli.ini:4'))
    fpm = sapi_values(jit=('tracing', '/fpm.ini:4'))
    del fpm['opcache.file_cache']
    cli['opcache.file_cache'] = ('/tmp/fc', '/cli.ini:9')
    found = as_dicts(cross_sapi_findings(INST, {'cli': cli, 'fpm': fpm}))
    assert [(f['directive'], f['evidence']) for f in found] == [('opcache.file_cache', ['/cli.ini:9', None]), ('opcache.jit', ['/cli.ini:4', '/fpm.ini:4'])]
    assert found[0]['message'] == ("opcache.file_cache differs between CLI ('/tmp/fc', /cli.ini:9) and FPM (None, None): "
                                   "a check with `php -i` does not describe what PHP-FPM runs")


@pytest.mark.parametrize('present', [('cli',), ('fpm',), ('cli', 'cgi'), ()])
def test_sapi_mismatch_needs_cli_and_fpm(present):
    values = {'cli': sapi_values(enable=('0', '/a:1')), 'fpm': sapi_values(enable=('1', '/b:1')), 'cgi': sapi_values()}
    assert cross_sapi_findings(INST, dict((s, values[s]) for s in present)) == []


def test_sapi_mismatch_equal_values_from_other_files_do_not_fire():
    same = dict(validate_timestamps=('1', '/x.ini:1'))
    assert cross_sapi_findings(INST, {'cli': sapi_values(**same), 'fpm': sapi_values(validate_timestamps=('1', '/y.ini:9'))}) == []
