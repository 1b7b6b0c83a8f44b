# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The requested directives: merged per version and SAPI, checked against the directive table of
the installation's PHP version, rendered so that PHP reads them as meant, and the managed file's text."""

from __future__ import annotations

import difflib
import re

from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import (
    ENTRY_VALUE,
    parse_ini_text,
)
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import (
    JIT_WORDS,
    directives_for,
    known_directive_names,
    parse_version,
)
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import MANAGED_MARKER

# Ranges PHP accepts (ext/opcache/zend_accelerator_module.c OnUpdate* handlers). Outside of them
# PHP keeps its default and logs a warning nobody reads, so they are rejected here instead.
_RANGES = {
    'opcache.memory_consumption': (8, None),
    'opcache.interned_strings_buffer': (0, 4095),
    'opcache.max_accelerated_files': (200, 1000000),
    'opcache.max_wasted_percentage': (1, 50),
    'opcache.revalidate_freq': (0, None),
    'opcache.file_update_protection': (0, None),
    'opcache.force_restart_timeout': (0, None),
    'opcache.max_file_size': (0, None),
    'opcache.log_verbosity_level': (0, 4),
}
_BOOL_STRINGS = {'1': '1', '0': '0', 'on': '1', 'off': '0', 'true': '1', 'false': '0', 'yes': '1', 'no': '0', '': '0'}
_INT_RE = re.compile(r'^[+-]?(?:\d+|0[xX][0-9a-fA-F]+)$')
_SIZE_RE = re.compile(r'^\d+[KkMmGg]?$')
_FLOAT_RE = re.compile(r'^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$')
_JIT_DIGITS_RE = re.compile(r'^[0-9]{4}$')
_SAFE_STRING_RE = re.compile(r'^[^"\n\r\x00\\]*$')


def render_value(name, value, directive):
    """Render ``value`` for ``directive`` so PHP reads it as meant.

    Returns ``(text, php_value)``: the text after ``=`` and the string PHP's parser hands to the
    directive (checked by parsing the rendered line with the engine). Raises ValueError with a
    message naming the option."""
    kind = directive.type
    if value is None:
        raise ValueError('%s: no value given' % name)
    if kind == 'bool':
        if isinstance(value, bool):
            text = '1' if value else '0'
        elif isinstance(value, int) and value in (0, 1):
            text = str(value)
        elif isinstance(value, str) and value.strip().lower() in _BOOL_STRINGS:
            text = _BOOL_STRINGS[value.strip().lower()]
        else:
            raise ValueError('%s expects a boolean (true/false, 1/0, on/off), got %r' % (name, value))
    elif kind == 'int':
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not _INT_RE.match(str(value).strip()):
            raise ValueError('%s expects an integer, got %r' % (name, value))
        text = str(value).strip()
        limits = _RANGES.get(name)
        if limits is not None and not text.lower().startswith(('0x', '+0x', '-0x')):
            number = int(text)
            low, high = limits
            if (low is not None and number < low) or (high is not None and number > high):
                raise ValueError('%s must be between %s and %s, got %s' % (name, low, high if high is not None else 'unlimited', text))
    elif kind == 'size':
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not _SIZE_RE.match(str(value).strip()):
            raise ValueError('%s expects a size such as 64M or 0, got %r' % (name, value))
        text = str(value).strip()
    elif kind == 'float':
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not _FLOAT_RE.match(str(value).strip()):
            raise ValueError('%s expects a number, got %r' % (name, value))
        text = str(value).strip()
    elif kind == 'jit':
        # YAML turns an unquoted off/on into a boolean: take it as the word meant.
        if isinstance(value, bool):
            value = 'on' if value else 'off'
        word = str(value).strip().lower()
        if word in JIT_WORDS:
            # Unquoted, the scanner would turn off/on into ""/"1" before opcache.jit sees them.
            text = '"%s"' % word
        elif _JIT_DIGITS_RE.match(word):
            text = word
        else:
            raise ValueError('%s expects one of %s or a four-digit CRTO number, got %r' % (name, ', '.join(sorted(JIT_WORDS)), value))
    else:  # string, path
        if not isinstance(value, str) or isinstance(value, bool):
            raise ValueError('%s expects a string, got %r' % (name, value))
        if not _SAFE_STRING_RE.match(value) or '${' in value:
            raise ValueError('%s: the value may not contain double quotes, backslashes, ${...} or line breaks: %r' % (name, value))
        # Always quoted: a bare path or word could be read as a boolean word or a constant.
        text = '"%s"' % value
    parsed = parse_ini_text('%s=%s\n' % (name, text))
    entries = [e for e in parsed.entries if e.kind == ENTRY_VALUE and e.key == name]
    if parsed.errors or len(entries) != 1:
        raise ValueError('%s: the value %r cannot be written so that PHP reads it back' % (name, value))
    php_value = entries[0].value
    if kind in ('string', 'path') and php_value != value:
        raise ValueError('%s: PHP would read %r instead of %r' % (name, php_value, value))
    return text, php_value


def check_settings(settings, version):
    """Validate ``{directive: value}`` against the directive table of ``version``.

    Returns ``(rendered, errors)``: rendered is ``{name: (text, php_value)}``."""
    table = directives_for(version)
    known = known_directive_names()
    rendered = {}
    errors = []
    label = 'PHP %s' % version if version else 'the newest PHP version known'
    for name in sorted(settings):
        value = settings[name]
        if value is None:
            continue
        if not name.startswith('opcache.'):
            errors.append('%s is not an OPcache directive: this role manages opcache.* only' % name)
            continue
        if name not in table:
            if name in known:
                errors.append('%s does not exist in %s (removed or not yet added)' % (name, label))
            else:
                errors.append(unknown_directive_message(name, table, label))
            continue
        try:
            rendered[name] = render_value(name, value, table[name])
        except ValueError as error:
            errors.append(str(error))
    return rendered, errors


def unknown_directive_message(name, table, label):
    """Say that ``name`` is unknown, with the closest names and every directive ``label`` knows."""
    close = difflib.get_close_matches(name, sorted(table), n=3, cutoff=0.75)
    hint = ' (did you mean %s?)' % ' or '.join(close) if close else ''
    return '%s is not a known OPcache directive%s; %s knows: %s' % (name, hint, label, ', '.join(sorted(table)))


def render_file(rendered, profile, version, sapis, scope='all'):
    """The managed file's text: a header, then one directive per line, sorted. Never an
    extension line: loading OPcache stays with the distribution's file."""
    lines = [
        MANAGED_MARKER + ' (role phpops.opcache.opcache, module phpops.opcache.opcache_config).',
        '; Profile: %s. PHP %s, SAPI %s.' % (profile or 'custom', version or 'unknown', ', '.join(sorted(sapis))),
        '; Do not edit: change the role variables (opcache_profile, opcache_settings, opcache_sapi_settings,',
        '; opcache_version_settings) and run the play again. Undo everything with the role\'s "restore" entry point.',
    ]
    if scope == 'later':
        lines += ['; It sorts after every distribution file (byte order, the last assignment wins); later files that assign',
                  '; these directives were renamed to <name>.DISABLED or had those lines commented out (see the manifest).']
    else:
        lines += ['; This file is the only active file that assigns these directives: other files that did were renamed to',
                  '; <name>.DISABLED or had those lines commented out (see the manifest).']
    for name in sorted(rendered):
        lines.append('%s = %s' % (name, rendered[name][0]))
    return '\n'.join(lines) + '\n'


def merge_settings(base, version_settings, sapi_settings, version, sapi):
    """global < per version (``'8.2'`` matches 8.2.x) < per SAPI. A None value removes a directive."""
    merged = dict(base or {})
    wanted = parse_version(version)
    for key, values in sorted((version_settings or {}).items()):
        if wanted is not None and parse_version(key) == wanted:
            merged.update(values or {})
    merged.update((sapi_settings or {}).get(sapi) or {})
    return dict((k, v) for k, v in merged.items() if v is not None)


def version_matches(version, wanted_list):
    if not wanted_list:
        return True
    parsed = parse_version(version)
    return any(parse_version(w) == parsed for w in wanted_list)
