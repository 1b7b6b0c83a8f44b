# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""live.runtime: JIT configured vs running (pure logic; real FPM in tests/oracle/test_live_jit.py)."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.live import runtime


@pytest.mark.parametrize('value, expected', [
    ('64M', 64 * 1024 * 1024), ('1g', 1024 ** 3), ('4096', 4096), ('8k', 8192), ('0', 0), ('', 0), (None, None), (' 32M ', 32 * 1024 * 1024),
])
def test_ini_bytes(value, expected):
    assert runtime.ini_bytes(value) == expected


def _settings(mode, size):
    return {'opcache.jit': {'value': mode}, 'opcache.jit_buffer_size': {'value': size}}


RUNNING = {'enabled': True, 'on': True, 'kind': 5, 'buffer_size': 8388608, 'buffer_free': 8000000}
OFF = {'enabled': False, 'on': False, 'kind': 5, 'buffer_size': 0, 'buffer_free': 0}


@pytest.mark.parametrize('mode, size, status, extensions, state, suspects', [
    ('tracing', '8M', RUNNING, (), 'running', []),
    ('tracing', '0', OFF, (), 'off', []),                       # PHP 8.2's default: no buffer, no JIT, no finding
    ('disable', '64M', OFF, (), 'off', []),
    ('', '64M', OFF, (), 'off', []),
    ('tracing', '64M', OFF, ('Core', 'Xdebug', 'Zend OPcache'), 'disabled', ['xdebug']),
    ('function', '64M', OFF, ('Core',), 'disabled', []),
    ('tracing', '64M', None, (), 'unavailable', []),
])
def test_jit_view(mode, size, status, extensions, state, suspects):
    view = runtime.jit_view(_settings(mode, size), status, extensions)
    assert (view['state'], view['suspects']) == (state, suspects)
    assert view['mode'] == mode
    if state == 'disabled':
        assert ('xdebug' in view['reason']) == bool(suspects)


def test_jit_view_numbers():
    view = runtime.jit_view(_settings('tracing', '8M'), RUNNING)
    assert (view['enabled'], view['on'], view['buffer_size'], view['buffer_free'], view['buffer_size_configured']) == (
        True, True, 8388608, 8000000, 8388608)


# -- capacity ------------------------------------------------------------------------------------

MB = 1024 * 1024


def _status(used=20 * MB, free=100 * MB, wasted=8 * MB, i_size=8 * MB, i_used=2 * MB, keys=500, slots=16229, hits=9000, misses=1000,
            oom=0, hashr=0):
    return {'memory_usage': {'used_memory': used, 'free_memory': free, 'wasted_memory': wasted},
            'interned_strings_usage': {'buffer_size': i_size, 'used_memory': i_used, 'free_memory': i_size - i_used, 'number_of_strings': 10},
            'opcache_statistics': {'num_cached_scripts': keys, 'num_cached_keys': keys, 'max_cached_keys': slots, 'hits': hits, 'misses': misses,
                                   'opcache_hit_rate': 100.0 * hits / (hits + misses), 'oom_restarts': oom, 'hash_restarts': hashr}}


SETTINGS = {'opcache.memory_consumption': {'value': '128'}, 'opcache.interned_strings_buffer': {'value': '8'},
            'opcache.max_accelerated_files': {'value': '10000'}}


def _near(status):
    return dict((n['code'], n) for n in runtime.capacity_view(status, SETTINGS)['near_limit'])


def test_capacity_quiet_when_far_from_the_limits():
    view = runtime.capacity_view(_status(), SETTINGS)
    assert view['near_limit'] == []
    assert view['memory'] == {'configured': 128 * MB, 'used': 20 * MB, 'free': 100 * MB, 'wasted': 8 * MB, 'used_percent': 21.9}
    assert view['keys']['used_percent'] == 3.1 and view['interned_strings']['used_percent'] == 25.0
    assert view['hit_rate'] == 90.0


@pytest.mark.parametrize('free, near', [(13 * MB, False), (12 * MB, True), (0, True)])
def test_memory_threshold(free, near):
    status = _status(used=128 * MB - 8 * MB - free, free=free)
    found = _near(status)
    assert ('LIVE_MEMORY_NEAR_LIMIT' in found) == near
    if near:
        # 120 MB - free used at 75 %: the number to raise to, a multiple of 16 above the configured 128
        assert found['LIVE_MEMORY_NEAR_LIMIT']['suggested'] == runtime.suggest_mb(128 * MB - 8 * MB - free, 128) >= 144
        assert 'raise opcache.memory_consumption to' in found['LIVE_MEMORY_NEAR_LIMIT']['message']


def test_oom_restarts_are_near_the_limit_whatever_is_free_now():
    # what did not fit is not counted: at least twice the configured size
    assert _near(_status(oom=2))['LIVE_MEMORY_NEAR_LIMIT']['suggested'] == 256


def test_a_full_cache_asks_for_twice_the_size():
    status = _status(used=120 * MB, free=0)
    assert _near(status)['LIVE_MEMORY_NEAR_LIMIT']['suggested'] == 160
    status['cache_full'] = True
    found = _near(status)['LIVE_MEMORY_NEAR_LIMIT']
    assert found['suggested'] == 256 and 'the cache is full' in found['message']


def test_interned_strings_threshold():
    assert 'LIVE_INTERNED_STRINGS_NEAR_LIMIT' not in _near(_status(i_used=7 * MB))
    found = _near(_status(i_used=int(7.3 * MB)))['LIVE_INTERNED_STRINGS_NEAR_LIMIT']
    assert found['suggested'] == 16 and found['directive'] == 'opcache.interned_strings_buffer'


@pytest.mark.parametrize('keys, slots, hashr, suggested', [
    (14607, 16229, 0, 32531),     # 90 %
    (14606, 16229, 0, None),
    (100, 16229, 1, 32531),       # a hash restart: the table overflowed, whatever it holds now
    (220, 223, 0, 463),
])
def test_key_slots_threshold(keys, slots, hashr, suggested):
    found = _near(_status(keys=keys, slots=slots, hashr=hashr)).get('LIVE_KEYS_NEAR_LIMIT')
    assert (found['suggested'] if found else None) == suggested


def test_low_hit_rate_is_told_with_a_limit_only():
    assert _near(_status(hits=100, misses=5000)) == {}
    found = _near(_status(free=0, used=120 * MB, hits=100, misses=5000))
    assert 'hit rate is down to 2.0%' in found['LIVE_MEMORY_NEAR_LIMIT']['message']


def test_suggest_slots_primes():
    assert runtime.suggest_slots(300) == 463
    assert runtime.suggest_slots(10 ** 7) == 1048793
