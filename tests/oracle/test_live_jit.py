# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11): JIT configured vs running, against REAL private php-fpm masters.

``tracing`` runs ``opcache.jit=tracing`` with ``opcache.jit_buffer_size=8M`` (the JIT runs);
``nobuffer`` the same mode with ``opcache.jit_buffer_size=0`` (which turns the JIT off: no finding)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.live import masters as proc_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live import report as live_view
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import FPM_BINARY, PHP_VERSION, PrivateFpm, opcache_ini

CASES = {'tracing': '8M', 'nobuffer': '0'}


@pytest.fixture(scope='module')
def reports():
    if not os.path.isfile(FPM_BINARY):
        pytest.fail('php-fpm binary %s is missing (apt-get install php%s-fpm)' % (FPM_BINARY, PHP_VERSION), pytrace=False)
    if os.geteuid() != 0:
        pytest.fail('this oracle needs root (pool users)', pytrace=False)
    base = tempfile.mkdtemp(prefix='livejit', dir='/tmp')
    os.chmod(base, 0o755)
    probe_dir = '/run/phpops-test-jit-%d' % os.getpid()
    started = {}
    try:
        for name, size in CASES.items():
            fpm = PrivateFpm(FPM_BINARY, directory=os.path.join(base, name), php_ini='; test\n', connect_unix=False,
                             conf_d={'10-opcache.ini': opcache_ini([('opcache.enable', 1), ('opcache.jit', 'tracing'),
                                                                    ('opcache.jit_buffer_size', size)])})
            fpm.add_pool('www', os.path.join(base, '%s.sock' % name), user='www-data', group='www-data')
            started[name] = fpm.start()
        found = dict((m.pid, m) for m in proc_masters.find_fpm_masters())
        result = {}
        for name, fpm in started.items():
            report = live_view.live_report(HostFS('/'), None, probe_dir=probe_dir, masters=[found[fpm.master_pid]])
            result[name] = report
        yield result
    finally:
        for fpm in started.values():
            fpm.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(probe_dir, ignore_errors=True)


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
