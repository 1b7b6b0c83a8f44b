# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse one ini text the way PHP's ini scanner and parser do (INI_SCANNER_NORMAL).

The rules mirror Zend/zend_ini_scanner.l and zend_ini_parser.y as observed on real PHP:

* unquoted ``on/yes/true`` become ``"1"``, ``off/no/none/false/null`` become ``""`` (for every
  directive, string ones included), matched case-insensitively and only as whole tokens;
* double-quoted strings take ``\\"``, ``\\\\`` and ``\\$`` escapes (a ``\\"`` right before the end of the
  line is a literal backslash, for Windows paths), single-quoted strings are raw, and whitespace
  right before an opening or after a closing double quote is dropped;
* ``${name}`` is an earlier directive, else an environment variable, else empty;
* bare words shaped like constants are replaced by the constant's value when PHP knows it;
* ``| & ^ ~ !`` and parentheses are evaluated on 32-bit C ints (atoi);
* ``[PATH=...]``/``[HOST=...]`` sections hold conditional entries, ``extension``/``zend_extension``
  accumulate, ``key[]``/``key[k]`` build arrays;
* PHP stops at the first syntax error but keeps what it parsed before, including the statement
  whose value was already complete when the unexpected token came.
"""

from __future__ import annotations

import re

ENTRY_VALUE = 'value'
ENTRY_ARRAY = 'array'
ENTRY_EXTENSION = 'extension'
ENTRY_ZEND_EXTENSION = 'zend_extension'

BOOL_WORDS = {'true': '1', 'on': '1', 'yes': '1', 'false': '', 'off': '', 'no': '', 'none': '', 'null': ''}

_LABEL_RE = re.compile(r'[^=\n\r\t;&|^$~(){}!"\[\x00]+')
_BOOL_RE = re.compile(r'(true|on|yes|false|off|none|null|no)[ \t]*', re.IGNORECASE)
_CONSTANT_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
_WS_RE = re.compile(r'[ \t]+')
_SECTION_QUOTES_RE = re.compile(r'"([^"]*)"|\'([^\']*)\'')
# Unquoted value characters; a '$' not opening '${' takes the next character with it.
_VALUE_RE = re.compile(r'(?:[^$= \t\n\r;&|^~()!"\'\x00]|\$[^{\x00])+')
_OPERATORS = '&|^~()!'
_END_OF_INPUT = 'end of input'
_LONG_MAX = 2 ** 63 - 1
_LONG_MIN = -2 ** 63


class IniEntry(object):
    """One assignment found in one file."""

    __slots__ = ('key', 'value', 'line', 'section', 'kind', 'offset')

    def __init__(self, key, value, line, section=None, kind=ENTRY_VALUE, offset=None):
        self.key = key
        self.value = value
        self.line = line
        self.section = section
        self.kind = kind
        self.offset = offset

    def __repr__(self):
        return 'IniEntry(%r, %r, line=%d, section=%r, kind=%s)' % (self.key, self.value, self.line, self.section, self.kind)


class IniProblem(object):
    """A syntax error or a noteworthy construct, with the line it is on."""

    __slots__ = ('line', 'message', 'kind')

    def __init__(self, line, message, kind='syntax'):
        self.line = line
        self.message = message
        self.kind = kind

    def __repr__(self):
        return 'IniProblem(line=%d, %r)' % (self.line, self.message)


class ParsedIni(object):
    """What PHP takes from one file: entries in order, the first syntax error (if any) and notes."""

    def __init__(self):
        self.entries = []
        self.errors = []
        self.notes = []

    @property
    def ok(self):
        return not self.errors


class _SyntaxError(Exception):
    def __init__(self, line, message):
        super(_SyntaxError, self).__init__(message)
        self.line = line
        self.message = message


def strtol(text):
    """C strtol(text, NULL, 10) clamped to a 64-bit long."""
    match = re.match(r'[ \t\n\r\f\v]*([+-]?)([0-9]+)', text)
    if not match:
        return 0
    number = int(match.group(2))
    if match.group(1) == '-':
        number = -number
    return max(_LONG_MIN, min(_LONG_MAX, number))


def int_operand(text):
    """An operand of ``| & ^ ~ !`` as PHP's ini parser takes it: ``atoi()``, i.e. strtol() cut to a
    32-bit C int (get_int_val in zend_ini_parser.y); results are ints too."""
    number = strtol(text) & 0xFFFFFFFF
    return number - 2 ** 32 if number >= 2 ** 31 else number


def _unescape_double_quoted(text):
    out = []
    i = 0
    length = len(text)
    while i < length:
        char = text[i]
        if char == '\\' and i + 1 < length and text[i + 1] in '"\\$':
            out.append(text[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return ''.join(out)


class IniParser(object):
    """Parse ini text. ``lookup(name)`` resolves ``${name}`` from the directives parsed so far in
    earlier files and the environment (None when unknown); ``constants`` maps constant names to
    their string values; ``var_fallback`` enables PHP 8.3's ``${name:-fallback}``."""

    def __init__(self, lookup=None, constants=None, var_fallback=True):
        self._outer_lookup = lookup
        self._constants = constants or {}
        self._var_fallback = var_fallback

    # -- public ---------------------------------------------------------------------------------
    def parse(self, text):
        result = ParsedIni()
        self._text = text[1:] if text.startswith('\ufeff') else text
        self._pos = 0
        self._line = 1
        self._local = {}
        self._section = None    # PHP's active_ini_hash: the [PATH=]/[HOST=] section entries go to
        self._special = False   # PHP's is_special_section: extension lines are not loads
        self._result = result
        self._value_end = None
        try:
            self._parse_statements()
        except _SyntaxError as error:
            result.errors.append(IniProblem(error.line, error.message))
        return result

    # -- low level --------------------------------------------------------------------------------
    def _peek(self, offset=0):
        index = self._pos + offset
        return self._text[index] if index < len(self._text) else ''

    def _advance(self, count):
        chunk = self._text[self._pos:self._pos + count]
        self._line += chunk.count('\n') + chunk.count('\r') - chunk.count('\r\n')
        self._pos += count
        return chunk

    def _at_eol(self):
        """True at end of text, a newline or a comment (after optional blanks); consumes them."""
        match = re.compile(r'[ \t]*(;[^\r\n]*)?(\r\n|\n|\r|\Z)').match(self._text, self._pos)
        if match:
            self._advance(match.end() - self._pos)
            return True
        return False

    def _describe_next(self):
        char = self._peek()
        if char == '':
            return 'end of file'
        if char in '\r\n':
            return 'END_OF_LINE'
        return repr(char)

    def _fail(self, what=None):
        raise _SyntaxError(self._line, 'syntax error, unexpected %s' % (what or self._describe_next()))

    # -- statements -----------------------------------------------------------------------------
    def _parse_statements(self):
        text = self._text
        while self._pos < len(text):
            ws = _WS_RE.match(text, self._pos)
            if ws:
                self._advance(ws.end() - self._pos)
                continue
            char = text[self._pos]
            if char in '\r\n':
                self._advance(2 if text.startswith('\r\n', self._pos) else 1)
                continue
            if char == ';':
                end = re.compile(r'[^\r\n]*').match(text, self._pos).end()
                self._advance(end - self._pos)
                continue
            if char == '[':
                self._parse_section()
                continue
            self._parse_assignment()

    def _parse_section(self):
        self._advance(1)
        start = self._pos
        text = self._text
        while True:
            char = self._peek()
            if char == ']':
                break
            if char in ('', '\n', '\r'):
                raise _SyntaxError(self._line, "syntax error, unexpected end of file, expecting ']'")
            self._advance(1)
        # Quotes in a section name are syntax, not part of the name: ["PATH=/x"] is [PATH=/x].
        name = _SECTION_QUOTES_RE.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text[start:self._pos])
        self._advance(1)
        ws = re.compile(r'[ \t]*(\r\n|\n|\r)?').match(text, self._pos)
        self._advance(ws.end() - self._pos)
        # php_ini_parser_cb: a name starting with PATH/HOST (any case) is special; it switches the
        # target of later entries only when something follows the prefix (a bare [PATH] does not).
        # Any other section leaves the target alone, so entries after [PATH=/x] then [opcache] are
        # still conditional on /x; only the next file starts over.
        upper = name.upper()
        self._special = upper.startswith('PATH') or upper.startswith('HOST')
        if self._special and len(name) > 4:
            self._section = name

    def _parse_assignment(self):
        line = self._line
        text = self._text
        label = _LABEL_RE.match(text, self._pos)
        boolean = _BOOL_RE.match(text, self._pos)
        if label is None or (boolean and boolean.end() >= label.end()):
            if boolean:
                self._fail('BOOL_TRUE' if BOOL_WORDS[boolean.group(1).lower()] == '1' else 'BOOL_FALSE')
            self._fail()
        key = label.group(0).rstrip(' ')
        self._advance(label.end() - self._pos)
        offset = None
        is_array = False
        if self._peek() == '[':
            is_array = True
            self._advance(1)
            ws = _WS_RE.match(text, self._pos)
            if ws:
                self._advance(ws.end() - self._pos)
            start = self._pos
            while self._peek() not in (']', '', '\n', '\r'):
                self._advance(1)
            if self._peek() != ']':
                raise _SyntaxError(self._line, "syntax error, unexpected end of file, expecting ']'")
            offset = text[start:self._pos]
            self._advance(1)
        ws = _WS_RE.match(text, self._pos)
        if ws:
            self._advance(ws.end() - self._pos)
        if self._peek() != '=':
            if is_array:
                self._fail()
            # A bare label is a statement PHP ignores.
            return
        self._advance(1)
        ws = _WS_RE.match(text, self._pos)
        if ws:
            self._advance(ws.end() - self._pos)
        value, complete = self._parse_value()
        self._store(key, value, line, is_array, offset)
        if self._value_end == _END_OF_INPUT:
            # The scanner hit the end of the text looking for a closing quote: the parser sees
            # the end of input, the value is applied and the file counts as parsed.
            self._advance(len(text) - self._pos)
        elif not complete:
            self._fail()

    def _store(self, key, value, line, is_array, offset):
        lowered = key.lower()
        if is_array:
            entry = IniEntry(key, value, line, self._section, ENTRY_ARRAY, offset if offset else None)
        elif not self._special and lowered == 'extension':
            entry = IniEntry(key, value, line, None, ENTRY_EXTENSION)
        elif not self._special and lowered == 'zend_extension':
            entry = IniEntry(key, value, line, None, ENTRY_ZEND_EXTENSION)
        else:
            entry = IniEntry(key, value, line, self._section)
            if self._section is None:
                self._local[key] = value
        self._result.entries.append(entry)

    # -- values ---------------------------------------------------------------------------------
    def _parse_value(self):
        """Return (value, complete). complete is False when an unexpected token follows a value that
        PHP's parser had already reduced: PHP applies that statement, then stops."""
        self._value_end = None
        if self._at_eol():
            return '', True
        if self._text.startswith("''", self._pos):
            # '' is no raw string; its first quote ends the value and the line is read on from
            # the second quote as a new statement.
            self._advance(1)
            return '', True
        boolean = _BOOL_RE.match(self._text, self._pos)
        if boolean:
            other = _VALUE_RE.match(self._text, self._pos)
            if other is None or boolean.end() >= other.end():
                self._advance(boolean.end() - self._pos)
                value = BOOL_WORDS[boolean.group(1).lower()]
                return value, self._value_ends()
        value = self._parse_expr()
        return value, self._value_ends()

    def _value_ends(self):
        """After a complete value: True when the statement ends here. Besides an end of line or a
        comment, a quote that opens no raw string ends it too (the scanner's catch-all rule):
        ``''`` ends the value and the line is read on from the second quote as a new statement;
        a quote with no closing quote anywhere makes the scanner hit the end of the text, which
        the parser takes as the end of input (_END_OF_INPUT)."""
        if self._at_eol():
            return True
        if self._peek() == "'":
            end = self._text.find("'", self._pos + 1)
            if end < 0:
                self._value_end = _END_OF_INPUT
                return True
            if end == self._pos + 1:
                self._advance(1)
                return True
        return False

    def _skip_blanks(self):
        ws = _WS_RE.match(self._text, self._pos)
        if ws:
            self._advance(ws.end() - self._pos)

    def _parse_expr(self):
        left = self._parse_unary()
        while True:
            self._skip_blanks()
            char = self._peek()
            if char in ('|', '&', '^'):
                self._advance(1)
                self._skip_blanks()
                right = self._parse_unary()
                a, b = int_operand(left), int_operand(right)
                if char == '|':
                    left = str(a | b)
                elif char == '&':
                    left = str(a & b)
                else:
                    left = str(a ^ b)
            else:
                return left

    def _parse_unary(self):
        self._skip_blanks()
        char = self._peek()
        if char == '~':
            self._advance(1)
            return str(~int_operand(self._parse_unary()))
        if char == '!':
            self._advance(1)
            return '0' if int_operand(self._parse_unary()) else '1'
        if char == '(':
            self._advance(1)
            value = self._parse_expr()
            self._skip_blanks()
            if self._peek() != ')':
                self._fail()
            self._advance(1)
            return value
        return self._parse_string_list()

    def _parse_string_list(self):
        parts = []
        text = self._text
        while True:
            pos = self._pos
            char = self._peek()
            if char in (' ', '\t'):
                ws = _WS_RE.match(text, pos)
                after = text[ws.end():ws.end() + 1]
                # Blanks before an end of line or an operator are not part of the value; at the
                # very end of the text (no newline) PHP keeps them.
                if after in ('\n', '\r', ';') or (after and after in _OPERATORS):
                    break
                if after == '"':
                    self._advance(ws.end() - pos)
                    continue
                parts.append(self._advance(ws.end() - pos))
                continue
            if char == '"':
                parts.append(self._parse_double_quoted())
                continue
            if char == "'":
                end = text.find("'", pos + 1)
                if parts and end in (-1, pos + 1):
                    break       # a quote that opens no raw string ends the value (_value_ends)
                if end < 0:
                    self._advance(len(text) - pos)
                    self._fail('end of file')
                if end == pos + 1:
                    self._fail()
                parts.append(self._advance(end + 1 - pos)[1:-1])
                continue
            if text.startswith('${', pos):
                parts.append(self._parse_var_ref())
                continue
            match = _VALUE_RE.match(text, pos)
            boolean = _BOOL_RE.match(text, pos)
            if boolean and (match is None or boolean.end() >= match.end()):
                # The scanner makes a boolean token of a whole on/off/... word wherever it is; in
                # the middle of a value it is unexpected: what came before is applied, then PHP
                # stops (as operand of an operator nothing is applied).
                break
            if match:
                word = self._advance(match.end() - pos)
                if _CONSTANT_RE.match(word) and word in self._constants:
                    word = self._constants[word]
                elif _CONSTANT_RE.match(word) and (word.startswith('E_') or word.startswith('PHP_')):
                    self._result.notes.append(IniProblem(self._line, 'constant-like word %s kept literally' % word, 'constant'))
                parts.append(word)
                continue
            break
        if not parts:
            self._fail()
        return ''.join(parts)

    def _parse_double_quoted(self):
        text = self._text
        self._advance(1)
        parts = []
        while True:
            pos = self._pos
            if pos >= len(text):
                self._fail('end of file')
            if text.startswith('${', pos):
                parts.append(self._parse_var_ref())
                continue
            if text[pos] == '"':
                self._advance(1)
                ws = _WS_RE.match(text, self._pos)
                if ws:
                    self._advance(ws.end() - self._pos)
                return ''.join(parts)
            i = pos
            length = len(text)
            while i < length:
                char = text[i]
                if char == '"':
                    break
                if char == '$' and text.startswith('{', i + 1):
                    break
                if char == '\\' and i + 1 < length:
                    if text[i + 1] == '"' and (i + 2 >= length or text[i + 2] in '\r\n'):
                        i += 1
                        break
                    i += 2
                    continue
                i += 1
            parts.append(_unescape_double_quoted(self._advance(i - pos)))

    def _parse_var_ref(self):
        self._advance(2)
        start = self._pos
        end = self._text.find('}', start)
        newline = re.compile(r'[\r\n]').search(self._text, start)
        if end < 0 or (newline and newline.start() < end):
            raise _SyntaxError(self._line, "syntax error, unexpected end of file, expecting '}'")
        name = self._text[start:end]
        self._advance(end + 1 - start)
        if name == '':
            raise _SyntaxError(self._line, "syntax error, unexpected '}', expecting TC_VARNAME")
        fallback = ''
        if self._var_fallback and ':-' in name:
            name, fallback = name.split(':-', 1)
        if name in self._local:
            return self._local[name]
        value = self._outer_lookup(name) if self._outer_lookup else None
        if value is None:
            self._result.notes.append(IniProblem(self._line, '${%s} is not set' % name, 'unresolved'))
            return fallback
        return value


def parse_ini_text(text, lookup=None, constants=None, var_fallback=True):
    """Convenience wrapper: parse ``text`` and return a ParsedIni."""
    return IniParser(lookup, constants, var_fallback).parse(text)
