# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions about what a running OPcache does with its configuration: JIT configured vs
running. Inputs are the probe's answer (ini values of the probing pool, ``opcache_get_status()``,
the loaded extensions); outputs are plain dicts for the result."""

from __future__ import annotations

import re

JIT_OFF_MODES = frozenset(('disable', 'off', '0', 'no', 'false', ''))
# Extensions known to replace zend_execute_ex or hook the executor: with one loaded, PHP disables the
# JIT at startup ("JIT is incompatible with third party extensions that override zend_execute_ex().
# JIT disabled.").
EXECUTOR_HOOKS = ('xdebug', 'pcov', 'ddtrace', 'newrelic', 'blackfire', 'tideways', 'tideways_xhprof', 'xhprof', 'excimer', 'opencensus')

_QUANTITY_RE = re.compile(r'^\s*([-+]?\d+)\s*([kKmMgG]?)')


def ini_bytes(value):
    """A PHP quantity (``64M``, ``1g``, ``4096``) in bytes, as zend_atol reads it; None when unset."""
    if value is None:
        return None
    match = _QUANTITY_RE.match(str(value))
    if not match:
        return 0
    number = int(match.group(1))
    return number * {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}[match.group(2).lower()]


def jit_view(settings, status_jit, extensions=()):
    """The JIT of one master: ``{mode, buffer_size_configured, enabled, on, buffer_size, buffer_free,
    state, reason, suspects}``. ``settings``: {directive: {value}} of the probing pool; ``status_jit``:
    ``opcache_get_status()['jit']`` (None when PHP is built without JIT); ``extensions``: the names
    of the loaded extensions (PHP and Zend). ``state``: ``off`` (configured off), ``running``,
    ``disabled`` (configured on, not running: the finding) or ``unavailable``."""
    mode = (settings.get('opcache.jit') or {}).get('value')
    buffer_configured = ini_bytes((settings.get('opcache.jit_buffer_size') or {}).get('value'))
    view = {'mode': mode, 'buffer_size_configured': buffer_configured, 'enabled': None, 'on': None, 'buffer_size': None,
            'buffer_free': None, 'state': None, 'reason': None, 'suspects': []}
    if isinstance(status_jit, dict):
        for key in ('enabled', 'on', 'buffer_size', 'buffer_free'):
            view[key] = status_jit.get(key)
    configured_on = mode is not None and str(mode).strip().lower() not in JIT_OFF_MODES
    if not configured_on:
        view['state'] = 'off'
        view['reason'] = 'opcache.jit=%s' % (mode if mode else '(empty)') if mode is not None else 'opcache.jit is not known to this PHP'
        return view
    if not buffer_configured:
        view['state'] = 'off'
        view['reason'] = 'opcache.jit_buffer_size=%s turns the JIT off' % ((settings.get('opcache.jit_buffer_size') or {}).get('value'),)
        return view
    if not isinstance(status_jit, dict):
        view['state'] = 'unavailable'
        view['reason'] = 'opcache_get_status() has no jit part: PHP is built without JIT'
        return view
    if view['enabled'] and view['on']:
        view['state'] = 'running'
        return view
    view['state'] = 'disabled'
    loaded = set(str(e).lower() for e in extensions or ())
    view['suspects'] = [name for name in EXECUTOR_HOOKS if name in loaded]
    if view['suspects']:
        view['reason'] = ('PHP disabled the JIT at startup: %s hook%s the executor ("JIT is incompatible with third party extensions '
                          'that override zend_execute_ex()")' % (', '.join(view['suspects']), 's' if len(view['suspects']) == 1 else ''))
    else:
        view['reason'] = ('opcache.jit=%s with a %d-byte buffer is configured but the JIT is %s: see the master\'s error log for the '
                          'startup warning' % (mode, buffer_configured, 'not enabled' if not view['enabled'] else 'switched off'))
    return view
