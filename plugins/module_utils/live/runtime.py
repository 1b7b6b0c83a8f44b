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


# ---------------------------------------------------------------------------
# Capacity
# ---------------------------------------------------------------------------

NEAR_LIMIT = 0.90          # used share of a resource from which it is "near the limit"
HEADROOM = 0.75            # the suggested size keeps what is used at 75 % of it
LOW_HIT_RATE = 90.0
MIN_REQUESTS_FOR_HIT_RATE = 1000
MB = 1024 * 1024
FULL_NOTE = '; the cache is full, further scripts run uncached'
# OPcache rounds opcache.max_accelerated_files up to the next of these primes (zend_accelerator_hash.c)
HASH_PRIMES = (5, 11, 19, 53, 107, 223, 463, 983, 1979, 3907, 7963, 16229, 32531, 65407, 130987, 262237, 524521, 1048793)


def _round_up(value, step):
    return int(-(-value // step) * step)


def suggest_mb(used_bytes, configured_mb, step=16):
    """The size in MB to configure so that ``used_bytes`` is at most HEADROOM of it (a multiple of ``step``,
    above ``configured_mb``)."""
    wanted = _round_up(used_bytes / HEADROOM / MB, step)
    return max(wanted, _round_up((configured_mb or 0) + 1, step))


def suggest_slots(keys):
    """opcache.max_accelerated_files for ``keys`` cached keys at HEADROOM: the prime OPcache would use."""
    wanted = int(keys / HEADROOM) + 1
    for prime in HASH_PRIMES:
        if prime >= wanted:
            return prime
    return HASH_PRIMES[-1]


def capacity_view(status, settings):
    """Memory, interned strings and key slots used vs configured, hit rate and restarts of one master
    from ``opcache_get_status(false)``, and what is near its limit: ``{memory, interned_strings,
    keys, hit_rate, oom_restarts, hash_restarts, near_limit: [{code, directive, used_percent,
    configured, suggested, message}]}``."""
    def setting(key):
        return (settings.get(key) or {}).get('value')

    memory = status.get('memory_usage') or {}
    interned = status.get('interned_strings_usage') or {}
    stats = status.get('opcache_statistics') or status.get('statistics') or {}
    view = {'memory': None, 'interned_strings': None, 'keys': None, 'hit_rate': stats.get('opcache_hit_rate'),
            'oom_restarts': stats.get('oom_restarts'), 'hash_restarts': stats.get('hash_restarts'), 'near_limit': []}
    near = view['near_limit']
    if memory.get('used_memory') is not None:
        total = (memory.get('used_memory') or 0) + (memory.get('free_memory') or 0) + (memory.get('wasted_memory') or 0)
        used = memory['used_memory']
        view['memory'] = {'configured': total, 'used': used, 'free': memory.get('free_memory'), 'wasted': memory.get('wasted_memory'),
                          'used_percent': round(100.0 * (total - (memory.get('free_memory') or 0)) / total, 1) if total else None}
        configured_mb = ini_bytes(setting('opcache.memory_consumption'))
        if total and (total - (memory.get('free_memory') or 0)) >= NEAR_LIMIT * total or stats.get('oom_restarts'):
            configured_mb = configured_mb if configured_mb is not None else total // MB
            suggested = suggest_mb(used, configured_mb)
            if status.get('cache_full') or stats.get('oom_restarts'):
                # what did not fit is not counted anywhere: at least twice the size
                suggested = max(suggested, _round_up(2 * configured_mb, 16))
            near.append({'code': 'LIVE_MEMORY_NEAR_LIMIT', 'directive': 'opcache.memory_consumption', 'used_percent': view['memory']['used_percent'],
                         'configured': setting('opcache.memory_consumption'), 'suggested': suggested,
                         'message': 'OPcache memory is %s%% used (%d of %d bytes, %s wasted; %s out-of-memory restarts)%s: raise '
                                    'opcache.memory_consumption to %d' % (view['memory']['used_percent'], total - (memory.get('free_memory') or 0),
                                                                          total, memory.get('wasted_memory'), stats.get('oom_restarts') or 0,
                                                                          FULL_NOTE if status.get('cache_full') else '',
                                                                          suggested)})
    if interned.get('buffer_size'):
        size = interned['buffer_size']
        used = interned.get('used_memory') or 0
        view['interned_strings'] = {'configured': size, 'used': used, 'free': interned.get('free_memory'),
                                    'strings': interned.get('number_of_strings'), 'used_percent': round(100.0 * used / size, 1)}
        if used >= NEAR_LIMIT * size:
            configured_mb = ini_bytes(setting('opcache.interned_strings_buffer'))
            suggested = suggest_mb(used, configured_mb if configured_mb is not None else size // MB, 8)
            near.append({'code': 'LIVE_INTERNED_STRINGS_NEAR_LIMIT', 'directive': 'opcache.interned_strings_buffer',
                         'used_percent': view['interned_strings']['used_percent'], 'configured': setting('opcache.interned_strings_buffer'),
                         'suggested': suggested,
                         'message': 'the interned strings buffer is %s%% used (%d of %d bytes): further strings are stored per script; raise '
                                    'opcache.interned_strings_buffer to %d' % (view['interned_strings']['used_percent'], used, size, suggested)})
    if stats.get('max_cached_keys'):
        keys, slots = stats.get('num_cached_keys') or 0, stats['max_cached_keys']
        view['keys'] = {'configured': slots, 'used': keys, 'scripts': stats.get('num_cached_scripts'), 'used_percent': round(100.0 * keys / slots, 1)}
        if keys >= NEAR_LIMIT * slots or stats.get('hash_restarts'):
            suggested = suggest_slots(max(keys, slots if stats.get('hash_restarts') else keys))
            near.append({'code': 'LIVE_KEYS_NEAR_LIMIT', 'directive': 'opcache.max_accelerated_files', 'used_percent': view['keys']['used_percent'],
                         'configured': setting('opcache.max_accelerated_files'), 'suggested': suggested,
                         'message': 'OPcache key slots are %s%% used (%d of %d; %s hash restarts): raise opcache.max_accelerated_files to %d'
                                    % (view['keys']['used_percent'], keys, slots, stats.get('hash_restarts') or 0, suggested)})
    requests = (stats.get('hits') or 0) + (stats.get('misses') or 0)
    rate = view['hit_rate']
    if near and rate is not None and requests >= MIN_REQUESTS_FOR_HIT_RATE and rate < LOW_HIT_RATE:
        for item in near:
            item['message'] += ' (the hit rate is down to %.1f%% over %d requests)' % (rate, requests)
    return view
