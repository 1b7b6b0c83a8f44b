# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OPcache directive table: defaults, changeability and types, per PHP version.

Defaults are the strings ``ini_get()`` returns when nothing sets the directive (read from
ext/opcache/zend_accelerator_module.c and checked against ``ini_get_all('zend opcache')`` of a real
PHP 8.2). ``PHP_INI_ALL`` directives are read per request and so can differ per FPM pool;
``PHP_INI_SYSTEM`` ones are fixed when the FPM master creates the shared memory.
"""

from __future__ import annotations

ALL = 'PHP_INI_ALL'
SYSTEM = 'PHP_INI_SYSTEM'

# name: (default, changeable, type, since, until)   since/until: (major, minor) or None
_TABLE = {
    'opcache.enable': ('1', ALL, 'bool', None, None),
    'opcache.enable_cli': ('0', SYSTEM, 'bool', None, None),
    'opcache.use_cwd': ('1', SYSTEM, 'bool', None, None),
    'opcache.validate_timestamps': ('1', ALL, 'bool', None, None),
    'opcache.validate_permission': ('0', SYSTEM, 'bool', None, None),
    'opcache.validate_root': ('0', SYSTEM, 'bool', None, None),
    'opcache.dups_fix': ('0', ALL, 'bool', None, None),
    'opcache.revalidate_path': ('0', ALL, 'bool', None, None),
    'opcache.log_verbosity_level': ('1', SYSTEM, 'int', None, None),
    'opcache.memory_consumption': ('128', SYSTEM, 'int', None, None),
    'opcache.interned_strings_buffer': ('8', SYSTEM, 'int', None, None),
    'opcache.max_accelerated_files': ('10000', SYSTEM, 'int', None, None),
    'opcache.max_wasted_percentage': ('5', SYSTEM, 'int', None, None),
    'opcache.consistency_checks': ('0', ALL, 'int', None, (8, 3)),
    'opcache.force_restart_timeout': ('180', SYSTEM, 'int', None, None),
    'opcache.revalidate_freq': ('2', ALL, 'int', None, None),
    'opcache.file_update_protection': ('2', ALL, 'int', None, None),
    'opcache.preferred_memory_model': ('', SYSTEM, 'string', None, None),
    'opcache.blacklist_filename': ('', SYSTEM, 'path', None, None),
    'opcache.max_file_size': ('0', SYSTEM, 'int', None, None),
    'opcache.protect_memory': ('0', SYSTEM, 'bool', None, None),
    'opcache.save_comments': ('1', SYSTEM, 'bool', None, None),
    'opcache.record_warnings': ('0', SYSTEM, 'bool', (8, 0), None),
    'opcache.optimization_level': ('0x7FFEBFFF', SYSTEM, 'int', None, None),
    'opcache.opt_debug_level': ('0', SYSTEM, 'int', None, None),
    'opcache.enable_file_override': ('0', SYSTEM, 'bool', None, None),
    'opcache.error_log': ('', SYSTEM, 'path', None, None),
    'opcache.restrict_api': ('', SYSTEM, 'path', None, None),
    'opcache.lockfile_path': ('/tmp', SYSTEM, 'path', None, None),
    'opcache.file_cache': (None, SYSTEM, 'path', None, None),
    'opcache.file_cache_read_only': ('0', SYSTEM, 'bool', (8, 5), None),
    'opcache.file_cache_only': ('0', SYSTEM, 'bool', None, None),
    'opcache.file_cache_consistency_checks': ('1', SYSTEM, 'bool', None, None),
    'opcache.huge_code_pages': ('0', SYSTEM, 'bool', None, None),
    'opcache.preload': ('', SYSTEM, 'path', (7, 4), None),
    'opcache.preload_user': ('', SYSTEM, 'string', (7, 4), None),
    'opcache.jit': ('tracing', ALL, 'jit', (8, 0), None),
    'opcache.jit_buffer_size': ('0', SYSTEM, 'size', (8, 0), None),
    'opcache.jit_debug': ('0', ALL, 'int', (8, 0), None),
    'opcache.jit_bisect_limit': ('0', ALL, 'int', (8, 0), None),
    'opcache.jit_prof_threshold': ('0.005', ALL, 'float', (8, 0), None),
    'opcache.jit_max_root_traces': ('1024', SYSTEM, 'int', (8, 0), None),
    'opcache.jit_max_side_traces': ('128', SYSTEM, 'int', (8, 0), None),
    'opcache.jit_max_exit_counters': ('8192', SYSTEM, 'int', (8, 0), None),
    'opcache.jit_hot_loop': ('64', SYSTEM, 'int', (8, 0), None),
    'opcache.jit_hot_func': ('127', SYSTEM, 'int', (8, 0), None),
    'opcache.jit_hot_return': ('8', SYSTEM, 'int', (8, 0), None),
    'opcache.jit_hot_side_exit': ('8', ALL, 'int', (8, 0), None),
    'opcache.jit_blacklist_root_trace': ('16', ALL, 'int', (8, 0), None),
    'opcache.jit_blacklist_side_trace': ('8', ALL, 'int', (8, 0), None),
    'opcache.jit_max_loop_unrolls': ('8', ALL, 'int', (8, 0), None),
    'opcache.jit_max_recursive_calls': ('2', ALL, 'int', (8, 0), None),
    'opcache.jit_max_recursive_returns': ('2', ALL, 'int', (8, 0), None),
    'opcache.jit_max_polymorphic_calls': ('2', ALL, 'int', (8, 0), None),
    'opcache.jit_max_trace_length': ('1024', ALL, 'int', (8, 3), None),
}

# Defaults that changed between versions: name -> [(since, default)], newest last.
_DEFAULT_CHANGES = {
    'opcache.jit': [((8, 4), 'disable')],
    'opcache.jit_buffer_size': [((8, 4), '64M')],
}

# Changing these per FPM pool is reported by ini_get() but has no effect: the shared memory,
# the JIT buffer and the blacklist are set up once by the master.
STARTUP_ONLY = frozenset(name for name, row in _TABLE.items() if row[1] == SYSTEM)

# Words the ini scanner rewrites to "1"/"" before opcache.jit sees them.
JIT_WORDS = frozenset(['disable', 'off', 'on', 'tracing', 'function'])


def parse_version(version):
    """'8.2.36' or '8.2' -> (8, 2); None or garbage -> None."""
    if not version:
        return None
    parts = str(version).split('.')
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


class Directive(object):
    __slots__ = ('name', 'default', 'changeable', 'type')

    def __init__(self, name, default, changeable, value_type):
        self.name = name
        self.default = default
        self.changeable = changeable
        self.type = value_type

    @property
    def per_pool(self):
        return self.changeable == ALL


def directives_for(version=None):
    """The directives that exist in ``version`` ('8.2.36', '8.2', or None for the newest known)."""
    wanted = parse_version(version)
    result = {}
    for name, (default, changeable, value_type, since, until) in _TABLE.items():
        if wanted is not None:
            if since is not None and wanted < since:
                continue
            if until is not None and wanted >= until:
                continue
        elif until is not None:
            continue
        for changed_in, new_default in _DEFAULT_CHANGES.get(name, []):
            if wanted is None or wanted >= changed_in:
                default = new_default
        result[name] = Directive(name, default, changeable, value_type)
    return result


def known_directive_names():
    """Every directive any supported version knows (to tell 'removed' from 'unknown')."""
    return frozenset(_TABLE)


def opcache_is_builtin(version):
    """PHP 8.5 compiles OPcache in: a zend_extension=opcache line only warns."""
    wanted = parse_version(version)
    return wanted is not None and wanted >= (8, 5)
