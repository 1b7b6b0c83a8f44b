# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11): JIT configured vs running, against REAL private php-fpm masters.

``tracing`` runs ``opcache.jit=tracing`` with ``opcache.jit_buffer_size=8M`` (the JIT runs);
``nobuffer`` the same mode with ``opcache.jit_buffer_size=0`` (which turns the JIT off: no finding)."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.tests.oracle.live_env import live_of, live_scratch, private_master

CASES = {'tracing': '8M', 'nobuffer': '0'}


@pytest.fixture(scope='module')
def reports():
    with live_scratch('jit') as (base, probe_dir, started):
        for name, size in CASES.items():
            started.append(private_master(base, name, [('opcache.jit', 'tracing'), ('opcache.jit_buffer_size', size)]).start())
        yield dict((name, live_of(fpm, probe_dir)) for name, fpm in zip(CASES, started))


def test_jit_runs_with_a_buffer(reports):
    jit = reports['tracing']['masters'][0]['jit']
    assert (jit['mode'], jit['state'], jit['enabled'], jit['on']) == ('tracing', 'running', True, True)
    assert jit['buffer_size_configured'] == 8 * 1024 * 1024
    assert 0 < jit['buffer_size'] <= 8 * 1024 * 1024 and 0 < jit['buffer_free'] <= jit['buffer_size']
    assert 'LIVE_JIT_DISABLED' not in [f['code'] for f in reports['tracing']['findings']]


def test_jit_buffer_zero_turns_it_off_without_a_finding(reports):
    jit = reports['nobuffer']['masters'][0]['jit']
    assert (jit['mode'], jit['state'], jit['enabled'], jit['on'], jit['buffer_size_configured']) == ('tracing', 'off', False, False, 0)
    assert 'jit_buffer_size=0' in jit['reason']
    assert 'LIVE_JIT_DISABLED' not in [f['code'] for f in reports['nobuffer']['findings']]
