# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PHP's ini load chain (main/php_ini.c php_init_config) with attribution.

Order: the main ini file, then every scan directory (PHP_INI_SCAN_DIR semantics: ':'-separated,
an empty element is the compiled-in default directory), each sorted on its own in byte order,
reading only names whose last extension is exactly ``.ini`` that are regular files after following
symlinks. The last assignment of a directive wins; every assignment is kept so that the winner can
be shown together with what it overrode.
"""

from __future__ import annotations

import stat

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import (
    ARRAY,
    ENTRY_ARRAY,
    ENTRY_EXTENSION,
    ENTRY_VALUE,
    ENTRY_ZEND_EXTENSION,
    IniParser,
)
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import parse_version

# PHP reads an ini file of any size; the engine reads files up to this size (a 50 MB file of
# comments takes about a second). A larger file is reported with INI_FILE_TOO_LARGE, saying that its
# values are unknown, and never silently skipped.
DEFAULT_MAX_INI_BYTES = 512 * 1024 * 1024


class Assignment(object):
    """A directive's value with the file and line that set it."""

    __slots__ = ('value', 'file', 'line', 'overridden')

    def __init__(self, value, file_path, line, overridden=None):
        self.value = value
        self.file = file_path
        self.line = line
        self.overridden = overridden or []

    def as_dict(self):
        return {
            'value': self.value,
            'file': self.file,
            'line': self.line,
            'overridden': [{'value': o.value, 'file': o.file, 'line': o.line} for o in self.overridden],
        }


class ChainProblem(object):
    """Something about a file of the chain that PHP handles silently (skipped, failed to parse...)."""

    __slots__ = ('code', 'file', 'line', 'message')

    def __init__(self, code, file_path, message, line=None):
        self.code = code
        self.file = file_path
        self.line = line
        self.message = message


class EffectiveConfig(object):
    def __init__(self):
        self.loaded_file = None
        self.scan_dirs = []
        self.scanned_files = []
        self.parsed_files = []          # every file read, including one that failed to parse
        self.settings = {}              # key -> Assignment (winner, with overridden chain)
        self.extensions = []            # dicts: kind, value, file, line
        self.conditional = []           # dicts: section, key, value, file, line ([PATH=]/[HOST=])
        self.arrays = {}                # key -> entries (key[] / key[k]) of the array PHP ends with
        # PHP keeps a [PATH=/x]/[HOST=x] section as an array under its key ('/x') in the same hash:
        # key -> entries {'offset': directive, 'sub': False for a plain entry, else the offset of
        # directive[...] (None for []), 'value', 'file', 'line'} in order (a later entry for the same
        # directive replaces the earlier one; a top-level key[] adds {'offset': its offset, 'sub': False})
        self.section_arrays = {}
        self.problems = []              # ChainProblem
        self.env_references = []        # dicts: name, file, line, resolved

    def values(self):
        return dict((key, a.value) for key, a in self.settings.items())


def php_constants(version_string):
    """Constants PHP knows while it parses php.ini at startup (core constants only)."""
    version = parse_version(version_string)
    constants = {
        'E_ERROR': '1', 'E_WARNING': '2', 'E_PARSE': '4', 'E_NOTICE': '8', 'E_CORE_ERROR': '16',
        'E_CORE_WARNING': '32', 'E_COMPILE_ERROR': '64', 'E_COMPILE_WARNING': '128', 'E_USER_ERROR': '256',
        'E_USER_WARNING': '512', 'E_USER_NOTICE': '1024', 'E_STRICT': '2048', 'E_RECOVERABLE_ERROR': '4096',
        'E_DEPRECATED': '8192', 'E_USER_DEPRECATED': '16384', 'E_ALL': '32767',
        'PHP_EOL': '\n', 'PHP_INT_MAX': '9223372036854775807', 'PHP_INT_SIZE': '8',
        'PHP_INT_MIN': '-9223372036854775808', 'PHP_OS': 'Linux', 'PHP_OS_FAMILY': 'Linux',
        'DEFAULT_INCLUDE_PATH': '.:/usr/share/php', 'PHP_SHLIB_SUFFIX': 'so',
        # The rest of what PHP 8.2 has registered when it reads php.ini (observed on the real CLI);
        # NTS, non-debug, 64-bit build. PHP_BINARY, PHP_SAPI and the build's directories
        # (PHP_EXTENSION_DIR, PHP_CONFIG_FILE_PATH, ...) depend on the host and stay unresolved.
        'DEBUG_BACKTRACE_PROVIDE_OBJECT': '1', 'DEBUG_BACKTRACE_IGNORE_ARGS': '2',
        'ZEND_THREAD_SAFE': '', 'ZEND_DEBUG_BUILD': '', 'PHP_EXTRA_VERSION': '', 'PHP_ZTS': '0', 'PHP_DEBUG': '0',
        'PHP_MAXPATHLEN': '4096', 'PHP_FD_SETSIZE': '1024', 'PHP_FLOAT_DIG': '15', 'PHP_FLOAT_EPSILON': '2.0E-16',
        'PHP_FLOAT_MAX': '2.0E+308', 'PHP_FLOAT_MIN': '2.0E-308',
        'PHP_OUTPUT_HANDLER_START': '1', 'PHP_OUTPUT_HANDLER_WRITE': '0', 'PHP_OUTPUT_HANDLER_FLUSH': '4',
        'PHP_OUTPUT_HANDLER_CLEAN': '2', 'PHP_OUTPUT_HANDLER_FINAL': '8', 'PHP_OUTPUT_HANDLER_CONT': '0',
        'PHP_OUTPUT_HANDLER_END': '8', 'PHP_OUTPUT_HANDLER_CLEANABLE': '16', 'PHP_OUTPUT_HANDLER_FLUSHABLE': '32',
        'PHP_OUTPUT_HANDLER_REMOVABLE': '64', 'PHP_OUTPUT_HANDLER_STDFLAGS': '112', 'PHP_OUTPUT_HANDLER_STARTED': '4096',
        'PHP_OUTPUT_HANDLER_DISABLED': '8192',
        'UPLOAD_ERR_OK': '0', 'UPLOAD_ERR_INI_SIZE': '1', 'UPLOAD_ERR_FORM_SIZE': '2', 'UPLOAD_ERR_PARTIAL': '3',
        'UPLOAD_ERR_NO_FILE': '4', 'UPLOAD_ERR_NO_TMP_DIR': '6', 'UPLOAD_ERR_CANT_WRITE': '7', 'UPLOAD_ERR_EXTENSION': '8',
    }
    if version is not None and version >= (8, 4):
        constants['E_ALL'] = '30719'
    if version_string and len(str(version_string).split('.')) >= 3:
        full = str(version_string)
        major, minor, release = (full.split('.') + ['0'])[:3]
        constants['PHP_VERSION'] = full
        constants['PHP_MAJOR_VERSION'] = major
        constants['PHP_MINOR_VERSION'] = minor
        constants['PHP_RELEASE_VERSION'] = ''.join(ch for ch in release if ch.isdigit()) or '0'
        if major.isdigit() and minor.isdigit():
            constants['PHP_VERSION_ID'] = str(int(major) * 10000 + int(minor) * 100 + int(constants['PHP_RELEASE_VERSION']))
    return constants


def split_scan_dir(raw, default_dir):
    """PHP_INI_SCAN_DIR value -> directories in order. '' disables scanning; an empty element
    stands for the compiled-in default directory."""
    if raw is None:
        return [default_dir] if default_dir else []
    if raw == '':
        return []
    dirs = []
    for element in raw.split(':'):
        if element == '':
            if default_dir:
                dirs.append(default_dir)
        else:
            dirs.append(element)
    return dirs


def list_scan_dir(fs, directory):
    """Files PHP reads from one scan directory, in PHP's order, plus what it skips and why."""
    try:
        names = fs.listdir(directory)
    except HostFSError as error:
        return [], [ChainProblem('SCAN_DIR_UNREADABLE', directory, 'scan directory %s cannot be read: %s' % (directory, error.reason))]
    files = []
    skipped = []
    # php_scandir + alphasort in the "C" locale: byte order.
    for name in sorted(names, key=lambda n: n.encode('utf-8', 'surrogateescape')):
        dot = name.rfind('.')
        if dot < 0 or name[dot:] != '.ini':
            continue
        path = directory + name if directory.endswith('/') else directory + '/' + name
        try:
            mode = fs.stat(path).st_mode
        except HostFSError as error:
            skipped.append(ChainProblem('SCAN_FILE_SKIPPED', path, '%s is skipped by PHP: %s' % (path, error.reason)))
            continue
        if not stat.S_ISREG(mode):
            skipped.append(ChainProblem('SCAN_FILE_SKIPPED', path, '%s is skipped by PHP: not a regular file' % path))
            continue
        files.append(path)
    return files, skipped


class IniChain(object):
    """Load a chain of ini files exactly in PHP's order and keep every assignment."""

    def __init__(self, fs, env=None, version=None, max_bytes=DEFAULT_MAX_INI_BYTES):
        self.fs = fs
        self.env = env if env is not None else {}
        self.version = version
        self.max_bytes = max_bytes
        self._constants = php_constants(version)
        parsed_version = parse_version(version)
        self._var_fallback = parsed_version is None or parsed_version >= (8, 3)

    def load(self, main_ini, scan_dirs):
        config = EffectiveConfig()
        history = {}
        if main_ini:
            if self._read_file(main_ini, config, history) is not None:
                config.loaded_file = main_ini
        config.scan_dirs = list(scan_dirs)
        for directory in scan_dirs:
            files, skipped = list_scan_dir(self.fs, directory)
            config.problems.extend(skipped)
            for path in files:
                if self._read_file(path, config, history):
                    config.scanned_files.append(path)
        for key, chain in history.items():
            if key in config.arrays or key in config.section_arrays:
                # key[] or a section after the last plain assignment: PHP's configuration hash holds an array.
                continue
            winner = chain[-1]
            config.settings[key] = Assignment(winner.value, winner.file, winner.line, list(reversed(chain[:-1])))
        return config

    def _read_file(self, path, config, history):
        """Parse one file into the chain. Returns True when PHP would list it as parsed, False on a
        syntax error (entries before the error still count), None when it could not be read."""
        try:
            text = self.fs.read_text(path, self.max_bytes)
        except HostFSError as error:
            if 'more than' in error.reason:
                config.problems.append(ChainProblem(
                    'INI_FILE_TOO_LARGE', path,
                    '%s was not analysed (%s), but PHP reads it: the values it sets are unknown, so every directive '
                    'shown here may be overridden by it' % (path, error.reason)))
            else:
                config.problems.append(ChainProblem('INI_FILE_UNREADABLE', path, '%s was not analysed: %s' % (path, error.reason)))
            return None
        if '\x00' in text:
            config.problems.append(ChainProblem(
                'INI_BINARY_CONTENT', path,
                '%s contains NUL bytes: PHP reads on past them (a NUL ends a value like a line break), and so does '
                'the analysis' % path))

        def configuration(name):
            if name in config.arrays or name in config.section_arrays:
                return ARRAY
            if name in history:
                return history[name][-1].value
            return None

        def lookup(name):
            value = configuration(name)
            if value is not None:
                config.env_references.append({'name': name, 'file': path, 'source': 'directive', 'value': None if value is ARRAY else value})
                return value
            # getenv() takes the name as a C string: it ends at a NUL
            value = self.env.get(name.split('\x00', 1)[0])
            config.env_references.append({'name': name, 'file': path, 'source': 'environment' if value is not None else 'unset', 'value': value})
            return value

        parser = IniParser(lookup, self._constants, self._var_fallback, configuration)
        parsed = parser.parse(text)
        config.parsed_files.append(path)
        sections = dict((name, key) for key, name, dummy in parsed.sections)
        for key, name, dummy in parsed.sections:
            # php_ini_parser_cb: the section is an array in the configuration hash (found or created)
            if key not in config.arrays:
                config.section_arrays.setdefault(key, [])
        for entry in parsed.entries:
            if entry.kind in (ENTRY_EXTENSION, ENTRY_ZEND_EXTENSION):
                config.extensions.append({'kind': entry.kind, 'value': entry.value, 'file': path, 'line': entry.line})
            elif entry.section is not None:
                config.conditional.append({'section': entry.section, 'key': entry.key, 'value': entry.value, 'file': path, 'line': entry.line})
                target = config.section_arrays.get(sections.get(entry.section))
                if target is None:
                    target = config.arrays.get(sections.get(entry.section))
                    if target is not None and entry.kind == ENTRY_VALUE:
                        # a section whose key is an array of key[] entries: the entry lands in it
                        target.append({'offset': entry.key, 'value': entry.value, 'file': path, 'line': entry.line})
                else:
                    target.append({'offset': entry.key, 'sub': entry.offset if entry.kind == ENTRY_ARRAY else False,
                                   'value': entry.value, 'file': path, 'line': entry.line})
            elif entry.kind == ENTRY_ARRAY:
                # One hash for both: key[] replaces a plain value with a new array, and a later
                # plain assignment replaces the whole array (ZEND_INI_PARSER_POP_ENTRY).
                item = {'offset': entry.offset, 'value': entry.value, 'file': path, 'line': entry.line}
                if entry.key in config.section_arrays:
                    # key[] where the key holds a section: PHP adds to that array
                    config.section_arrays[entry.key].append(dict(item, offset=entry.offset or None, sub=False))
                else:
                    config.arrays.setdefault(entry.key, []).append(item)
            elif entry.kind == ENTRY_VALUE:
                config.arrays.pop(entry.key, None)
                config.section_arrays.pop(entry.key, None)
                history.setdefault(entry.key, []).append(Assignment(entry.value, path, entry.line))
        for note in parsed.notes:
            if note.kind == 'constant':
                config.problems.append(ChainProblem('INI_UNRESOLVED_CONSTANT', path, note.message, note.line))
            elif note.kind in ('unmodelled', 'section'):
                code = 'INI_UNMODELLED' if note.kind == 'unmodelled' else 'INI_SECTION_KEY_TAKEN'
                config.problems.append(ChainProblem(code, path, '%s line %d: %s' % (path, note.line, note.message), note.line))
        for error in parsed.errors:
            config.problems.append(ChainProblem(
                'INI_SYNTAX_ERROR', path,
                'PHP stops reading %s at line %d (%s): later lines are ignored and the file is left out of the parsed list'
                % (path, error.line, error.message), error.line))
        return parsed.ok
