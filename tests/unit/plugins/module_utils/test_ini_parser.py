# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""ini_parser against a table of cases whose expected results were taken from real PHP 8.2.36
(each text loaded at start-up from a scan directory: get_cfg_var() for the values, and
php_ini_scanned_files() for whether PHP counts the file as parsed). No php is needed here; the
oracle suite (tests/oracle) re-checks the same rules against php on generated input."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import php_constants
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import (
    ARRAY,
    ENTRY_ARRAY,
    ENTRY_EXTENSION,
    ENTRY_VALUE,
    ENTRY_ZEND_EXTENSION,
    IniParser,
    int_operand,
    parse_ini_text,
    section_hash_key,
)

ENV = {'MEM': '256'}
CONSTANTS = php_constants('8.2.36')


def _parse(text):
    return parse_ini_text(text, ENV.get, CONSTANTS, var_fallback=False)


def _top_level(parsed):
    """What lands in PHP's configuration hash: plain entries outside [PATH=]/[HOST=], last wins."""
    values = {}
    for entry in parsed.entries:
        if entry.section is None and entry.kind == ENTRY_VALUE:
            values[entry.key] = entry.value
        elif entry.section is None and entry.kind == ENTRY_ARRAY:
            values.setdefault(entry.key, [])
            if not isinstance(values[entry.key], list):
                values[entry.key] = []
            values[entry.key].append((entry.offset, entry.value))
    return values


# (text, values PHP ends with, PHP lists the file as parsed)
CASES = [
    ('a=On  \n', {'a': '1'}, True),
    ('a = "x" "y"\nb=off ; c\n', {'a': 'xy', 'b': ''}, True),
    ('a=NONE\nb=yEs \t\nc=nullx\n', {'a': '', 'b': '1', 'c': 'nullx'}, True),
    ('a="on"\nb=\'off\'\n', {'a': 'on', 'b': 'off'}, True),
    ('a=E_ALL & ~E_NOTICE\n', {'a': '32759'}, True),
    ('a=PHP_VERSION_ID\nb=ZEND_THREAD_SAFE\nc=UPLOAD_ERR_EXTENSION\n', {'a': '80236', 'b': '', 'c': '8'}, True),
    ('a=~0\nb=!1\nc=(1|2)&~1\n', {'a': '-1', 'b': '0', 'c': '2'}, True),
    ('a=1\r\nb=2\rc=3', {'a': '1', 'b': '2', 'c': '3'}, True),
    ('\ufeffa=1\n', {'a': '1'}, True),
    ('a=${MEM}x\nb=${a}\n', {'a': '256x', 'b': '256x'}, True),
    ('a=x\nb=${a}${c:-fb}\n', {'a': 'x', 'b': 'x'}, True),          # no :- fallback before 8.3
    ('a=x\n#b=2\n', {'a': 'x', '#b': '2'}, True),                    # '#' starts no comment
    ('a=1 ; x\nb = 2 # not comment\n', {'a': '1', 'b': '2 # not comment'}, True),
    ('a="C:\\php\\"\nb=2', {'a': 'C:\\php\\', 'b': '2'}, True),
    ("a='x\ny'\nb=2", {'a': 'x\ny', 'b': '2'}, True),
    ('a=é☃\nb=  spaced   value  \n', {'a': 'é☃', 'b': 'spaced   value'}, True),
    ('a[]=1\na[k]=2\n', {'a': [(None, '1'), ('k', '2')]}, True),
    ('a=foo=bar\nb=1', {'a': 'foo'}, False),
    ('a=(1\nb=1', {}, False),
    ('= x\nb=1', {}, False),
    ('a="abc\nb=1', {}, False),
    ('a=1 2 "x\nb=1', {}, False),
    ('[PATH=/x\nb=1', {}, False),
    ('a=${}\nb=1', {}, False),
    ('a=x)\nb=1', {'a': 'x'}, False),
    ('true = 1\nb=1', {}, False),
    # regressions: each of these disagreed with PHP before the engine was fixed
    ('a=1\n[PATH=/x]\nb=2\n[opcache]\nc=3\n', {'a': '1'}, True),     # [opcache] does not end [PATH=]
    ('a=1\n[PATH]\nb=2\n', {'a': '1', 'b': '2'}, True),              # bare [PATH] is no condition
    ('["PATH=/x"]\nb=2\n', {}, True),                                # quotes in a section name
    ("a=y'\nb=2", {'a': 'y'}, True),                                 # unmatched ' = end of input
    ("a='x\\' y'\n", {'a': 'x\\ y'}, True),
    ("a='\nb=2", {}, False),
    ("a=''0\nb=1", {'a': '', 'b': '1'}, True),                       # '' ends the value
    ("a=''\"\"\nb=1", {'a': ''}, False),
    ("a='x' 'y'\nb=x'' y\n", {'a': 'x y', 'b': 'x'}, True),
    ("a=on''\nb=1", {'a': '1', 'b': '1'}, True),
    ('a=x on\nb=1', {'a': 'x '}, False),                             # a boolean word mid-value
    ('a="q"on\nb=1', {'a': 'q'}, False),
    ('a=1|on\nb=1', {}, False),
    ('a=99999999999999999999|0\nb=-5 & 255\n', {'a': '-1', 'b': '251'}, True),   # 32-bit int operands
    ('a=4294967297|0\nb=2147483648|0\nc=~2147483647\n', {'a': '1', 'b': '-2147483648', 'c': '-2147483648'}, True),
    ('a=~4294967296\nb=!4294967296\nc=-2147483649&-1\n', {'a': '-1', 'b': '1', 'c': '2147483647'}, True),
]


@pytest.mark.parametrize('text, expected, parsed_ok', CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_php_confirmed_cases(text, expected, parsed_ok):
    parsed = _parse(text)
    assert _top_level(parsed) == expected
    assert parsed.ok is parsed_ok


def test_conditional_sections_keep_their_entries():
    parsed = _parse('[PATH=/var/www]\nopcache.enable=0\n[opcache]\nopcache.jit=off\n')
    assert [(e.key, e.value, e.section) for e in parsed.entries] == [
        ('opcache.enable', '0', 'PATH=/var/www'), ('opcache.jit', '', 'PATH=/var/www')]


def test_extension_lines_and_special_sections():
    parsed = _parse('extension=a.so\nZend_Extension = opcache\n[PATH]\nextension=b.so\n[PATH=/x]\n[other]\nextension=c.so\n')
    kinds = [(e.kind, e.value, e.section) for e in parsed.entries]
    assert kinds == [(ENTRY_EXTENSION, 'a.so', None), (ENTRY_ZEND_EXTENSION, 'opcache', None),
                     (ENTRY_VALUE, 'b.so', None),          # in a special section: a plain directive
                     (ENTRY_EXTENSION, 'c.so', None)]      # [other] is not special: loaded


def test_lines_are_counted_for_every_newline_style():
    parsed = _parse('a=1\r\n\rb=2\n\nc=3')
    assert [(e.key, e.line) for e in parsed.entries] == [('a', 1), ('b', 3), ('c', 5)]


def test_syntax_error_reports_its_line():
    parsed = _parse('a=1\nb=2\nc=(3\nd=4\n')
    assert [e.key for e in parsed.entries] == ['a', 'b']
    assert parsed.errors[0].line == 3


def test_var_fallback_from_83():
    parsed = parse_ini_text('b=${NOPE:-fb}\n', lambda name: None, CONSTANTS, var_fallback=True)
    assert parsed.entries[0].value == 'fb'


def test_int_operand_is_a_c_int():
    assert int_operand('2147483647') == 2147483647
    assert int_operand('2147483648') == -2147483648
    assert int_operand('99999999999999999999') == -1
    assert int_operand(' 12abc') == 12
    assert int_operand('abc') == 0


def _whole(text, version83=False, lookup=None, configuration=None):
    """Everything the parser returns: entries, errors and notes, in order."""
    parser = IniParser(lookup or ENV.get, CONSTANTS, version83, configuration)
    parsed = parser.parse(text)
    return ([(e.key, e.value, e.line, e.section, e.kind, e.offset) for e in parsed.entries],
            [(e.line, e.message) for e in parsed.errors],
            [(n.kind, n.line) for n in parsed.notes])


V = ENTRY_VALUE
A = ENTRY_ARRAY
EOF_EXPECTING = "syntax error, unexpected end of file, expecting '%s'"

# The last line of a file without a final newline (PHP 8.2, as a conf.d file): a comment there runs
# into the NUL that ends PHP's buffer, which is the end of input in the middle of a statement only
# when the value has not started yet.
END_OF_FILE_FORMS = [
    ('x = ; c', [], [(1, 'syntax error, unexpected end of file')]),
    ('x =\t; c', [], [(1, 'syntax error, unexpected end of file')]),
    ('a=1\nx = ; c', [('a', '1', 1, None, V, None)], [(2, 'syntax error, unexpected end of file')]),
    ('x = ; c\n', [('x', '', 1, None, V, None)], []),
    ('x = 1 ; c', [('x', '1', 1, None, V, None)], []),
    ('x = "a" ; c', [('x', 'a', 1, None, V, None)], []),
    ('x =', [('x', '', 1, None, V, None)], []),
    ('x = # c', [('x', '# c', 1, None, V, None)], []),
    ('x', [], []),
    ('x ; c', [], []),
    ('[sec] ; c', [], []),
    ('x=1\n; c', [('x', '1', 1, None, V, None)], []),
    ('x=1 \t', [('x', '1 \t', 1, None, V, None)], []),          # blanks at the very end are kept
    ('x=1 \t\n', [('x', '1', 1, None, V, None)], []),
    ('x=on ', [('x', '1', 1, None, V, None)], []),
    ("x='a", [], [(1, 'syntax error, unexpected end of file')]),
    ('x="a', [], [(1, 'syntax error, unexpected end of file')]),
    ('x=a "b', [], [(1, 'syntax error, unexpected end of file')]),
    ("x=a 'b", [('x', 'a ', 1, None, V, None)], []),             # a quote that never closes ends the input
]


@pytest.mark.parametrize('text, entries, errors', END_OF_FILE_FORMS, ids=[repr(c[0]) for c in END_OF_FILE_FORMS])
def test_end_of_file_forms(text, entries, errors):
    assert _whole(text)[:2] == (entries, errors)


# Every error path of the grammar: what is applied before the error, and the error's line and text.
ERROR_PATHS = [
    ('a=1\nk[', [('a', '1', 1, None, V, None)], [(2, EOF_EXPECTING % ']')]),
    ('k[x', [], [(1, EOF_EXPECTING % ']')]),
    ('k[x\nb=1', [], [(1, EOF_EXPECTING % ']')]),
    ('k[x]', [], [(1, EOF_EXPECTING % '=')]),
    ('k[x]b=1', [], [(1, "syntax error, unexpected TC_LABEL, expecting '='")]),
    ('a=${', [], [(1, 'syntax error, unexpected end of file, expecting TC_VARNAME')]),
    ('a=1\nb=${x\nc=1', [('a', '1', 1, None, V, None)], [(2, EOF_EXPECTING % '}')]),
    ('a=${}', [], [(1, "syntax error, unexpected '}', expecting TC_VARNAME")]),
    ('a="${x"', [], [(1, EOF_EXPECTING % '}')]),
    ('a=1\n[x', [('a', '1', 1, None, V, None)], [(2, EOF_EXPECTING % ']')]),
    ('[x\nb=1', [], [(1, EOF_EXPECTING % ']')]),
    ('a=1\n[x;y]\nb=2\n', [('a', '1', 1, None, V, None)], [(2, EOF_EXPECTING % ']')]),
    ('[x"y"z', [], [(1, EOF_EXPECTING % ']')]),
    ('a=(1\nb=1', [], [(1, 'syntax error, unexpected END_OF_LINE')]),
    ('a=1|\nb=1', [], [(1, 'syntax error, unexpected END_OF_LINE')]),
    ('a=~\n', [], [(1, 'syntax error, unexpected END_OF_LINE')]),
    ('a=x)\nb=1', [('a', 'x', 1, None, V, None)], [(1, "syntax error, unexpected ')'")]),
    ('a=1\n= x', [('a', '1', 1, None, V, None)], [(2, "syntax error, unexpected '='")]),
    ('true = 1', [], [(1, 'syntax error, unexpected BOOL_TRUE')]),
    ('a=on off', [('a', '1', 1, None, V, None)], [(1, 'syntax error, unexpected BOOL_FALSE')]),
    ('a=1\nnull\n', [('a', '1', 1, None, V, None)], [(2, 'syntax error, unexpected NULL_NULL')]),
    ('a=1\nnull', [('a', '1', 1, None, V, None)], []),                 # a name running into the end
    ('test==\nb=1', [('test', '', 1, None, V, None)], [(1, "syntax error, unexpected '='")]),
    ('test= =\nb=1', [('test', '', 1, None, V, None)], [(1, "syntax error, unexpected '='")]),
    ('a=foo=bar\nb=1', [('a', 'foo', 1, None, V, None)], [(1, "syntax error, unexpected '='")]),
    ('a="x"y"\nb=1', [], [(2, 'syntax error, unexpected end of file')]),
    ('x ( y', [], [(1, "syntax error, unexpected '('")]),
]


@pytest.mark.parametrize('text, entries, errors', ERROR_PATHS, ids=[repr(c[0]) for c in ERROR_PATHS])
def test_error_paths(text, entries, errors):
    assert _whole(text)[:2] == (entries, errors)


def test_unterminated_offset_and_variable_are_errors_in_every_version():
    for version83 in (False, True):
        for text in ('k[', 'k[a', 'a=${', 'a=${b', 'a="${b', 'k[${b]=1'):
            entries, errors, dummy = _whole(text, version83)
            assert entries == [] and len(errors) == 1, (text, version83)


NUL_CASES = [
    # a NUL ends a value like a line break; PHP reads on
    ('a=1\nb=2\x00c=3\n', [('a', '1', 1, None, V, None), ('b', '2', 2, None, V, None), ('c', '3', 2, None, V, None)]),
    ('opcache.revalidate_freq=7\x00\nmemory_limit=1G\nextension=sodium\n',
     [('opcache.revalidate_freq', '7', 1, None, V, None), ('memory_limit', '1G', 2, None, V, None),
      ('extension', 'sodium', 3, None, ENTRY_EXTENSION, None)]),
    # PHP 8.2: in a name it is a name character
    ('a=1\n\x00b=2\n', [('a', '1', 1, None, V, None), ('\x00b', '2', 2, None, V, None)]),
    # inside quotes and comments it is kept / skipped like any character
    ('a="x\x00y"\nb=\'p\x00q\'\n; c\x00c\nc=3',
     [('a', 'x\x00y', 1, None, V, None), ('b', 'p\x00q', 2, None, V, None), ('c', '3', 4, None, V, None)]),
]


@pytest.mark.parametrize('text, entries', NUL_CASES, ids=[repr(c[0])[:40] for c in NUL_CASES])
def test_nul_bytes(text, entries):
    assert _whole(text)[:2] == (entries, [])


def test_array_offsets_are_values():
    entries, errors, dummy = _whole('k[" x "]=1\nk[${MEM}]=2\nk[\'q\']=3\nk[]=4\nk[E_ALL]=5\nk[ E_ALL ]=8\nk[${NOPE}]=6\nk[a b]=7\n')
    assert errors == []
    assert [(e[0], e[5], e[1]) for e in entries] == [
        ('k', ' x ', '1'), ('k', '256', '2'), ('k', 'q', '3'), ('k', None, '4'), ('k', '32767', '5'), ('k', 'E_ALL ', '8'), ('k', None, '6'),
        ('k', 'a b', '7')]


def test_version_switch_var_fallback():
    # PHP 8.2: ':-' is part of the name (never set); a '"' in the name is an error
    expected = ([('a', '', 1, None, V, None), ('b', '', 2, None, V, None)], [], [('unresolved', 1), ('unresolved', 2)])
    assert _whole('a=${NOPE:-fb}\nb=${MEM:-1}\n') == expected
    assert _whole('b=${x:-"y"}\nc=2')[:2] == ([], [(1, EOF_EXPECTING % '}')])
    assert _whole('a=${u:-${v:-w}}\nc=2')[:2] == ([], [(1, EOF_EXPECTING % '}')])
    # PHP 8.3+: the fallback is a value (constants expanded, quotes, nested ${})
    assert _whole('a=${NOPE:-fb}\nb=${MEM:-1}\nc=${NOPE:-"q" E_ALL}\nd=${uu:-${vv:-w}}\ne=${NOPE:-}\n', True)[:2] == (
        [('a', 'fb', 1, None, V, None), ('b', '256', 2, None, V, None), ('c', 'q32767', 3, None, V, None),
         ('d', 'w', 4, None, V, None), ('e', '', 5, None, V, None)], [])
    # php-src 8.3's scanner drops a one-character name right before ':-' (to confirm on the 8.4 lab host)
    assert _whole('a=${x:-y}\n', True)[1] == [(1, 'syntax error, unexpected TC_FALLBACK, expecting TC_VARNAME')]


def test_version_switch_label_characters():
    # PHP 8.2 takes ']' and NUL as name characters; PHP 8.3's LABEL_CHAR does not
    assert _whole('a]b=1\n')[:2] == ([('a]b', '1', 1, None, V, None)], [])
    assert _whole('a]b=1\n', True)[:2] == ([], [(1, "syntax error, unexpected ']'")])


def test_bom_only_when_something_follows():
    assert _whole('\ufeffa=1')[:2] == ([('a', '1', 1, None, V, None)], [])
    assert _whole('\ufeff')[:2] == ([], [])
    assert _whole('\ufeff=1')[:2] == ([], [(1, "syntax error, unexpected '='")])


def test_line_numbers_follow_every_line_end():
    text = 'a=1\r\n\rb="x\ny"\nc=\'p\r\nq\'\n; c\n[s]\n\nd=4'
    assert [(e[0], e[2]) for e in _whole(text)[0]] == [('a', 1), ('b', 3), ('c', 5), ('d', 10)]


def test_special_sections_and_their_keys():
    entries, errors, notes = _whole('[PATH=/x/]\na=1\n[HOST=Example.ORG]\nb=2\n[PATH]\nc=3\n')
    assert entries == [('a', '1', 2, 'PATH=/x/', V, None), ('b', '2', 4, 'HOST=Example.ORG', V, None),
                       ('c', '3', 6, 'HOST=Example.ORG', V, None)]
    parsed = parse_ini_text('[PATH=/x/]\n[HOST=Example.ORG]\n[path= /y]\n[HOST=]\n[PATH]\n')
    assert parsed.sections == [('/x', 'PATH=/x/', 1), ('example.org', 'HOST=Example.ORG', 2), ('/y', 'path= /y', 3), ('', 'HOST=', 4)]
    assert section_hash_key('PATH') is None and section_hash_key('opcache') is None and section_hash_key('PATH//') == ''


def test_section_key_already_a_value_switches_nothing():
    entries, errors, notes = _whole('x=5\n[PATH=x]\nx=1\ny=2\n')
    assert entries == [('x', '5', 1, None, V, None), ('x', '1', 3, None, V, None), ('y', '2', 4, None, V, None)]
    assert notes == [('section', 2)]
    entries, errors, notes = _whole('[PATH=/v]\na=1\n', configuration={'/v': 'set'}.get)
    assert entries == [('a', '1', 2, None, V, None)] and notes == [('section', 1)]


def test_variable_naming_an_array_is_unknown():
    entries, errors, notes = _whole('k[]=1\nb=${k}\n')
    assert entries == [('k', '1', 1, None, A, None), ('b', '', 2, None, V, None)]
    assert notes == [('unmodelled', 2)]
    assert _whole('b=${arr}\n', lookup={'arr': ARRAY}.get)[2] == [('unmodelled', 1)]


def test_host_dependent_constants_are_reported():
    entries, errors, notes = _whole('a=PHP_BINARY\nb=PHP_EXTENSION_DIR "/x"\nc=M_PI\n')
    assert [e[1] for e in entries] == ['PHP_BINARY', 'PHP_EXTENSION_DIR/x', 'M_PI']
    assert notes == [('constant', 1), ('constant', 2)]


@pytest.mark.parametrize('text, value', [
    ('a="x\\"y"\n', 'x"y'), ('a="p\\\\q"\n', 'p\\q'), ('a="r\\$s"\n', 'r$s'), ('a="t\\nu"\n', 't\\nu'),
    ('a="\\\\\\"x"\n', '\\"x'), ('a="\\a\\"\n', '\\a\\'), ('a="x\\${MEM}"\n', 'x${MEM}'), ('a="x$y"\n', 'x$y'),
    ('a="x\\\n"\n', 'x\\\n'), ('a="x\\\\"\n', 'x\\'),
])
def test_double_quote_escapes(text, value):
    assert _whole(text)[:2] == ([('a', value, 1, None, V, None)], [])
