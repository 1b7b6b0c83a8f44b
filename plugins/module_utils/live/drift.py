# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions about live values: where a pool's value comes from, and which running values
differ from the disk (the master's file chain, a pool's php_value/php_admin_value)."""

from __future__ import annotations

from ansible_collections.phpops.opcache.plugins.module_utils.findings import evidence, php_bool
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import STARTUP_ONLY

INI_ACCESS_SYSTEM = 4
POOL_ORIGINS = ('php_value', 'php_flag', 'php_admin_value', 'php_admin_flag')


def classify_origin(local, global_value, access, cfg, native_changeable=None, override=None, default=None, value_type=None):
    """Where a pool's live value comes from, from ``ini_get_all`` details and ``get_cfg_var``.

    FPM applies pool overrides in each worker by replacing the entry's value (so local == global)
    and, for php_admin_*, by lowering ``access`` to PHP_INI_SYSTEM (4). ``get_cfg_var`` only knows
    the ini files, so a pool value over a directive the files do not set looks like a default from
    PHP alone: ``override`` (the pool file's winning ``(kind, value, file, line)`` on disk) and
    ``default`` (PHP's built-in value) tell them apart. Returns ``runtime`` (local differs from global:
    ini_set, .user.ini, [PATH=]/[HOST=]), the override's kind (``php_value``, ``php_flag``,
    ``php_admin_value``, ``php_admin_flag``), ``ini`` or ``default``."""
    if local != global_value:
        return 'runtime'
    if override is not None and values_equal(None, local, override[1], 'bool' if override[0].endswith('_flag') else value_type):
        return override[0]
    if access == INI_ACCESS_SYSTEM and native_changeable == 'PHP_INI_ALL':
        return 'php_admin_value'
    if cfg is not None:
        if local != cfg:
            return 'php_admin_value' if access == INI_ACCESS_SYSTEM else 'php_value'
        return 'ini'
    if default is not None and not values_equal(None, local, default, value_type):
        # neither the files nor PHP's default: the pool set it (its file on disk no longer does)
        return 'php_admin_value' if access == INI_ACCESS_SYSTEM else 'php_value'
    return 'default'


def values_equal(key, left, right, value_type=None):
    """Compare two raw ini strings as PHP would use them (booleans by truthiness)."""
    if left == right:
        return True
    if left is None or right is None:
        return False
    if value_type == 'bool':
        return php_bool(left) == php_bool(right)
    return str(left).strip() == str(right).strip()


def chain_drift(running_cfg, disk_values, table, live_values=None):
    """Directives whose file-chain value on disk differs from what the running master read
    (``get_cfg_var``). ``running_cfg`` and ``disk_values``: {key: raw string or None}. A directive
    the files do not set runs (or would run) with its default: both sides always show the value in
    effect (``running``, ``disk``) and where it comes from (``running_origin``, ``disk_origin``:
    ``ini`` or ``default``). The default is PHP's (``table``), else the one the probe saw
    (``live_values``: {key: global value})."""
    live_values = live_values or {}
    drift = []
    for key in sorted(set(running_cfg) | set(k for k in disk_values if k.startswith('opcache.'))):
        directive = table.get(key)
        default = directive.default if directive is not None else live_values.get(key)
        running = running_cfg.get(key)
        disk = disk_values.get(key)
        running_effective = running if running is not None else default
        disk_effective = disk if disk is not None else default
        if not values_equal(key, running_effective, disk_effective, directive.type if directive else None):
            drift.append({'directive': key, 'running': running_effective, 'disk': disk_effective,
                          'running_origin': 'ini' if running is not None else 'default',
                          'disk_origin': 'ini' if disk is not None else 'default'})
    return drift


def pool_drift(live_settings, disk_overrides, table):
    """Pool overrides that differ between the running worker and the pool file on disk.
    ``live_settings``: {key: {value, origin}}; ``disk_overrides``: {key: (kind, value, file, line)}."""
    drift = []
    for key in sorted(set(live_settings) | set(disk_overrides)):
        if not key.startswith('opcache.') or key in STARTUP_ONLY:
            continue
        live = live_settings.get(key) or {}
        live_is_pool = live.get('origin') in POOL_ORIGINS
        disk = disk_overrides.get(key)
        directive = table.get(key)
        vtype = directive.type if directive else None
        if disk is None and live_is_pool:
            drift.append({'directive': key, 'running': live.get('value'), 'disk': None, 'reason': 'override removed from the pool file'})
        elif disk is not None and not values_equal(key, live.get('value'), disk[1], vtype):
            drift.append({'directive': key, 'running': live.get('value'), 'disk': disk[1], 'reason': '%s changed' % disk[0],
                          'evidence': evidence(disk[2], disk[3])})
    return drift


def pool_settings(data, table, overrides=None):
    """A pool's live settings from a probe answer: {directive: {value, origin, access, global_value,
    cfg_value, file, line}}. ``overrides``: the pool's php_value/php_admin_value/php_flag/php_admin_flag
    on disk, {directive: (kind, value, file, line)}; ``file`` and ``line`` name the pool line of a
    pool origin (None otherwise)."""
    settings = {}
    overrides = overrides or {}
    for key, details in sorted((data.get('ini') or {}).items()):
        directive = table.get(key)
        access = details.get('access')
        override = overrides.get(key)
        origin = classify_origin(details.get('local'), details.get('global'), access, details.get('cfg'),
                                 directive.changeable if directive else None, override,
                                 directive.default if directive else None, directive.type if directive else None)
        at_pool_line = override is not None and origin in POOL_ORIGINS
        settings[key] = {
            'value': details.get('local'),
            'origin': origin,
            'access': access,
            'global_value': details.get('global'),
            'cfg_value': details.get('cfg'),
            'file': override[2] if at_pool_line else None,
            'line': override[3] if at_pool_line else None,
        }
    return settings
