# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: the ini engine against real PHP, one behaviour at a time (issue 13).

Each text is loaded as a conf.d file by the real ``php -c php.ini`` with ``PHP_INI_SCAN_DIR`` and by
the engine (``IniChain``); both must agree on whether PHP lists the file as parsed and on every
value (scalars and arrays, including the arrays PHP keeps under a ``[PATH=]``/``[HOST=]`` key). The
inputs are our own, one group per behaviour that php-src's parse_ini_* tests exercise, plus the
cases of issue 13 and the NUL bytes and 50 MB file of issue 9. Where the engine cannot know what
PHP does (host-dependent constants, ``${name}`` naming an array, a file above the read limit), the
test checks that PHP indeed differs from the literal and that the engine says so in a problem.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.tests.oracle.php_oracle import OracleError
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import find_fpm_binary
from ansible_collections.phpops.opcache.tests.oracle.test_ini_differential import FIXED_LINES, PHP_VERSION, engine_array

KEYS = ['a', 'b', 'c', 'd', 'x', 'y', 'k', 'test', 'q', 't.a', 't.b', 't.c', 't.arr', '/var/www', '/srv', 'a.b', '/q', '/x', '',
        'example.org', 'memory_limit', 'opcache.enable',
        'opcache.validate_timestamps', 'opcache.memory_consumption', 'opcache.enable_cli', 'opcache.file_cache', 'opcache.jit']
ENV = {'HOME_X': '/home/x', 'MEM': '256', 'EMPTY': ''}


def load_both(php_oracle, tmp_path, text, main='', name='10-t.ini', env=None):
    """Write ``text`` as a conf.d file and load the chain with real PHP and with the engine."""
    root = str(tmp_path)
    confd = os.path.join(root, 'conf.d')
    os.makedirs(confd, exist_ok=True)
    php_ini = os.path.join(root, 'php.ini')
    with open(php_ini, 'wb') as handle:
        handle.write(main.encode('utf-8', 'surrogateescape'))
    with open(os.path.join(confd, name), 'wb') as handle:
        handle.write(text if isinstance(text, bytes) else text.encode('utf-8', 'surrogateescape'))
    env = dict(ENV if env is None else env)
    engine_env = dict(env, PATH='/usr/bin:/bin', PHP_INI_SCAN_DIR=confd)
    config = IniChain(HostFS('/'), env=engine_env, version=PHP_VERSION).load(php_ini, [confd])
    keys = sorted(set(KEYS) | set(config.settings) | set(config.arrays) | set(config.section_arrays))
    php = php_oracle.chain(php_ini, confd, keys, env)
    return php, config, keys


def assert_same(php, config, keys, context):
    assert config.scanned_files == php['scanned_files'], '%r: PHP lists %r, engine %r' % (context, php['scanned_files'], config.scanned_files)
    for key in keys:
        php_value = php['cfg'][key]
        if isinstance(php_value, list):
            assert key not in config.settings, '%r: %r is an array in PHP' % (context, key)
            assert engine_array(config, key) == php_value, '%r: array %r' % (context, key)
        elif php_value is None:
            assert key not in config.settings and key not in config.arrays and key not in config.section_arrays, \
                '%r: %r unset in PHP' % (context, key)
        else:
            assert key in config.settings, '%r: %r = %r in PHP, unset in the engine' % (context, key, php_value)
            assert config.settings[key].value == php_value, '%r: %r' % (context, key)


# issue 13's table: the last line of a file with no final newline
END_OF_FILE = ['x = ; c', 'x =\t; c', 'x = ; c\n', 'x = 1 ; c', 'x = "a" ; c', 'x =', 'x = # c', 'x', 'x ; c', '[sec] ; c',
               'x=1\n; c', 'opcache.jit=tracing\nopcache.file_cache =     ; c', 'a=1\nx=\'q', 'a=1\nx="q', 'a=1\n[x', 'a=1\nk[',
               'a=1\nk[x]', 'a=1\nb=${x', 'a=1 \t', 'a=on ', 'a="q" ', "a='q' ", 'a=x\r', 'a=x\r\n', 'a=(1)', 'a=1|2 ', 'a=${MEM}',
               'a=1\nnull', 'a=1\n  ', 'a=1\n\t;']

# One group per behaviour of PHP's ini parser (the behaviours php-src's parse_ini_* tests cover;
# our own inputs).
BEHAVIOURS = {
    'booleans and null': ['a=on\nb=Off\nc=YES\nd=none\nx=null\ny=tRuE \t\n', 'a=onion\nb=nonempty\nc=yes_no\nd=on_\n',
                          'a=on off\nb=1', 'a="on"\nb=\'off\'\nc=on ; c\n', 'on=1\nb=2', 'a=true|1\nb=2'],
    'numbers': ['a=0x1F\nb=007\nc=1.5\nd=-1\nx=.5\ny=1e3\n', 'a=3.7&2\nb=2&3.7\nc=-3|0\n', 'a=99999999999999999999\nb=-0\n',
                '[001099030277]\na=1\n[23.44]\nb=2\n'],
    'constants and operators': ['a=E_ALL & ~E_DEPRECATED & ~E_STRICT\nb=E_ALL|E_STRICT\nc=~E_ALL\n', 'a=!0\nb=!E_ALL\nc=(E_ALL ^ E_NOTICE)\n',
                                'a=E_ALL.x\nb=E_ALLx\nc=x:E_ALL\nd="E_ALL"\n', 'a=PHP_VERSION "-" PHP_OS\nb=PHP_EOL\n',
                                'a=(1|2\nb=1', 'a=1|\nb=1', 'a=~\nb=1', 'a=((1))&(3)\n'],
    'double quotes': ['a="x\\"y"\nb="p\\\\q"\nc="r\\$s"\nd="t\\nu"\n', 'a="C:\\php\\"\nb=1\n', 'a="multi\nline"\nb=2\n',
                      'a = "x" "y" z\nb= "" \n', 'a="${MEM}x${t.a}"\nb="$x"\n', 'a="x\nb=2\nc="y"', 'a="x"y"\nb=1',
                      'a="\\\\\\"x"\nb="\\a\\"\n', 'a="x\\${MEM}"\nb="x\\\n"\nc="x\\\\"\n'],
    'single quotes': ["a='x\"y'\nb='p\\q'\nc='${MEM}'\n", "a='multi\nline'\nb=2\n", "a=''\nb=1\n", "a=x''\nb=1\n",
                      "a='x' 'y'\nb='a;b'\n", "a=y'\nb=2\n", "a='\nb=2'\nc=3\n"],
    'variables': ['a=${MEM}\nb=${a}x\nc=${NOPE}\nd=${EMPTY}y\n', 'a=x\nb=${a}${a}\n[PATH=/x]\nc=1\nd=${c}\n',
                  'b=${x:-"y"}\nc=2', 'a=1\n${x;y}\nc=2', 'a=${x(y}\nc=2', 'a=${x$y}\nc=2', 'a=${u:-${v:-w}}\nc=2',
                  'a=${x:-y}\nb=${MEM:-1}\n', 'a=${ MEM }\nb=${}\n', 'a=${MEM\n}\nb=1', 'k[${MEM}]=${MEM}\n'],
    'second equals sign': ['test==\nb=1', 'test= =\nb=1', 'a=x=y\nb=1', 'a=1\n=\nb=2', 'a==1'],
    'array offsets': ['k[" x "]=1\nk[${HOME_X}]=2\nk[\'q\']=3\nk[]=4\n', 'k[]=1\nk[]=2\nk[5]=3\nk[]=4\nk[05]=5\nk[-1]=6\n',
                      'k[E_ALL]=1\nk[ E_ALL ]=2\nk[a b]=3\nk[ a ]=4\nk[${NOPE}]=5\n', 'k[x]=1\nk=2\nk[y]=3\n', 'k=1\nk[]=2\n',
                      'k[a"b"c]=1\nk[\'\']=2\n', 'k[=1', 'k[x]y=1', 'k[a;b]=1\nc=2', 'k[a\\]b]=1\n', 'k [ x ] = 1\n'],
    'sections': ['a=1\n[x;y]\nb=2\n', '[sec]\na=1\n[ sec2 ]\nb=2\n', '["quoted"]\na=1\n[\'raw\']\nb=2\n', '[${MEM}]\na=1\n',
                 '[E_ALL]\na=1\n', '[]\na=1\n', '[a\nb]\nc=1', '[sec] trailing\na=1\n', '[sec]a=1\nb=2\n', '[x]]\na=1\n'],
    'special sections': ['[PATH=/x]\na=1\nb=2\n[other]\nc=3\n', '[PATH=/x/]\na=1\n[PATH=/x]\nb=2\n', '[HOST=Example.ORG]\na=1\n',
                         'x=5\n[PATH=x]\nx=1\ny=2\n', 'a=1\n[PATH=]\nb=2\n', '[PATH]\na=1\n[HOST]\nb=2\n', '[path= /x]\na=1\n',
                         '[PATH=/x]\nextension=foo.so\na=1\n', '[PATH=/x]\na=1\n/x=plain\n', '[PATH=/x]\nk[]=1\nk[q]=2\na=1\nk=3\n',
                         '[PATH=/x]\na=1\n[HOST=]\nb=2\n/x[]=3\n/x[z]=4\n', 'k[]=1\n[PATH=k]\na=2\n', '[PATH=/x]\na=1\n[PATH=/x]\na=2\nb=3\n'],
    'comments and hashes': ['; c\na=1 ; c\n;b=2\n#c=3\n', '# c\na=1\n', 'a=1 # no comment\n', 'a=1;c\nb=2;\n', '\t ; c\n  a = 1  \n'],
    'names': ['a.b-c=1\na/b=2\na:b=3\n@x=4\na b=5\n', 'a]b=1\nc=2\n', 'a?b=1\n', 'a{b=1\n', 'a&b=1\n', 'a"b=1\n', 'a!b=1\n',
              'é=1\n☃=2\n', '  spaced  =  v  \n'],
    'line ends': ['a=1\r\nb=2\rc=3\nd=4', 'a="x\r\ny"\rb=2\r', 'a=1\r\r\nb=2\n', '\r\n\ra=1'],
    'bom': ['\ufeffa=1\n', '\ufeff', '\ufeffa', '\ufeff;c', '\ufeff\ufeffa=1\n', 'a=1\n\ufeffb=2\n'],
    'nul bytes': ['a=1\nb=2\x00c=3\n', 'a=1\n\x00b=2\nc=3\n', 'a="x\x00y"\nb=\'p\x00q\'\n; c\x00c\nc=3\n', '[PATH=/x\x00]\na=1\nb=2',
                  'k[a\x00b]=1\n', 'a=${MEM\x00}\nb=1\n', '\x00', 'a=1\n\x00', 'x=a\x00', 'a=on\x00b=1\n'],
}

CASES = [(group, index, text) for group, texts in sorted(BEHAVIOURS.items()) for index, text in enumerate(texts)]


@pytest.mark.parametrize('text', END_OF_FILE, ids=[repr(t) for t in END_OF_FILE])
def test_end_of_file_forms(php_oracle, tmp_path, text):
    php, config, keys = load_both(php_oracle, tmp_path, text)
    assert_same(php, config, keys, text)


@pytest.mark.parametrize('group, index, text', CASES, ids=['%s-%d' % (g, i) for g, i, dummy in CASES])
def test_behaviour(php_oracle, tmp_path, group, index, text):
    php, config, keys = load_both(php_oracle, tmp_path, text)
    assert_same(php, config, keys, text)


def test_section_name_with_semicolon_through_the_chain(php_oracle, tmp_path):
    """Issue 13: a ';' in a section name ends the file for PHP; the value after it is no winner."""
    text = 'opcache.enable_cli=1\n[Mozilla (X11; Linux)]\nopcache.memory_consumption=256\n'
    php, config, keys = load_both(php_oracle, tmp_path, text, name='10-opcache.ini')
    assert_same(php, config, keys, text)
    assert config.scanned_files == [] and 'opcache.memory_consumption' not in config.settings
    assert [p.code for p in config.problems] == ['INI_SYNTAX_ERROR']


@pytest.mark.parametrize('text', ['opcache.revalidate_freq=7\x00memory_limit=1G\nextension=sodium\n',
                                  'opcache.revalidate_freq=7\n\x00memory_limit=1G\nextension=sodium\n'])
def test_nul_byte_file_with_php_fpm(tmp_path, text):
    """Issue 9: what ``php-fpm -i`` shows for a conf.d file with a NUL byte is what the engine says."""
    fpm = find_fpm_binary()
    confd = tmp_path / 'conf.d'
    confd.mkdir()
    (tmp_path / 'php.ini').write_text('')
    (confd / '50-nul.ini').write_bytes(text.encode())
    out = subprocess.run([fpm, '-c', str(tmp_path / 'php.ini'), '-i'], env={'PATH': '/usr/bin:/bin', 'PHP_INI_SCAN_DIR': str(confd)},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False).stdout.decode('utf-8', 'replace')
    fpm_memory = re.search(r'^memory_limit => (\S+) =>', out, re.M).group(1)
    config = IniChain(HostFS('/'), version=PHP_VERSION).load(str(tmp_path / 'php.ini'), [str(confd)])
    engine_memory = config.settings['memory_limit'].value if 'memory_limit' in config.settings else '128M'
    assert engine_memory == fpm_memory
    assert ('sodium support => enabled' in out) is any(e['value'] == 'sodium' for e in config.extensions)
    assert config.scanned_files == [str(confd / '50-nul.ini')] and re.search(r'Additional \.ini files parsed => \S*50-nul\.ini', out)
    assert [p.code for p in config.problems] == ['INI_BINARY_CONTENT']


@pytest.mark.parametrize('comment', [';', '#'])
def test_fifty_megabytes_of_comments(php_oracle, tmp_path, comment):
    """Issue 9: 50 MB of comments, then a setting; PHP reads it, and so does the engine."""
    line = comment + ' ' + 'x' * 77 + '\n'
    count = 50 * 1024 * 1024 // len(line)
    text = (line * count + 'opcache.validate_timestamps=0\n').encode()
    php, config, keys = load_both(php_oracle, tmp_path, text, main='opcache.validate_timestamps=1\n', name='99-big.ini')
    assert_same(php, config, keys, '50 MB of %s comments' % comment)
    winner = config.settings['opcache.validate_timestamps']
    assert (winner.value, winner.file, winner.line) == ('0', str(tmp_path / 'conf.d' / '99-big.ini'), count + 1)


def test_file_above_the_read_limit_is_a_finding_not_a_winner(php_oracle, tmp_path):
    """Above the engine's read limit the file's values are unknown: said in the problem, and the
    file is not credited with anything."""
    php, config, keys = load_both(php_oracle, tmp_path, 'opcache.validate_timestamps=0\n' + ';' * 4096 + '\n',
                                  main='opcache.validate_timestamps=1\n', name='99-big.ini')
    assert php['cfg']['opcache.validate_timestamps'] == '0'
    limited = IniChain(HostFS('/'), version=PHP_VERSION, max_bytes=1024).load(str(tmp_path / 'php.ini'), [str(tmp_path / 'conf.d')])
    problems = [(p.code, p.file) for p in limited.problems]
    assert problems == [('INI_FILE_TOO_LARGE', str(tmp_path / 'conf.d' / '99-big.ini'))]
    assert 'values it sets are unknown' in limited.problems[0].message


def test_host_dependent_constants_are_reported(php_oracle, tmp_path):
    php, config, keys = load_both(php_oracle, tmp_path, 'a=PHP_BINARY\nb=PHP_EXTENSION_DIR "/x"\nc=PHP_SAPI\n')
    for key, word in (('a', 'PHP_BINARY'), ('b', 'PHP_EXTENSION_DIR'), ('c', 'PHP_SAPI')):
        assert php['cfg'][key] and word not in php['cfg'][key]          # PHP knows the value...
    notes = [p for p in config.problems if p.code == 'INI_UNRESOLVED_CONSTANT']
    assert [p.line for p in notes] == [1, 2, 3]                        # ...and the engine says it does not
    assert all('does not know' in p.message for p in notes)


@pytest.mark.parametrize('text', ['k[]=1\nb=${k}\n', '[PATH=/x]\na=1\n[opcache]\n', 'k[]=1\n'])
def test_variable_naming_an_array(php_oracle, tmp_path, text):
    """``${name}`` naming an array: PHP does not start (it runs out of memory); the engine reports
    the value as unknown instead of inventing one."""
    main = text if '${' in text else text
    scan = '' if '${' in text else 'b=${%s}\n' % ('/x' if 'PATH' in text else 'k')
    root = str(tmp_path)
    confd = os.path.join(root, 'conf.d')
    os.makedirs(confd)
    with open(os.path.join(root, 'php.ini'), 'w') as handle:
        handle.write(main)
    with open(os.path.join(confd, '10.ini'), 'w') as handle:
        handle.write(scan)
    with pytest.raises(OracleError):
        php_oracle.chain(os.path.join(root, 'php.ini'), confd, ['b'], {})
    config = IniChain(HostFS('/'), version=PHP_VERSION).load(os.path.join(root, 'php.ini'), [confd])
    unknown = [p for p in config.problems if p.code == 'INI_UNMODELLED']
    assert len(unknown) == 1 and 'unknown' in unknown[0].message


ACROSS_FILES = [
    ('[PATH=/x]\na=1\n', '/x[]=5\n/x[q]=6\nb=${a}\n'),           # key[] adds to the section's array
    ('[PATH=/x]\na=1\n', '/x=plain\n[PATH=/x]\nb=2\n'),          # a plain value replaces it; the next section keeps out
    ('/x=plain\n', '[PATH=/x]\na=1\nb=2\n'),                      # the key holds a value: entries stay top-level
    ('k[]=1\n', '[PATH=k]\na=2\n'),                               # the key holds key[] entries: the section adds to them
    ('[HOST=Example.org]\na=1\n', '[host=EXAMPLE.ORG]\nb=2\n'),    # the same host key, case-insensitive
]


@pytest.mark.parametrize('main, text', ACROSS_FILES, ids=[repr(c) for c in ACROSS_FILES])
def test_section_keys_across_files(php_oracle, tmp_path, main, text):
    php, config, keys = load_both(php_oracle, tmp_path, text, main=main)
    assert_same(php, config, keys, (main, text))


LAST_LINE_ENDS = ['', '\n', '\r\n', '\r', ' \t', ' \t\n', '\t\r']
LAST_LINES = [(form, end) for form in FIXED_LINES for end in LAST_LINE_ENDS]


@pytest.mark.parametrize('form, end', LAST_LINES, ids=['%r+%r' % c for c in LAST_LINES])
def test_every_line_form_as_the_last_line(php_oracle, tmp_path, form, end):
    """Every fixed line form of the differential generator as the last line of a file, with and
    without a line end, after trailing blanks; a file with a BOM and a first line before it."""
    text = '\ufeff' + 't.b=1\r\n' + form + end if len(form) % 3 == 0 else 't.b=1\n' + form + end
    php, config, keys = load_both(php_oracle, tmp_path, text)
    assert_same(php, config, keys, text)
