# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""ini_chain: PHP's load order and attribution. Expected results were taken from real PHP 8.2.36
(php -c php.ini with PHP_INI_SCAN_DIR on the same trees); no php is needed here."""

from __future__ import annotations

import os

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, php_constants, split_scan_dir

FPM = '/etc/php/8.2/fpm'
CONFD = FPM + '/conf.d'


def _write(root, path, text, mode='w'):
    local = os.path.join(str(root), path.lstrip('/'))
    if not os.path.isdir(os.path.dirname(local)):
        os.makedirs(os.path.dirname(local))
    with open(local, mode) as handle:
        handle.write(text)
    return local


def _seed_tree(root):
    """The incident: several conf.d files fight over opcache.enable / validate_timestamps."""
    _write(root, FPM + '/php.ini', '[opcache]\nopcache.enable=1\nopcache.validate_timestamps=1\n')
    _write(root, '/etc/php/8.2/mods-available/opcache.ini', '; priority=10\nzend_extension=opcache.so\nopcache.enable=1\n')
    os.makedirs(os.path.join(str(root), CONFD.lstrip('/')))
    os.symlink('/etc/php/8.2/mods-available/opcache.ini', os.path.join(str(root), CONFD.lstrip('/'), '10-opcache.ini'))
    _write(root, CONFD + '/20-opcache_temp.ini', 'opcache.enable=0\n')
    _write(root, CONFD + '/99-disable-opcache-temp.ini', '; temp\nopcache.enable=0\n')
    _write(root, CONFD + '/99-opcache-optimization.ini', 'opcache.enable=1\nopcache.validate_timestamps=0\nopcache.revalidate_freq=0\n')
    _write(root, CONFD + '/99-opcache.ini', 'opcache.memory_consumption=256\nopcache.validate_timestamps=On\n')
    _write(root, CONFD + '/99-opcache.ini.DISABLED', 'opcache.enable=1\n')


def _load(root, main=FPM + '/php.ini', dirs=(CONFD,), env=None, version='8.2.36'):
    return IniChain(HostFS(str(root)), env=env or {}, version=version).load(main, list(dirs))


def test_seed_incident_tree(tmp_path):
    _seed_tree(tmp_path)
    config = _load(tmp_path)
    assert config.loaded_file == FPM + '/php.ini'
    assert config.scanned_files == [CONFD + '/10-opcache.ini', CONFD + '/20-opcache_temp.ini',
                                    CONFD + '/99-disable-opcache-temp.ini', CONFD + '/99-opcache-optimization.ini',
                                    CONFD + '/99-opcache.ini']
    assert config.values() == {'opcache.enable': '1', 'opcache.validate_timestamps': '1',
                               'opcache.revalidate_freq': '0', 'opcache.memory_consumption': '256'}
    enable = config.settings['opcache.enable']
    assert (enable.file, enable.line) == (CONFD + '/99-opcache-optimization.ini', 1)
    assert [(o.file, o.line, o.value) for o in enable.overridden] == [
        (CONFD + '/99-disable-opcache-temp.ini', 2, '0'),
        (CONFD + '/20-opcache_temp.ini', 1, '0'),
        (CONFD + '/10-opcache.ini', 3, '1'),
        (FPM + '/php.ini', 2, '1'),
    ]
    timestamps = config.settings['opcache.validate_timestamps']
    assert (timestamps.file, timestamps.line) == (CONFD + '/99-opcache.ini', 2)
    assert [(o.file, o.value) for o in timestamps.overridden] == [
        (CONFD + '/99-opcache-optimization.ini', '0'), (FPM + '/php.ini', '1')]
    assert config.extensions == [{'kind': 'zend_extension', 'value': 'opcache.so', 'file': CONFD + '/10-opcache.ini', 'line': 2}]


def test_byte_order_not_case_or_locale(tmp_path):
    for name in ('a.ini', 'Z.ini', 'B.ini', '_u.ini', '00.ini', 'with space.ini', 'é.ini', 'x.ini.ini'):
        _write(tmp_path, '/c/' + name, 't.a=%s\n' % name.replace(' ', '_'))
    for name in ('foo.INI', 'foo.ini~', 'foo.ini.DISABLED', 'ini', 'foo.ini.bak'):
        _write(tmp_path, '/c/' + name, 't.a=ignored\n')
    config = _load(tmp_path, None, ['/c'])
    assert [f[3:] for f in config.scanned_files] == ['00.ini', 'B.ini', 'Z.ini', '_u.ini', 'a.ini', 'with space.ini',
                                                     'x.ini.ini', 'é.ini']
    assert config.settings['t.a'].value == 'é.ini'


def test_hidden_ini_is_read(tmp_path):
    _write(tmp_path, '/c/.hidden.ini', 't.a=1\n')
    _write(tmp_path, '/c/.ini', 't.b=1\n')
    assert _load(tmp_path, None, ['/c']).scanned_files == ['/c/.hidden.ini', '/c/.ini']


def test_syntax_error_keeps_earlier_entries_but_not_the_listing(tmp_path):
    _write(tmp_path, '/c/10-a.ini', 't.a=1\nt.b=2\n')
    _write(tmp_path, '/c/20-b.ini', 't.a=3\nt.b=(4\nt.c=5\n')
    config = _load(tmp_path, None, ['/c'])
    assert config.scanned_files == ['/c/10-a.ini']
    assert config.values() == {'t.a': '3', 't.b': '2'}
    assert config.settings['t.a'].file == '/c/20-b.ini'
    assert [p.code for p in config.problems] == ['INI_SYNTAX_ERROR']


def test_vars_resolve_directives_of_earlier_files_then_env(tmp_path):
    _write(tmp_path, '/c/10.ini', 't.base=/srv\n')
    _write(tmp_path, '/c/20.ini', 't.path=${t.base}/app:${HOME}\nt.self=${t.path}/x\nt.none=${NOPE}\n')
    config = _load(tmp_path, None, ['/c'], env={'HOME': '/root'})
    assert config.values()['t.path'] == '/srv/app:/root'
    assert config.values()['t.self'] == '/srv/app:/root/x'
    assert config.values()['t.none'] == ''


def test_multiple_scan_dirs_each_sorted_on_its_own(tmp_path):
    _write(tmp_path, '/one/z.ini', 't.a=one\n')
    _write(tmp_path, '/two/a.ini', 't.a=two\n')
    config = _load(tmp_path, None, split_scan_dir('/one:/two', '/default'))
    assert config.scanned_files == ['/one/z.ini', '/two/a.ini']
    assert config.settings['t.a'].value == 'two'


def test_split_scan_dir():
    assert split_scan_dir(None, '/d') == ['/d']
    assert split_scan_dir('', '/d') == []
    assert split_scan_dir(':', '/d') == ['/d', '/d']
    assert split_scan_dir(':/x', '/d') == ['/d', '/x']
    assert split_scan_dir('/x:', '/d') == ['/x', '/d']


def test_array_then_scalar_then_array(tmp_path):
    """Regression: one hash for both kinds; the last kind wins and a new array starts over."""
    _write(tmp_path, '/c/10.ini', 't.x=1\nt.x[]=a\nt.x[k]=b\n')
    config = _load(tmp_path, None, ['/c'])
    assert 't.x' not in config.settings
    assert [(e['offset'], e['value']) for e in config.arrays['t.x']] == [(None, 'a'), ('k', 'b')]
    _write(tmp_path, '/c/20.ini', 't.x=2\n')
    config = _load(tmp_path, None, ['/c'])
    assert config.settings['t.x'].value == '2' and 't.x' not in config.arrays
    _write(tmp_path, '/c/30.ini', 't.x[]=c\n')
    config = _load(tmp_path, None, ['/c'])
    assert 't.x' not in config.settings
    assert [e['value'] for e in config.arrays['t.x']] == ['c']


def test_conditional_entries_are_not_settings(tmp_path):
    _write(tmp_path, '/c/10.ini', 'opcache.enable=1\n[PATH=/var/www]\nopcache.enable=0\n[opcache]\nopcache.jit=off\n')
    _write(tmp_path, '/c/20.ini', 'opcache.jit=tracing\n')     # the section does not leak into the next file
    config = _load(tmp_path, None, ['/c'])
    assert config.values() == {'opcache.enable': '1', 'opcache.jit': 'tracing'}
    assert [(c['key'], c['section']) for c in config.conditional] == [('opcache.enable', 'PATH=/var/www'), ('opcache.jit', 'PATH=/var/www')]


def test_startup_constants():
    """Regression: constants PHP 8.2 has registered when it reads php.ini (observed on the CLI)."""
    constants = php_constants('8.2.36')
    assert constants['PHP_VERSION_ID'] == '80236'
    assert constants['ZEND_THREAD_SAFE'] == ''
    assert constants['UPLOAD_ERR_EXTENSION'] == '8'
    assert 'PHP_BINARY' not in constants and 'PHP_SAPI' not in constants


def test_binary_garbage_file(tmp_path):
    _write(tmp_path, '/c/10.ini', bytes(bytearray(range(256))) * 64, mode='wb')
    _write(tmp_path, '/c/20.ini', 't.a=1\n')
    config = _load(tmp_path, None, ['/c'])
    assert config.settings['t.a'].value == '1'
    assert 'INI_BINARY_CONTENT' in [p.code for p in config.problems]


def test_huge_file_is_read_like_php(tmp_path):
    """PHP reads a conf.d file of any size; so does the engine (its speed: bench/run engine)."""
    local = _write(tmp_path, '/c/10-huge.ini', '')
    line = '; ' + 'x' * 77 + '\n'
    with open(local, 'w') as handle:
        handle.write(line * (50 * 1024 * 1024 // len(line)) + 'opcache.validate_timestamps=0\n')
    _write(tmp_path, '/c/05.ini', 'opcache.validate_timestamps=1\n')
    config = _load(tmp_path, None, ['/c'], version='8.2.36')
    assert config.problems == []
    winner = config.settings['opcache.validate_timestamps']
    assert (winner.value, winner.file, winner.line) == ('0', '/c/10-huge.ini', 50 * 1024 * 1024 // len(line) + 1)


def test_file_above_the_limit_is_reported_as_unknown(tmp_path):
    _write(tmp_path, '/c/10-big.ini', 't.a=1\n' + ';' * 200 + '\n')
    _write(tmp_path, '/c/20.ini', 't.b=2\n')
    config = IniChain(HostFS(str(tmp_path)), version='8.2.36', max_bytes=100).load(None, ['/c'])
    assert [(p.code, p.file) for p in config.problems] == [('INI_FILE_TOO_LARGE', '/c/10-big.ini')]
    assert 'the values it sets are unknown' in config.problems[0].message
    assert config.values() == {'t.b': '2'}
    assert config.scanned_files == ['/c/20.ini']


def test_sparse_nul_file_is_read(tmp_path):
    local = _write(tmp_path, '/c/10-nul.ini', 't.a=1\n')
    with open(local, 'r+b') as handle:
        handle.truncate(50 * 1024 * 1024)           # sparse: 50 MB of NUL bytes after the first line
    _write(tmp_path, '/c/20.ini', 't.b=2\n')
    config = _load(tmp_path, None, ['/c'], version='8.2.36')
    assert [p.code for p in config.problems] == ['INI_BINARY_CONTENT']
    assert config.values() == {'t.a': '1', 't.b': '2'}
    assert config.scanned_files == ['/c/10-nul.ini', '/c/20.ini']


def test_non_files_are_skipped(tmp_path):
    os.makedirs(os.path.join(str(tmp_path), 'c', 'd.ini'))
    os.mkfifo(os.path.join(str(tmp_path), 'c', 'f.ini'))
    os.symlink('missing.ini', os.path.join(str(tmp_path), 'c', 'g.ini'))
    _write(tmp_path, '/c/h.ini', 't.a=1\n')
    config = _load(tmp_path, None, ['/c'])
    assert config.scanned_files == ['/c/h.ini']
    assert sorted(p.file for p in config.problems if p.code == 'SCAN_FILE_SKIPPED') == ['/c/d.ini', '/c/f.ini', '/c/g.ini']


def test_scanner_follows_the_installation_version(tmp_path):
    """PHP 8.3 added ${name:-fallback} (and stopped taking ']' in names): the chain reads each
    installation with the scanner of its own version; an unknown version gets the newest."""
    _write(tmp_path, '/c/10.ini', 'a=${NOPE:-fb}\nb]x=1\nc=2\n')
    results = {}
    for version in ('8.2', '8.2.36', '8.3.0', '8.4', None):
        config = _load(tmp_path, None, ['/c'], version=version)
        results[version] = (config.values(), config.scanned_files, [p.code for p in config.problems])
    php82 = ({'a': '', 'b]x': '1', 'c': '2'}, ['/c/10.ini'], [])
    php83 = ({'a': 'fb'}, [], ['INI_SYNTAX_ERROR'])
    assert results == {'8.2': php82, '8.2.36': php82, '8.3.0': php83, '8.4': php83, None: php83}
