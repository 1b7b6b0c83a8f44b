# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Differential test: the ini engine (host_fs + ini_parser + ini_chain) against the real PHP CLI.

Hypothesis generates trees (a php.ini plus scan directories with awkward names, symlinks, non-files
and awkward ini texts); for each tree the real ``php -c php.ini`` with ``PHP_INI_SCAN_DIR`` reports
the loaded file, the scanned files and ``get_cfg_var()`` of every generated key, and the engine must
agree exactly. The file the engine credits a directive to must be the last file of the chain that,
parsed by PHP on its own, assigns that directive. The same tree is also read through a ``root``
prefix (HostFS(root)), which must give the same answer with target paths.

Every line form the generator knows also comes last in a file, with and without a final line end
(``\n``, ``\r\n``, a lone ``\r``), after trailing spaces and tabs, and behind a BOM. Runs are
reproducible: the generator's seed is ``PHPOPS_ORACLE_SEED`` (default below), printed in every
failure message together with the tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, split_scan_dir
from ansible_collections.phpops.opcache.tests.oracle.php_oracle import OracleError, find_php
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import PHP_VERSION as PHP_UNDER_TEST


def _oracle_php_version():
    """PHP_VERSION of the oracle's php (e.g. 8.2.36); '' without php (the php_oracle fixture then fails the tests)."""
    try:
        return subprocess.check_output([find_php(), '-n', '-r', 'echo PHP_VERSION;'], timeout=60).decode().strip()
    except (OracleError, OSError, subprocess.SubprocessError):
        return ''


# the engine must expand the PHP_VERSION constant like the real php does
PHP_VERSION = _oracle_php_version()
# Debian's compiled-in default scan directory of that php CLI (e.g. /etc/php/8.2/cli/conf.d)
CLI_DEFAULT_SCAN_DIR = '/etc/php/%s/cli/conf.d' % '.'.join(PHP_VERSION.split('.')[:2])

SCALAR_KEYS = ['opcache.enable', 'opcache.validate_timestamps', 'opcache.revalidate_freq', 'opcache.jit',
               'opcache.x_path', 't.a', 't.b', 't.B', 't.c', 'T.a', 't.long_name_x']
ARRAY_KEYS = ['t.arr', 'opcache.x_list']
# keys PHP gives the [PATH=]/[HOST=] sections the generator writes (arrays of their entries)
SECTION_KEYS = ['/var/www', 'example.org', '/srv', '/x', '/q', 'a.b', '']
ALL_KEYS = SCALAR_KEYS + ARRAY_KEYS + SECTION_KEYS + ['extension', 'zend_extension']
SEED = int(os.environ.get('PHPOPS_ORACLE_SEED', '20261202'))
REPRODUCE = 'generator seed %d: rerun with PHPOPS_ORACLE_SEED=%d' % (SEED, SEED)
ENV = {'APP_ENV': 'prod', 'MEM': '256', 'EMPTY': '', 'SPACED': ' a b ', 'OPC': '1', 'T.a': 'env-dot'}

BOOL_WORDS = ['on', 'off', 'true', 'false', 'yes', 'no', 'none', 'null']
CONSTANTS = ['E_ALL', 'E_NOTICE', 'E_STRICT', 'E_DEPRECATED', 'E_WARNING', 'E_USER_DEPRECATED', 'PHP_VERSION', 'PHP_OS',
             'PHP_OS_FAMILY', 'PHP_EOL', 'PHP_INT_MAX', 'PHP_INT_SIZE', 'PHP_MAJOR_VERSION', 'PHP_MINOR_VERSION',
             'DEFAULT_INCLUDE_PATH', 'PHP_SHLIB_SUFFIX', 'UNKNOWN_CONST', 'E_FOO', 'M_PI', 'PHP_VERSION_ID', 'ZEND_THREAD_SAFE',
             'PHP_FLOAT_EPSILON', 'UPLOAD_ERR_OK']
WORDS = ['0', '1', '-1', '2', '128', '128M', '0x10', '007', '99999999999999999999', '/var/www/html', '/tmp/a b',
         'C:\\php\\ext', 'foo', 'tracing', 'é', '☃', 'a.b', 'x-y', '1.5', '+3', 'a:b', '@x', '%y', '*', '?', '/', ',', '.']
NAME_POOL = ['10-opcache.ini', '20-opcache_temp.ini', '99-disable-opcache-temp.ini', '99-opcache-optimization.ini',
             '99-opcache.ini', 'Z.ini', 'a.ini', 'with space.ini', 'foo.ini.DISABLED', 'foo.INI', 'foo.ini~',
             '.hidden.ini', 'x.ini.ini', '_u.ini', '-dash.ini', 'é.ini', '00.ini', 'ini', '.ini', '99-opcache.ini.bak',
             'B.ini', 'b.ini', '10-opcache.ini.ini']
KINDS = ['file'] * 8 + ['symlink', 'dangling', 'dir', 'loop', 'dirlink', 'fifo']


def _bool_word(draw):
    word = draw(st.sampled_from(BOOL_WORDS))
    word = ''.join(c.upper() if u else c for c, u in zip(word, draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))))
    return word + draw(st.sampled_from(['', ' ', '  ', '\t', ' \t ']))


def _ref_name(draw):
    # never a key that may hold an array: PHP runs out of memory on ${array}
    return draw(st.sampled_from(list(ENV) + [k for k in SCALAR_KEYS if k != 't.B'] + ['UNSET_VAR', 'PATH', 'PHP_INI_SCAN_DIR', 'MEM:-64', 'NOPE:-fb']))


@st.composite
def atoms(draw):
    kind = draw(st.sampled_from(['word', 'word', 'const', 'dq', 'sq', 'var', 'bool']))
    if kind == 'word':
        return draw(st.sampled_from(WORDS))
    if kind == 'const':
        return draw(st.sampled_from(CONSTANTS))
    if kind == 'bool':
        return _bool_word(draw)
    if kind == 'var':
        return '${%s}' % _ref_name(draw)
    if kind == 'sq':
        return "'%s'" % draw(st.sampled_from(['', 'on', 'a;b', 'x"y', '${MEM}', 'C:\\a\\', ' sp ', 'E_ALL']))
    inner = draw(st.lists(st.sampled_from(['on', 'x', ' ', '\\"', '\\\\', '\\$', '${MEM}', '${t.a}', ';', '=', 'é', "'", 'E_ALL', '\\n', '\\']),
                          max_size=4))
    return '"%s"' % ''.join(inner)


@st.composite
def values(draw):
    shape = draw(st.sampled_from(['atom', 'atom', 'concat', 'expr', 'bool', 'empty']))
    if shape == 'empty':
        return ''
    if shape == 'bool':
        return _bool_word(draw)
    if shape == 'atom':
        return draw(atoms())
    if shape == 'concat':
        parts = draw(st.lists(atoms(), min_size=2, max_size=3))
        seps = draw(st.lists(st.sampled_from(['', ' ', '  ']), min_size=len(parts), max_size=len(parts)))
        return ''.join(p + s for p, s in zip(parts, seps)).rstrip(' ') if draw(st.booleans()) else ''.join(p + s for p, s in zip(parts, seps))
    operand = st.sampled_from(['E_ALL', 'E_NOTICE', 'E_STRICT', 'E_DEPRECATED', '1', '2', '4', '0', '-1', '${MEM}', 'x', '255',
                               '99999999999999999999', '4294967297', '2147483648', ' 12abc'])
    items = draw(st.lists(operand, min_size=1, max_size=3))
    text = ''
    for index, item in enumerate(items):
        prefix = draw(st.sampled_from(['', '', '~', '!', '~ ', '!~']))
        if index:
            text += draw(st.sampled_from([' | ', ' & ', ' ^ ', '|', '&', ' &~ ']))
        text += prefix + item
    if draw(st.booleans()):
        text = '(' + text + ')' + draw(st.sampled_from(['', ' & ~E_NOTICE', ' | 1']))
    return text


COMMENT_LINES = ['; t.a = 9', ';', '  ; comment é', 't.c = 3 ; trailing']
HASH_LINES = ['# t.a = 8', '#', '#comment']
BLANK_LINES = ['', ' ', '\t']
SECTION_LINES = ['[opcache]', '[PATH=/var/www]', '[HOST=example.org]', '[path=/srv/]', '[PATH]', '[ PATH=/x ]', '[Host=a.b]',
                 '[opcache ]', '[PHP]', '["PATH=/q"]', '[hostile]', '[x;y]', '[PATH=]', '[HOST=Example.ORG/]', '[PATH=${MEM}]',
                 '[sec] ; c', '[a]]']
EXTENSION_LINES = ['extension=phpops_nonexistent.so', 'zend_extension=phpops_nonexistent_z.so', 'Extension = phpops_missing',
                   'extension=${MEM}']
ERROR_LINES = ['= x', 't.a=b=c', 't.b = "unterminated', '[unterminated', 't.c=(1', 't.a=${}', 't.b=x)', "t.a=y'", 't.c = on off',
               'true = 1', 't.a=1 2 "x', 't.a = ; c', 't.b =\t; c', 't.a==', 't.b= =', 't.c=${x:-"y"}', 't.a=${x;y}',
               't.b=${x(y}', 't.c=${x$y}', 't.a=${u:-${v:-w}}', 't.arr[', 't.b=${', 't.a=1\x002', 't.b=\x00', '\x00t.c=1',
               't.c="a\x002"', 't.a', 't.a ; c', 'null', 't.b = # c']
ARRAY_OFFSETS = ['', '', 'k', '0', '5', 'x y', ' k ', '" q "', "'r'", '${MEM}', '${UNSET_VAR}', 'E_ALL', '"${t.a}"', '05', '-1',
                 'a;b', ' ']
# assignment forms that end differently (for the last-line test; the generator builds many more)
VALUE_LINES = ['t.a=', 't.a =', 't.a = 1', 't.a=on', 't.a=E_ALL & ~E_NOTICE', 't.a="x"', "t.a='x'", 't.a = "x" y', 't.a=${MEM}',
               't.a="${MEM}"', 't.a=(1|2)', 't.a=~1', 't.a=C:\\php\\ext', 't.a="C:\\php\\"', 't.a=a:b', 't.a=x$y',
               't.arr[] = 1', 't.arr[k]=', 't.arr[" k "] = x']
FIXED_LINES = COMMENT_LINES + HASH_LINES + BLANK_LINES + SECTION_LINES + EXTENSION_LINES + ERROR_LINES + VALUE_LINES


@st.composite
def lines(draw):
    kind = draw(st.sampled_from(['assign'] * 8 + ['array', 'comment', 'hash', 'blank', 'section', 'extension', 'error']))
    if kind == 'assign':
        key = draw(st.sampled_from(SCALAR_KEYS))
        return '%s%s=%s%s' % (draw(st.sampled_from(['', ' ', '\t'])) + key, draw(st.sampled_from(['', ' ', '  '])),
                              draw(st.sampled_from(['', ' ', '\t'])), draw(values()))
    if kind == 'array':
        key = draw(st.sampled_from(ARRAY_KEYS + ['t.B']))
        return '%s[%s] = %s' % (key, draw(st.sampled_from(ARRAY_OFFSETS)), draw(values()))
    pools = {'comment': COMMENT_LINES, 'hash': HASH_LINES, 'blank': BLANK_LINES, 'section': SECTION_LINES,
             'extension': EXTENSION_LINES, 'error': ERROR_LINES}
    return draw(st.sampled_from(pools[kind]))


TRAILING = ['', '', '', ' ', '\t', ' \t ', '  ']


@st.composite
def ini_texts(draw):
    body = draw(st.lists(lines(), max_size=8))
    # trailing spaces and tabs after any line, the last one included
    body = [line + draw(st.sampled_from(TRAILING)) for line in body]
    newline = draw(st.sampled_from(['\n', '\n', '\r\n', '\r', 'mixed']))
    if newline == 'mixed':
        text = ''.join(line + draw(st.sampled_from(['\n', '\r\n', '\r'])) for line in body)
    else:
        text = newline.join(body) + newline
    # the last line with and without a line end
    if body and draw(st.booleans()):
        text = text[:-2] if text.endswith('\r\n') else text[:-1]
    if draw(st.integers(0, 9)) == 0:
        text = '\ufeff' + text
    return text


@st.composite
def trees(draw, max_dirs=3, max_files=6):
    scan_dirs = []
    ini_names = [n for n in NAME_POOL if n.endswith('.ini')]
    for index in range(draw(st.sampled_from([0] + [1] * 3 + list(range(1, max_dirs + 1)) * 2))):
        names = draw(st.lists(st.sampled_from(ini_names * 3 + NAME_POOL), unique=True, min_size=1, max_size=max_files))
        entries = [(name, draw(st.sampled_from(KINDS)), draw(ini_texts())) for name in names]
        scan_dirs.append(('d%d' % index, entries))
    elements = [name for name, dummy in scan_dirs]
    if draw(st.integers(0, 7)) == 0:
        elements.insert(draw(st.integers(0, len(elements))), '')        # the compiled-in default
    if draw(st.integers(0, 7)) == 0:
        elements.append('missing-dir')
    return {'main': draw(ini_texts()), 'scan_dirs': scan_dirs, 'elements': elements,
            'no_main': draw(st.integers(0, 15)) == 0}


def _materialise(tree, root):
    """Write the tree under root/etc/php; symlinks are relative so that the tree reads the same
    through a root prefix."""
    base = os.path.join(root, 'etc', 'php')
    os.makedirs(os.path.join(base, 'mods'))
    main = os.path.join(base, 'php.ini')
    if not tree['no_main']:
        with open(main, 'wb') as handle:
            handle.write(tree['main'].encode('utf-8'))
    for dirname, entries in tree['scan_dirs']:
        directory = os.path.join(base, dirname)
        os.makedirs(directory)
        for index, (name, kind, text) in enumerate(entries):
            path = os.path.join(directory, name)
            if kind in ('file', 'symlink'):
                target = path if kind == 'file' else os.path.join(base, 'mods', '%s-%d.ini' % (dirname, index))
                with open(target, 'wb') as handle:
                    handle.write(text.encode('utf-8'))
                if kind == 'symlink':
                    os.symlink(os.path.join('..', 'mods', os.path.basename(target)), path)
            elif kind == 'dangling':
                os.symlink('../mods/missing.ini', path)
            elif kind == 'dir':
                os.mkdir(path)
                with open(os.path.join(path, 'inner.ini'), 'w', encoding='utf-8') as handle:
                    handle.write('t.a = from-dir\n')
            elif kind == 'loop':
                os.symlink(name, path)
            elif kind == 'dirlink':
                os.symlink('../mods', path)
            elif kind == 'fifo':
                os.mkfifo(path)
    raw = ':'.join(os.path.join(base, e) if e else '' for e in tree['elements'])
    return main, raw


def _describe(tree):
    out = ['main%s: %r' % (' (absent)' if tree['no_main'] else '', tree['main']), 'PHP_INI_SCAN_DIR elements: %r' % tree['elements']]
    for dirname, entries in tree['scan_dirs']:
        for name, kind, text in entries:
            out.append('%s/%s [%s]: %r' % (dirname, name, kind, text))
    return '\n'.join(out)


def _php_array(entries):
    """The array PHP builds from key[]/key[k] entries (zend_symtable_update / next free index)."""
    result = []
    next_index = 0
    for entry in entries:
        key = entry['offset']
        if key is None or key == '':
            key = str(next_index)
        if key.isdigit() and str(int(key)) == key and int(key) >= next_index:
            next_index = int(key) + 1
        positions = [i for i, (existing, dummy) in enumerate(result) if existing == key]
        if positions:
            result[positions[0]] = (key, entry['value'])
        else:
            result.append((key, entry['value']))
    return result


def _php_section_array(entries):
    """The array PHP keeps under a [PATH=]/[HOST=] key: directive => value, directive => array
    for directive[...] entries inside the section, and elements added by a top-level key[]."""
    result = []
    next_index = [0]

    def slot(key):
        for index, (existing, dummy) in enumerate(result):
            if existing == key:
                return index
        result.append((key, None))
        return len(result) - 1

    for entry in entries:
        if entry['sub'] is False:
            key = entry['offset']
            if key is None or key == '':
                key = str(next_index[0])
            if key.isdigit() and str(int(key)) == key and int(key) >= next_index[0]:
                next_index[0] = int(key) + 1
            result[slot(key)] = (key, entry['value'])
        else:
            index = slot(entry['offset'])
            inner = result[index][1]
            if not isinstance(inner, list):
                inner = []
            inner = _php_array([{'offset': k, 'value': v} for k, v in inner] + [{'offset': entry['sub'], 'value': entry['value']}])
            result[index] = (entry['offset'], inner)
    return result


def engine_array(config, key):
    """What PHP's get_cfg_var(key) holds when the engine says the key is an array."""
    if key in config.section_arrays:
        return _php_section_array(config.section_arrays[key])
    return _php_array(config.arrays.get(key, []))


def _engine(root, main, scan_dirs, env, strip=''):
    chain = IniChain(HostFS(root), env=env, version=PHP_VERSION)
    return chain.load(main[len(strip):] if main else None, [d[len(strip):] if d.startswith(strip + '/') else d for d in scan_dirs])


STATS = {}


def _count(tree, php, config):
    """What the generated trees exercised; printed with ``pytest -s`` (PHPOPS_ORACLE_STATS=1)."""
    facts = ['trees', 'scan dirs: %d' % len(tree['elements'])]
    facts += ['scanned files: %s' % min(len(php['scanned_files']), 5)]
    facts += ['skipped: %s' % p.code for p in config.problems]
    facts += ['PHP array' for v in php['cfg'].values() if isinstance(v, list)]
    facts += ['PHP value' for v in php['cfg'].values() if isinstance(v, str)]
    facts += ['overridden' for a in config.settings.values() if a.overridden]
    facts += ['conditional'] * len(config.conditional) + ['extension line'] * len(config.extensions)
    for fact in facts:
        STATS[fact] = STATS.get(fact, 0) + 1
    if os.environ.get('PHPOPS_ORACLE_STATS') and STATS['trees'] % 100 == 0:
        print(sorted(STATS.items()))


def check_tree(php_oracle, tree):
    workdir = tempfile.mkdtemp(prefix='phpops-diff-')
    try:
        main, raw = _materialise(tree, workdir)
        env = dict(ENV)
        php = php_oracle.chain(main, raw, ALL_KEYS, env)
        env.update({'PATH': '/usr/bin:/bin', 'PHP_INI_SCAN_DIR': raw})
        scan_dirs = split_scan_dir(raw, CLI_DEFAULT_SCAN_DIR)
        config = _engine('/', main, scan_dirs, env)
        context = '%s\n%s' % (REPRODUCE, _describe(tree))

        _count(tree, php, config)
        assert config.loaded_file == php['loaded_file'], context
        assert config.scanned_files == php['scanned_files'], context

        for key in ALL_KEYS:
            php_value = php['cfg'][key]
            if isinstance(php_value, list):
                assert key not in config.settings, '%s\n%s: PHP has an array, engine %r' % (context, key, config.settings[key].value)
                assert engine_array(config, key) == php_value, '%s\n%s: array' % (context, key)
            elif php_value is None:
                assert key not in config.settings, '%s\n%s: unset in PHP, engine %r' % (context, key, config.settings[key].value)
            else:
                assert key in config.settings, '%s\n%s: PHP %r, engine unset' % (context, key, php_value)
                assert config.settings[key].value == php_value, '%s\n%s' % (context, key)

        # attribution: the last file of the chain that assigns the key on its own
        chain_files = list(config.parsed_files)
        assigned = dict((f, php_oracle.file_keys(f, list(config.settings))) for f in chain_files)
        for key, assignment in config.settings.items():
            if key not in php['cfg']:
                continue
            expected = [f for f in chain_files if key in assigned[f]]
            assert expected and assignment.file == expected[-1], '%s\n%s credited to %s, PHP: %s' % (context, key, assignment.file, expected)
            files = [o.file for o in assignment.overridden]
            assert all(f in chain_files for f in files), context

        # the same tree through a root prefix gives the same answer with target paths
        prefixed = _engine(workdir, main, [d for d in scan_dirs if d.startswith(workdir + '/')], env, strip=workdir)
        direct = _engine('/', main, [d for d in scan_dirs if d.startswith(workdir + '/')], env)
        assert prefixed.scanned_files == [f[len(workdir):] for f in direct.scanned_files], context
        assert prefixed.values() == direct.values(), context
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


COMMON = dict(deadline=None, derandomize=False, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@seed(SEED)
@settings(max_examples=300, **COMMON)
@given(text=ini_texts())
def test_single_file_values(php_oracle, text):
    """One php.ini, no scan dir: the value rules."""
    check_tree(php_oracle, {'main': text, 'scan_dirs': [], 'elements': [], 'no_main': False})


@seed(SEED + 1)
@settings(max_examples=400, **COMMON)
@given(tree=trees())
def test_trees(php_oracle, tree):
    """php.ini + scan dirs: order, file selection, overriding, attribution."""
    check_tree(php_oracle, tree)


def test_oracle_is_real_php(php_oracle):
    # the CLI oracle is the PHP under test (PHPOPS_PHP_VERSION or the installed PHP-FPM, e.g. 8.2)
    assert php_oracle.version().startswith(PHP_UNDER_TEST + '.'), 'the oracle suite is calibrated for PHP %s' % PHP_UNDER_TEST


@pytest.mark.parametrize('raw', ['', ':', '{d0}:', ':{d0}', '{d0}::{d0}'])
def test_default_scan_dir_elements(php_oracle, tmp_path, raw):
    """An empty PHP_INI_SCAN_DIR disables scanning; an empty element is the compiled-in default."""
    if not os.path.isdir(CLI_DEFAULT_SCAN_DIR):
        pytest.fail('%s is missing: the php-cli package layout changed' % CLI_DEFAULT_SCAN_DIR)
    tree = {'main': 't.a=1\n', 'elements': [], 'no_main': False,
            'scan_dirs': [('d0', [('99-opcache.ini', 'file', 'opcache.enable=0\nt.a=${t.a}2\n')])]}
    main, dummy = _materialise(tree, str(tmp_path))
    raw = raw.replace('{d0}', os.path.join(str(tmp_path), 'etc', 'php', 'd0'))
    php = php_oracle.chain(main, raw, ALL_KEYS, {})
    config = _engine('/', main, split_scan_dir(raw, CLI_DEFAULT_SCAN_DIR), {'PATH': '/usr/bin:/bin', 'PHP_INI_SCAN_DIR': raw})
    assert config.scanned_files == php['scanned_files']
    assert dict((k, v) for k, v in php['cfg'].items() if v is not None and not isinstance(v, list)) == \
        dict((k, config.settings[k].value) for k in ALL_KEYS if k in config.settings)
