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
