# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read php-fpm.conf, its ``include`` globs and every pool, with the ini overrides pools apply.

PHP-FPM reads its configuration line by line, handing each line to PHP's own ini parser
(sapi/fpm/fpm/fpm_conf.c), so the same scanner rules apply (``off`` is "", quotes, ``${VAR}``), but
a value cannot span lines. ``[global]`` holds master settings; every other section is a pool.
``php_value``/``php_flag`` and ``php_admin_value``/``php_admin_flag`` are applied in each worker after
fork: the admin list after the plain one, so an admin value always wins.
"""

from __future__ import annotations

import posixpath
import re

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import ENTRY_ARRAY, IniParser

POOL_INI_KINDS = ('php_value', 'php_flag', 'php_admin_value', 'php_admin_flag')
_SECTION_RE = re.compile(r'^[ \t]*\[([^\]]*)\][ \t]*$')
# A blank or comment-only line: PHP's ini scanner reads it as an end of line and nothing else, so it
# is not handed to the parser (most lines of a distribution's php-fpm.conf and www.conf).
_NOTHING_RE = re.compile(r'[ \t]*(?:;[^\r\n]*)?\Z')
MAX_INCLUDE_DEPTH = 10


class PoolOverride(object):
    __slots__ = ('kind', 'key', 'value', 'file', 'line')

    def __init__(self, kind, key, value, file_path, line):
        self.kind = kind
        self.key = key
        self.value = value
        self.file = file_path
        self.line = line

    @property
    def admin(self):
        return self.kind.startswith('php_admin')

    def as_dict(self):
        return {'kind': self.kind, 'value': self.value, 'file': self.file, 'line': self.line}


class Pool(object):
    def __init__(self, name, file_path, line):
        self.name = name
        self.file = file_path
        self.line = line
        self.settings = {}      # key -> (value, file, line)
        self.overrides = []     # PoolOverride, in file order
        self.env = {}

    def get(self, key, default=None):
        found = self.settings.get(key)
        return found[0] if found else default

    def effective_override(self, key):
        """The override that wins for ``key`` in this pool, and those it beat."""
        plain = [o for o in self.overrides if o.key == key and not o.admin]
        admin = [o for o in self.overrides if o.key == key and o.admin]
        ordered = plain + admin
        if not ordered:
            return None, []
        return ordered[-1], list(reversed(ordered[:-1]))


class FpmConfig(object):
    def __init__(self, path):
        self.path = path
        self.global_settings = {}   # key -> (value, file, line)
        self.pools = []
        self.files = []
        self.problems = []          # (code, file, line, message)

    def get(self, key, default=None):
        found = self.global_settings.get(key)
        return found[0] if found else default


def _to_flag(value):
    """FPM turns php_flag values into "1"/"0" the way zend_ini_parse_bool does."""
    lowered = value.strip().lower()
    if lowered in ('on', 'yes', 'true'):
        return '1'
    match = re.match(r'\s*[+-]?\d+', value)
    return '1' if match and int(match.group(0)) != 0 else '0'


class FpmConfigReader(object):
    def __init__(self, fs, env=None, prefix=None):
        self.fs = fs
        self.env = env or {}
        self.prefix = prefix

    def read(self, path):
        config = FpmConfig(path)
        self._read_file(path, config, [None], 0)
        for pool in config.pools:
            for key, (value, file_path, line) in list(pool.settings.items()):
                if '$pool' in value:
                    pool.settings[key] = (value.replace('$pool', pool.name), file_path, line)
        return config

    def _read_file(self, path, config, section, depth):
        try:
            text = self.fs.read_text(path, 4 * 1024 * 1024)
        except HostFSError as error:
            config.problems.append(('FPM_CONF_UNREADABLE', path, None, 'FPM configuration %s cannot be read: %s' % (path, error.reason)))
            return
        config.files.append(path)
        for number, raw in enumerate(re.split(r'\r\n|\n|\r', text), 1):
            match = _SECTION_RE.match(raw)
            if match:
                name = match.group(1).strip()
                if name == 'global':
                    section[0] = None
                else:
                    existing = [p for p in config.pools if p.name == name]
                    if existing:
                        section[0] = existing[0]
                    else:
                        section[0] = Pool(name, path, number)
                        config.pools.append(section[0])
                continue
            if _NOTHING_RE.match(raw):
                continue
            parsed = IniParser(lookup=self.env.get).parse(raw + '\n')
            if parsed.errors:
                config.problems.append(('FPM_CONF_SYNTAX', path, number, 'PHP-FPM rejects %s line %d: %s' % (path, number, parsed.errors[0].message)))
                continue
            for entry in parsed.entries:
                self._apply(entry, path, number, config, section, depth)

    def _apply(self, entry, path, number, config, section, depth):
        pool = section[0]
        if entry.key == 'include' and entry.kind != ENTRY_ARRAY:
            self._include(entry.value, path, number, config, section, depth)
            return
        if entry.kind == ENTRY_ARRAY:
            if pool is None:
                config.problems.append(('FPM_CONF_GLOBAL_ARRAY', path, number, '%s line %d: %s[] outside a pool is ignored' % (path, number, entry.key)))
                return
            if entry.key in POOL_INI_KINDS and entry.offset:
                value = _to_flag(entry.value) if entry.key.endswith('_flag') else entry.value
                pool.overrides.append(PoolOverride(entry.key, entry.offset, value, path, number))
            elif entry.key == 'env' and entry.offset:
                pool.env[entry.offset] = entry.value
            return
        target = pool.settings if pool is not None else config.global_settings
        target[entry.key] = (entry.value, path, number)

    def _include(self, pattern, path, number, config, section, depth):
        if depth >= MAX_INCLUDE_DEPTH:
            config.problems.append(('FPM_CONF_INCLUDE_DEPTH', path, number, '%s line %d: includes nested too deeply' % (path, number)))
            return
        if not pattern.startswith('/'):
            base = self.prefix or posixpath.dirname(config.path)
            pattern = posixpath.join(base, pattern)
        matches = self.fs.glob(pattern)
        if not matches and not any(ch in pattern for ch in '*?['):
            config.problems.append(('FPM_CONF_INCLUDE_MISSING', path, number, '%s line %d: include %s matches no file' % (path, number, pattern)))
        for match in matches:
            self._read_file(match, config, section, depth + 1)


def read_fpm_config(fs, path, env=None, prefix=None):
    return FpmConfigReader(fs, env, prefix).read(path)
