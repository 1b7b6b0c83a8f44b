# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse one ini text the way PHP's ini scanner and parser do (INI_SCANNER_NORMAL).

The text is read by a scanner with the states of Zend/zend_ini_scanner.l (INITIAL, ST_VALUE,
ST_OFFSET, ST_SECTION_VALUE, ST_DOUBLE_QUOTES, ST_VARNAME and, from PHP 8.3, ST_VAR_FALLBACK): in
each state the longest match of the state's rules wins, the earlier rule on a tie. The tokens go to
a parser of the grammar of Zend/zend_ini_parser.y that reduces where bison does (default
reductions), so a statement whose value was complete when an unexpected token came is applied
before PHP stops. What follows from that, as observed on real PHP:

* unquoted ``on/yes/true`` become ``"1"``, ``off/no/none/false/null`` become ``""`` (for every
  directive, string ones included), matched case-insensitively and only as whole tokens;
* double-quoted strings take ``\\"``, ``\\\\`` and ``\\$`` escapes (a ``\\"`` right before the end of the
  line is a literal backslash, for Windows paths), single-quoted strings are raw;
* ``${name}`` is an earlier directive, else an environment variable, else empty; PHP 8.3 adds
  ``${name:-fallback}``;
* bare words shaped like constants are replaced by the constant's value when PHP knows it;
* ``| & ^ ~ !`` and parentheses are evaluated on 32-bit C ints (atoi);
* ``[PATH=...]``/``[HOST=...]`` sections hold conditional entries, ``extension``/``zend_extension``
  accumulate, ``key[]``/``key[k]`` build arrays (the offset is a value: quotes removed, ``${}`` and
  constants expanded, empty = next index);
* PHP reads a file to its length: a NUL byte ends a value like an end of line, and is an ordinary
  character in names, comments and quoted strings. Only at the very end of the text does the
  scanner, reading the NUL that terminates its buffer, report the end of input in the middle of a
  token (a comment, a quoted string or a section name without an end): ``x = ; c`` as the last
  line without a newline is a syntax error, while ``x = 1 ; c`` is not.
"""

from __future__ import annotations

import re

ENTRY_VALUE = 'value'
ENTRY_ARRAY = 'array'
ENTRY_EXTENSION = 'extension'
ENTRY_ZEND_EXTENSION = 'zend_extension'

BOOL_WORDS = {'true': '1', 'on': '1', 'yes': '1', 'false': '', 'off': '', 'no': '', 'none': '', 'null': ''}

# Constants PHP defines while it reads php.ini whose value depends on the build and the host (its
# paths, the SAPI); the engine cannot know them, so a value using one is reported as unknown.
HOST_CONSTANTS = frozenset([
    'PHP_BINARY', 'PHP_SAPI', 'PHP_EXTENSION_DIR', 'PHP_PREFIX', 'PHP_BINDIR', 'PHP_LIBDIR', 'PHP_DATADIR',
    'PHP_MANDIR', 'PHP_SYSCONFDIR', 'PHP_LOCALSTATEDIR', 'PHP_CONFIG_FILE_PATH', 'PHP_CONFIG_FILE_SCAN_DIR',
    'PEAR_INSTALL_DIR', 'PEAR_EXTENSION_DIR',
])

_LONG_MAX = 2 ** 63 - 1
_LONG_MIN = -2 ** 63

# -- token types (zend_ini_parser.y) -------------------------------------------------------------
END = 'end of file'
END_OF_LINE = 'END_OF_LINE'
TC_SECTION = 'TC_SECTION'
TC_RAW = 'TC_RAW'
TC_CONSTANT = 'TC_CONSTANT'
TC_NUMBER = 'TC_NUMBER'
TC_STRING = 'TC_STRING'
TC_WHITESPACE = 'TC_WHITESPACE'
TC_LABEL = 'TC_LABEL'
TC_OFFSET = 'TC_OFFSET'
TC_DOLLAR_CURLY = 'TC_DOLLAR_CURLY'
TC_VARNAME = 'TC_VARNAME'
TC_QUOTED_STRING = 'TC_QUOTED_STRING'
TC_FALLBACK = 'TC_FALLBACK'
BOOL_TRUE = 'BOOL_TRUE'
BOOL_FALSE = 'BOOL_FALSE'
NULL_NULL = 'NULL_NULL'

# -- scanner states (zend_ini_scanner.l) ---------------------------------------------------------
INITIAL = 'INITIAL'
ST_VALUE = 'ST_VALUE'
ST_OFFSET = 'ST_OFFSET'
ST_SECTION_VALUE = 'ST_SECTION_VALUE'
ST_DOUBLE_QUOTES = 'ST_DOUBLE_QUOTES'
ST_VARNAME = 'ST_VARNAME'
ST_VAR_FALLBACK = 'ST_VAR_FALLBACK'

# Character classes of the scanner. The NUL that ends PHP's buffer belongs to the classes that do
# not exclude \0: a token that runs into it makes the scanner return the end of input (YYFILL).
_NEWLINE = r'(?:\r\n|\n|\r)'
_LABEL_82 = r'[^=\n\r\t;&|^$~(){}!"\[]+'              # PHP 8.2: NUL and ']' are label characters
_LABEL_83 = r'[^=\n\r\t;&|^$~(){}!"\[\]\x00]+'        # PHP 8.3: LABEL_CHAR
_LITERAL_DOLLAR = r'\$(?:\\[\s\S]|[^{\x00])'
_VALUE_CHARS = r'(?:[^$= \t\n\r;&|^~()!"\'\x00]+|' + _LITERAL_DOLLAR + r')+'
_SECTION_VALUE_CHARS = r'(?:[^$\n\r;"\'\]\\]+|\\[\s\S]|' + _LITERAL_DOLLAR + r')+'
_FALLBACK_CHARS = r'(?:[^$\n\r;"\'}\\]+|\\[\s\S]|' + _LITERAL_DOLLAR + r')+'
_CONSTANT = r'[a-zA-Z_][a-zA-Z0-9_]*'
_NUMBER = r'-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
_TOKENS = r'[:,.\[\]"\'()&|^+\-/*=%$!~<>?@{}]'
_I = re.IGNORECASE

# Actions
_A_SECTION, _A_RAW, _A_SECTION_END, _A_OFFSET, _A_OFFSET_END, _A_DOLLAR_CURLY, _A_FALLBACK, _A_VARNAME, \
    _A_VAR_END, _A_TRUE, _A_FALSE, _A_NULL, _A_LABEL, _A_EQUALS, _A_VALUE_EOL, _A_CONSTANT, _A_NUMBER, \
    _A_CHAR, _A_OPERATOR, _A_VALUE_EQUALS, _A_STRING, _A_DQ_START, _A_DQ_END, _A_DQ_TEXT, _A_WHITESPACE, \
    _A_SKIP, _A_EOL, _A_COMMENT, _A_VALUE_ANY = range(29)


def _rules(version83):
    """The rules of every state in the order of zend_ini_scanner.l: (state set, regex, action,
    runs_into_nul). ``runs_into_nul``: the rule's class takes the buffer's final NUL, so a match
    reaching the end of the text means the scanner returned the end of input."""
    label = _LABEL_83 if version83 else _LABEL_82
    values = {ST_SECTION_VALUE, ST_VALUE, ST_OFFSET}
    if version83:
        values_fb = values | {ST_VAR_FALLBACK}
    else:
        values_fb = values
    rules = [
        ({INITIAL}, r'\[', _A_SECTION, False),
        ({ST_VALUE, ST_SECTION_VALUE, ST_OFFSET}, r"'[^']+'?", _A_RAW, True),
        ({ST_SECTION_VALUE}, r'\][ \t]*' + _NEWLINE + '?', _A_SECTION_END, False),
        ({INITIAL}, label + r'\[[ \t]*', _A_OFFSET, False),
        ({ST_OFFSET}, r'[ \t]*\]', _A_OFFSET_END, False),
        ({ST_DOUBLE_QUOTES} | values_fb, r'\$\{', _A_DOLLAR_CURLY, False),
    ]
    if version83:
        rules.append(({ST_VARNAME}, r':-', _A_FALLBACK, False))
        rules.append(({ST_VARNAME}, r'[^=\n\r\t;&|^$~(){}!"\[\]\x00]', _A_VARNAME, False))
        rules.append(({ST_VARNAME, ST_VAR_FALLBACK}, r'\}', _A_VAR_END, False))
    else:
        rules.append(({ST_VARNAME}, label, _A_VARNAME, True))
        rules.append(({ST_VARNAME}, r'\}', _A_VAR_END, False))
    rules += [
        ({INITIAL, ST_VALUE}, r'(?:true|on|yes)[ \t]*', _A_TRUE, False),
        ({INITIAL, ST_VALUE}, r'(?:false|off|none|no)[ \t]*', _A_FALSE, False),
        ({INITIAL, ST_VALUE}, r'null[ \t]*', _A_NULL, False),
        ({INITIAL}, label, _A_LABEL, not version83),
        ({INITIAL}, r'[ \t]*=[ \t]*', _A_EQUALS, False),
        ({ST_VALUE}, r'[ \t]*' + _NEWLINE, _A_VALUE_EOL, False),
        (values_fb, _CONSTANT, _A_CONSTANT, False),
        (values_fb, _NUMBER, _A_NUMBER, False),
        ({INITIAL}, _TOKENS, _A_CHAR, False),
        ({ST_VALUE}, r'[&|^~()!][ \t]*', _A_OPERATOR, False),
        ({ST_VALUE}, r'=', _A_VALUE_EQUALS, False),
        ({ST_VALUE}, _VALUE_CHARS, _A_STRING, False),
    ]
    if version83:
        rules.append(({ST_VAR_FALLBACK}, _FALLBACK_CHARS, _A_STRING, True))
    rules += [
        ({ST_SECTION_VALUE, ST_OFFSET}, _SECTION_VALUE_CHARS, _A_STRING, True),
        (values_fb, r'[ \t]*"', _A_DQ_START, False),
        ({ST_DOUBLE_QUOTES}, r'"[ \t]*', _A_DQ_END, False),
        ({ST_DOUBLE_QUOTES}, r'[\s\S]', _A_DQ_TEXT, False),
        (values_fb, r'[ \t]+', _A_WHITESPACE, False),
        ({INITIAL}, r'[ \t]+', _A_SKIP, False),
        ({INITIAL}, r'[ \t]*' + _NEWLINE, _A_EOL, False),
        ({INITIAL, ST_VALUE}, r'[ \t]*;[^\r\n]*' + _NEWLINE + '?', _A_COMMENT, True),
        ({ST_VALUE}, r'[\s\S]', _A_VALUE_ANY, False),
    ]
    table = {}
    for state in (INITIAL, ST_VALUE, ST_OFFSET, ST_SECTION_VALUE, ST_DOUBLE_QUOTES, ST_VARNAME, ST_VAR_FALLBACK):
        table[state] = [(re.compile(pattern, _I if action in (_A_TRUE, _A_FALSE, _A_NULL) else 0), action, nul)
                        for states, pattern, action, nul in rules if state in states]
    return table


_TABLES = {}


def _table(version83):
    if version83 not in _TABLES:
        _TABLES[version83] = _rules(version83)
    return _TABLES[version83]


# A run of blank and comment lines in INITIAL, read in one step (a 50 MB comment block stays fast).
_BLANK_LINES_RE = re.compile(r'(?:[ \t]*(?:;[^\r\n]*)?(?:\r\n|\n|\r))+')
_WORD_RE = re.compile(r'(?:true|on|yes|false|off|none|no|null)[ \t]*', re.IGNORECASE)
_LABEL_RES = {False: re.compile(_LABEL_82), True: re.compile(_LABEL_83)}
_DQ_TEXT_RE = re.compile(r'(?:[^"$\\]+|\$(?!\{)|\\(?="(?:[\r\n]|\Z))|\\[\s\S]|\\\Z)*')


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
    """What PHP takes from one file: entries in order, the first syntax error (if any) and notes.
    ``sections``: (hash key, section name, line) of every [PATH=]/[HOST=] section that became the
    target of later entries; PHP keeps that key in its configuration hash as an array."""

    def __init__(self):
        self.entries = []
        self.errors = []
        self.notes = []
        self.sections = []

    @property
    def ok(self):
        return not self.errors


class _Array(object):
    """What ``lookup`` returns for a name that holds an array in PHP's configuration hash."""

    def __repr__(self):
        return 'ARRAY'


ARRAY = _Array()


class _SyntaxError(Exception):
    def __init__(self, line, message):
        super(_SyntaxError, self).__init__(message)
        self.line = line
        self.message = message


class _Token(object):
    __slots__ = ('type', 'value', 'pos')

    def __init__(self, kind, value, pos):
        self.type = kind
        self.value = value
        self.pos = pos


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


_ESCAPE_RE = re.compile(r'\\(["\\\\$])|(\\[\s\S])')


def _unescape_double_quoted(text):
    """zend_ini_escape_string: a backslash and the character after it are read as a pair; ``\\"``,
    ``\\\\`` and ``\\$`` lose their backslash, every other pair is kept."""
    return _ESCAPE_RE.sub(r'\1\2', text) if '\\' in text else text


def section_hash_key(name):
    """The key php_ini_parser_cb gives a [PATH...]/[HOST...] section in PHP's configuration hash, or
    None when the section switches nothing (another name, or a bare [PATH]/[HOST])."""
    upper = name[:4].upper()
    if upper not in ('PATH', 'HOST') or len(name) <= 4:
        return None
    key = name[4:]
    if upper == 'HOST':
        key = key.lower()
    key = key.rstrip('/\\')
    return key.lstrip('= \t')


def _describe(token):
    if token.type in (END, END_OF_LINE) or token.type.startswith('TC_') or token.type in (BOOL_TRUE, BOOL_FALSE, NULL_NULL):
        return token.type
    return "'%s'" % token.type


class _Scanner(object):
    """zend_ini_scanner.l: one token per call of ``next()``."""

    def __init__(self, text, version83):
        self.text = text
        self.length = len(text)
        self.pos = 0
        self.state = INITIAL
        self.stack = []
        self.table = _table(version83)
        self._label = _LABEL_RES[version83]
        self.version83 = version83
        self._line_pos = 0
        self._line = 1
        # PHP eats a UTF-8 BOM only in a file longer than the BOM itself
        if text.startswith('\ufeff') and len(text) > 1:
            self.pos = 1
            self._line_pos = 1

    def line_at(self, pos):
        """Physical line of ``pos`` (\\r\\n, \\n and \\r each end a line); positions only grow."""
        if pos > self._line_pos:
            chunk = self.text[self._line_pos:pos]
            count = chunk.count('\n') + chunk.count('\r') - chunk.count('\r\n')
            if chunk.startswith('\n') and self._line_pos > 0 and self.text[self._line_pos - 1] == '\r':
                count -= 1
            self._line += count
            self._line_pos = pos
        return self._line

    def _push(self, state):
        self.stack.append(self.state)
        self.state = state

    def _pop(self):
        self.state = self.stack.pop() if self.stack else INITIAL

    def next(self):
        text = self.text
        while True:
            start = self.pos
            if start >= self.length:
                if self.state == ST_VALUE:
                    self.state = INITIAL
                    return _Token(END_OF_LINE, '', start)
                return _Token(END, '', start)
            if self.state == INITIAL:
                blank = _BLANK_LINES_RE.match(text, start)
                if blank:
                    # blank lines and comments: END_OF_LINE tokens, which the parser skips
                    self.pos = blank.end()
                    return _Token(END_OF_LINE, '', start)
                token = self._plain_label(start)
                if token is not None:
                    return token
            best = None
            for regex, action, nul in self.table[self.state]:
                match = regex.match(text, start)
                if match is None:
                    continue
                end = match.end()
                if nul and self._runs_into_nul(action, match):
                    self.pos = self.length
                    return _Token(END, '', start)
                if best is None or end > best[0]:
                    best = (end, action, match)
            if best is None:
                # <*>[^]: anything else is the end of input for the parser
                self.pos = self.length
                return _Token(END, '', start)
            end, action, match = best
            token = self._act(action, start, end, match)
            if token is not None:
                return token

    def _plain_label(self, start):
        """The common case of INITIAL, decided without trying every rule: a label with more than
        blanks in it, not followed by '[' and longer than a boolean word there, is the longest match."""
        match = self._label.match(self.text, start)
        if match is not None and match.end() >= self.length and not self.version83:
            # PHP 8.2's label takes the final NUL too: the end of input (as the rule table says)
            self.pos = self.length
            return _Token(END, '', start)
        if match is None or match.end() >= self.length or self.text[match.end()] == '[':
            return None
        value = match.group(0)
        stripped = value.strip(' ')
        word = _WORD_RE.match(self.text, start)
        if not stripped or (word is not None and word.end() >= match.end()):
            return None
        self.pos = match.end()
        return _Token(TC_LABEL, stripped, start + len(value) - len(value.lstrip(' ')))

    def _runs_into_nul(self, action, match):
        end = match.end()
        if action == _A_RAW:
            return not match.group(0).endswith("'")      # no closing quote up to the end
        if action == _A_COMMENT:
            return match.group(0)[-1:] not in ('\n', '\r')
        if end == self.length:
            return True
        # a backslash right before the end takes the final NUL as its escaped character
        return action == _A_STRING and self.text[end] == '\\' and end + 1 == self.length

    def _act(self, action, start, end, match):
        text = self.text
        self.pos = end
        value = text[start:end]
        if action == _A_SECTION:
            self.state = ST_SECTION_VALUE
            return _Token(TC_SECTION, '', start)
        if action == _A_RAW:
            return _Token(TC_RAW, value[1:-1], start)
        if action == _A_SECTION_END:
            self.state = INITIAL
            return _Token(']', '', start)
        if action == _A_OFFSET:
            self.state = ST_OFFSET
            stripped = value.lstrip(' \t')
            return _Token(TC_OFFSET, stripped.rstrip(' \t\r\n['), start + len(value) - len(stripped))
        if action == _A_OFFSET_END:
            self.state = INITIAL
            return _Token(']', '', start)
        if action == _A_DOLLAR_CURLY:
            self._push(ST_VARNAME)
            return _Token(TC_DOLLAR_CURLY, '', start)
        if action == _A_FALLBACK:
            self._pop()
            self._push(ST_VAR_FALLBACK)
            return _Token(TC_FALLBACK, '', start)
        if action == _A_VARNAME:
            if self.version83:
                if text.startswith(':-', start + 1):
                    # PHP 8.3's scanner: one name character right before ':-' is dropped and the
                    # fallback starts at the '-' (goto fallback_lexing after YYCURSOR++)
                    self.pos = start + 2
                    self._pop()
                    self._push(ST_VAR_FALLBACK)
                    return _Token(TC_FALLBACK, '', start)
                self.pos = self._varname_end_83(start)
                value = text[start:self.pos]
            return _Token(TC_VARNAME, value.strip(' \t'), start)
        if action == _A_VAR_END:
            self._pop()
            return _Token('}', '', start)
        if action in (_A_TRUE, _A_FALSE, _A_NULL):
            kind = {_A_TRUE: BOOL_TRUE, _A_FALSE: BOOL_FALSE, _A_NULL: NULL_NULL}[action]
            return _Token(kind, '1' if action == _A_TRUE else '', start)
        if action == _A_LABEL:
            stripped = value.lstrip(' \t')
            return _Token(TC_LABEL, stripped.rstrip(' \t'), start + len(value) - len(stripped))
        if action == _A_EQUALS:
            self.state = ST_VALUE
            return _Token('=', '', start)
        if action in (_A_VALUE_EOL, _A_EOL, _A_COMMENT):
            self.state = INITIAL
            return _Token(END_OF_LINE, '', start)
        if action == _A_CONSTANT:
            return _Token(TC_CONSTANT, value, start)
        if action == _A_NUMBER:
            return _Token(TC_NUMBER, value, start)
        if action == _A_CHAR:
            return _Token(value, '', start)
        if action == _A_OPERATOR:
            return _Token(value[0], '', start)
        if action == _A_VALUE_EQUALS:
            # yyless(0): the '=' is read again in INITIAL
            self.pos = start
            self.state = INITIAL
            return _Token(END_OF_LINE, '', start)
        if action == _A_STRING:
            return _Token(TC_STRING, value, start)
        if action == _A_DQ_START:
            self._push(ST_DOUBLE_QUOTES)
            return _Token('"', '', start)
        if action == _A_DQ_END:
            self._pop()
            return _Token('"', '', start)
        if action == _A_DQ_TEXT:
            return self._double_quoted(start)
        if action == _A_WHITESPACE:
            return _Token(TC_WHITESPACE, value, start)
        if action == _A_SKIP:
            return None
        if action == _A_VALUE_ANY:
            self.state = INITIAL
            return _Token(END_OF_LINE, '', start)
        raise AssertionError(action)

    def _varname_end_83(self, start):
        text = self.text
        i = start + 1
        while i < self.length:
            char = text[i]
            if char in '=\n\r\t;&|^$~(){}!"[]':
                break
            if char == ':' and text.startswith('-', i + 1):
                break
            i += 1
        return i

    def _double_quoted(self, start):
        """<ST_DOUBLE_QUOTES>[^]: up to a '"' or a '${'; a backslash takes the next character with
        it, except a '\\"' right before a line end (or the end of the text): a backslash, then the
        closing quote (Windows paths)."""
        end = _DQ_TEXT_RE.match(self.text, start).end()
        self.pos = end
        return _Token(TC_QUOTED_STRING, _unescape_double_quoted(self.text[start:end]), start)


class IniParser(object):
    """Parse ini text. ``lookup(name)`` resolves ``${name}`` from the directives parsed so far in
    earlier files and the environment (None when unknown, ``ARRAY`` for a name holding an array in
    PHP's configuration hash); ``constants`` maps constant names to their string values;
    ``var_fallback`` selects the scanner of PHP 8.3 and later (``${name:-fallback}``);
    ``configuration(name)`` answers from earlier files only (no environment): a value, ``ARRAY`` or
    None, for the [PATH=]/[HOST=] sections whose key may already be taken."""

    def __init__(self, lookup=None, constants=None, var_fallback=True, configuration=None):
        self._outer_lookup = lookup
        self._configuration = configuration
        self._constants = constants or {}
        self._var_fallback = var_fallback

    # -- public ---------------------------------------------------------------------------------
    def parse(self, text):
        result = ParsedIni()
        self._scanner = _Scanner(text, self._var_fallback)
        self._pushed = []
        self._local = {}        # what this file put into PHP's configuration hash: key -> value or ARRAY
        self._section = None    # PHP's active_ini_hash: the [PATH=]/[HOST=] section entries go to
        self._special = False   # PHP's is_special_section: extension lines are not loads
        self._result = result
        try:
            self._statements()
        except _SyntaxError as error:
            result.errors.append(IniProblem(error.line, error.message))
        return result

    # -- tokens ---------------------------------------------------------------------------------
    def _next(self):
        if self._pushed:
            return self._pushed.pop()
        return self._scanner.next()

    def _back(self, token):
        self._pushed.append(token)

    def _line(self, token):
        return self._scanner.line_at(token.pos)

    def _fail(self, token, expecting=None):
        message = 'syntax error, unexpected %s' % _describe(token)
        if expecting:
            message += ', expecting %s' % expecting
        raise _SyntaxError(self._line(token), message)

    # -- grammar --------------------------------------------------------------------------------
    def _statements(self):
        while True:
            token = self._next()
            kind = token.type
            if kind == END:
                return
            if kind == END_OF_LINE:
                continue
            if kind == TC_SECTION:
                self._section_statement(self._line(token))
            elif kind == TC_LABEL:
                follow = self._next()
                if follow.type == '=':
                    value = self._string_or_value()
                    self._store(token.value, value, self._line(token), False, None)
                else:
                    # a bare label is a statement PHP ignores
                    self._back(follow)
            elif kind == TC_OFFSET:
                line = self._line(token)
                offset = self._option_offset()
                close = self._next()
                if close.type != ']':
                    self._fail(close, "']'")
                equals = self._next()
                if equals.type != '=':
                    self._fail(equals, "'='")
                value = self._string_or_value()
                self._store(token.value, value, line, True, offset)
            else:
                self._fail(token)

    def _section_statement(self, line):
        token = self._next()
        name = ''
        if self._starts_string_list(token):
            self._back(token)
            name = self._string_list(expand_constants=False)
            token = self._next()
        if token.type != ']':
            self._fail(token, "']'")
        self._enter_section(name, line)

    def _option_offset(self):
        token = self._next()
        self._back(token)
        if self._starts_string_list(token):
            return self._string_list(expand_constants=True)
        return ''

    def _string_or_value(self):
        token = self._next()
        kind = token.type
        if kind in (BOOL_TRUE, BOOL_FALSE, NULL_NULL):
            return token.value
        if kind == END_OF_LINE:
            return ''
        if self._starts_string_list(token) or kind in ('~', '!', '('):
            self._back(token)
            return self._expr()
        self._fail(token)

    @staticmethod
    def _starts_string_list(token):
        return token.type in (TC_DOLLAR_CURLY, TC_CONSTANT, TC_RAW, TC_NUMBER, TC_STRING, TC_WHITESPACE, '"')

    def _expr(self):
        left = self._unary()
        while True:
            token = self._next()
            if token.type not in ('|', '&', '^'):
                self._back(token)
                return left
            right = self._unary()
            a, b = int_operand(left), int_operand(right)
            left = str(a | b if token.type == '|' else a & b if token.type == '&' else a ^ b)

    def _unary(self):
        token = self._next()
        if token.type == '~':
            return str(~int_operand(self._unary()))
        if token.type == '!':
            return '0' if int_operand(self._unary()) else '1'
        if token.type == '(':
            value = self._expr()
            close = self._next()
            if close.type != ')':
                self._fail(close)
            return value
        if self._starts_string_list(token):
            self._back(token)
            return self._string_list(expand_constants=True)
        self._fail(token)

    def _string_list(self, expand_constants):
        """var_string_list / var_string_list_section: adjacent strings, quoted strings and ${}."""
        parts = []
        while True:
            token = self._next()
            kind = token.type
            if kind == TC_DOLLAR_CURLY:
                parts.append(self._var_ref(token))
            elif kind == TC_CONSTANT:
                parts.append(self._constant(token) if expand_constants else token.value)
            elif kind in (TC_RAW, TC_NUMBER, TC_STRING, TC_WHITESPACE):
                parts.append(token.value)
            elif kind == '"':
                parts.append(self._encapsed())
            else:
                self._back(token)
                return ''.join(parts)

    def _encapsed(self):
        parts = []
        while True:
            token = self._next()
            if token.type == '"':
                return ''.join(parts)
            if token.type == TC_DOLLAR_CURLY:
                parts.append(self._var_ref(token))
            elif token.type == TC_QUOTED_STRING:
                parts.append(token.value)
            else:
                self._fail(token)

    def _constant(self, token):
        word = token.value
        if word in self._constants:
            return self._constants[word]
        line = self._line(token)
        if word in HOST_CONSTANTS:
            self._result.notes.append(IniProblem(
                line, '%s is a constant of the PHP build on the host: PHP puts its value here, which the analysis '
                'does not know (the value is shown with the bare word)' % word, 'constant'))
        elif word.startswith('E_') or word.startswith('PHP_'):
            self._result.notes.append(IniProblem(line, 'constant-like word %s kept literally' % word, 'constant'))
        return word

    def _var_ref(self, start):
        token = self._next()
        if token.type != TC_VARNAME:
            self._fail(token, 'TC_VARNAME')
        name = token.value
        close = self._next()
        fallback = None
        if close.type == TC_FALLBACK:
            following = self._next()
            self._back(following)
            fallback = self._string_list(expand_constants=True) if self._starts_string_list(following) else ''
            close = self._next()
        if close.type != '}':
            self._fail(close, "TC_FALLBACK or '}'" if self._var_fallback and fallback is None else "'}'")
        line = self._line(start)
        if name in self._local:
            value = self._local[name]
        else:
            value = self._outer_lookup(name) if self._outer_lookup else None
        if value is ARRAY:
            self._result.notes.append(IniProblem(
                line, '${%s} names an array in PHP\'s configuration: what PHP reads there is undefined (it may '
                'fail to start), so this value is unknown' % name, 'unmodelled'))
            return ''
        if value is None:
            self._result.notes.append(IniProblem(line, '${%s} is not set' % name, 'unresolved'))
            # the fallback is copied as a C string (strlen): it ends at a NUL
            return (fallback or '').split('\x00', 1)[0]
        return value

    # -- php_ini_parser_cb ----------------------------------------------------------------------
    def _enter_section(self, name, line):
        # A name starting with PATH/HOST (any case) is special; it switches the target of later
        # entries only when something follows the prefix (a bare [PATH] does not) and its key does
        # not already hold a plain value. Any other section leaves the target alone, so entries
        # after [PATH=/x] then [opcache] are still conditional on /x; only the next file starts over.
        upper = name[:4].upper()
        self._special = upper in ('PATH', 'HOST')
        key = section_hash_key(name)
        if key is None:
            return
        if key in self._local:
            current = self._local[key]
        else:
            current = self._configuration(key) if self._configuration else None
        if current is not None and current is not ARRAY:
            self._result.notes.append(IniProblem(
                line, '[%s]: %r already holds a value in PHP\'s configuration, so PHP keeps the entries that follow '
                'where they were' % (name, key), 'section'))
            return
        self._local[key] = ARRAY
        self._section = name
        self._result.sections.append((key, name, line))

    def _store(self, key, value, line, is_array, offset):
        lowered = key.lower()
        if is_array:
            entry = IniEntry(key, value, line, self._section, ENTRY_ARRAY, offset if offset else None)
            if self._section is None:
                self._local[key] = ARRAY
        elif not self._special and lowered == 'extension':
            entry = IniEntry(key, value, line, None, ENTRY_EXTENSION)
        elif not self._special and lowered == 'zend_extension':
            entry = IniEntry(key, value, line, None, ENTRY_ZEND_EXTENSION)
        else:
            entry = IniEntry(key, value, line, self._section)
            if self._section is None:
                self._local[key] = value
        self._result.entries.append(entry)


def parse_ini_text(text, lookup=None, constants=None, var_fallback=True):
    """Convenience wrapper: parse ``text`` and return a ParsedIni."""
    return IniParser(lookup, constants, var_fallback).parse(text)
