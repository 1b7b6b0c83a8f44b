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
    ENTRY_ARRAY,
    ENTRY_EXTENSION,
    ENTRY_VALUE,
    ENTRY_ZEND_EXTENSION,
    int_operand,
    parse_ini_text,
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
