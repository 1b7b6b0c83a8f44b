# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11): JIT configured vs running, against REAL private php-fpm masters.

``tracing`` runs ``opcache.jit=tracing`` with ``opcache.jit_buffer_size=8M`` (the JIT runs);
``nobuffer`` the same mode with ``opcache.jit_buffer_size=0`` (which turns the JIT off: no finding).

The other masters load a real extension that hooks the executor next to ``opcache.jit=tracing``
with an 8M buffer: Debian's Xdebug and pcov builds for the PHP under test, unpacked (never
installed) by scripts/setup-host under /var/cache/phpops-opcache-ext. What PHP 8.2 really does
(php -d zend_extension=xdebug.so -d opcache.enable_cli=1 -d opcache.jit=tracing ...): with Xdebug
in its default mode (``develop``, Debian's xdebug.ini sets none) and with pcov enabled (its
default), PHP warns at startup "JIT is incompatible with third party extensions that override
zend_execute_ex(). JIT disabled." and ``opcache_get_status()['jit']`` says enabled=false, on=false,
buffer_size=0. With ``xdebug.mode=off`` or ``pcov.enabled=0`` the extension does not hook the
executor and the JIT runs although it is loaded.

Without those .so files the tests FAIL, except outside CI when scripts/setup-host recorded that it
could not download them (offline machine): then they skip with that reason."""

from __future__ import annotations

import glob
import os
import re
import subprocess

import pytest

from ansible_collections.phpops.opcache.tests.oracle.live_env import live_of, live_scratch, private_master
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import FPM_BINARY, PHP_VERSION, PrivateFpm, opcache_ini

CASES = {'tracing': '8M', 'nobuffer': '0'}
EXT_CACHE = os.path.join(os.environ.get('PHPOPS_TEST_EXT_CACHE') or '/var/cache/phpops-opcache-ext', 'php%s' % PHP_VERSION)
JIT_ON = [('opcache.jit', 'tracing'), ('opcache.jit_buffer_size', '8M')]
PHP_WARNING = 'JIT is incompatible with third party extensions that override zend_execute_ex(). JIT disabled.'
# name: (extension, ini lines after the load line)
HOOKED = {'xdebug': ('xdebug', ''), 'xdebug_off': ('xdebug', 'xdebug.mode=off\n'),
          'pcov': ('pcov', ''), 'pcov_off': ('pcov', 'pcov.enabled=0\n')}


def _fpm_extension_api():
    out = subprocess.run([FPM_BINARY, '-n', '-i'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60, check=False).stdout.decode()
    match = re.search(r'^extension_dir => (\S+)', out, re.M)
    return os.path.basename(match.group(1)) if match else '*'


def find_so(name, api):
    """The unpacked ``<name>.so`` built for extension API ``api``; None when there is none."""
    found = sorted(glob.glob(os.path.join(EXT_CACHE, 'root', 'usr', 'lib', 'php', api, name + '.so')))
    return found[-1] if found else None


def require_so(name, api):
    """find_so, or FAIL (skip: see the module docstring) saying why the .so is not there."""
    found = find_so(name, api)
    if found:
        return found
    marker = os.path.join(EXT_CACHE, 'UNAVAILABLE')
    reason = open(marker, encoding='utf-8').read().strip() if os.path.isfile(marker) else 'scripts/setup-host has not unpacked it'
    message = '%s.so for PHP %s (API %s) is missing under %s/root: %s (scripts/setup-host downloads php%s-%s there)' % (
        name, PHP_VERSION, api, EXT_CACHE, reason, PHP_VERSION, name)
    if os.path.isfile(marker) and os.environ.get('CI', '').lower() not in ('true', '1', 'yes'):
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def hooked_master(base, name, so, extension, lines):
    """A private master with OPcache (JIT tracing, 8M) and ``extension`` loaded from ``so``."""
    load = '%s=%s\n' % ('zend_extension' if extension == 'xdebug' else 'extension', so)
    php_ini = 'log_errors = On\nerror_log = %s\n' % os.path.join(base, name + '-php-errors.log')
    fpm = PrivateFpm(FPM_BINARY, directory=os.path.join(base, name), php_ini=php_ini, connect_unix=False,
                     conf_d={'10-opcache.ini': opcache_ini([('opcache.enable', 1)] + JIT_ON), '20-%s.ini' % extension: load + lines})
    fpm.add_pool('www', os.path.join(base, '%s-www.sock' % name), user='www-data', group='www-data')
    return fpm


@pytest.fixture(scope='module')
def reports():
    with live_scratch('jit') as (base, probe_dir, started):
        fpms = dict((name, private_master(base, name, [('opcache.jit', 'tracing'), ('opcache.jit_buffer_size', size)]))
                    for name, size in CASES.items())
        api = _fpm_extension_api()
        for name, (ext, lines) in HOOKED.items():
            so = find_so(ext, api)
            if so:      # else the tests of that case fail (require_so)
                fpms[name] = hooked_master(base, name, so, ext, lines)
        for fpm in fpms.values():
            started.append(fpm.start())
        result = dict((name, dict(live_of(fpm, probe_dir), log=_read(os.path.join(base, name + '-php-errors.log')))) for name, fpm in fpms.items())
        result['api'] = api
        yield result


def _read(path):
    """PHP's own error log of a master (its startup warnings); '' when PHP wrote none."""
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            return handle.read()
    except OSError:
        return ''


def _codes(report):
    return [f['code'] for f in report['findings']]


def test_jit_runs_with_a_buffer(reports):
    jit = reports['tracing']['masters'][0]['jit']
    assert (jit['mode'], jit['state'], jit['enabled'], jit['on']) == ('tracing', 'running', True, True)
    assert jit['buffer_size_configured'] == 8 * 1024 * 1024
    assert 0 < jit['buffer_size'] <= 8 * 1024 * 1024 and 0 < jit['buffer_free'] <= jit['buffer_size']
    assert 'LIVE_JIT_DISABLED' not in _codes(reports['tracing'])


def test_jit_buffer_zero_turns_it_off_without_a_finding(reports):
    jit = reports['nobuffer']['masters'][0]['jit']
    assert (jit['mode'], jit['state'], jit['enabled'], jit['on'], jit['buffer_size_configured']) == ('tracing', 'off', False, False, 0)
    assert 'jit_buffer_size=0' in jit['reason']
    assert 'LIVE_JIT_DISABLED' not in _codes(reports['nobuffer'])


@pytest.mark.parametrize('name', ['xdebug', 'pcov'])
def test_an_executor_hook_turns_the_jit_off_and_is_named(reports, name):
    """Configured tracing + 8M, but PHP disabled the JIT at startup because the extension hooks the
    executor: the live view says so and names the extension; the finding names it too."""
    require_so(HOOKED[name][0], reports['api'])
    report = reports[name]
    assert PHP_WARNING in report['log'], 'PHP did not warn as expected; its error log:\n%s' % report['log']
    jit = report['masters'][0]['jit']
    assert (jit['mode'], jit['buffer_size_configured'], jit['state'], jit['enabled'], jit['on'], jit['buffer_size']) == (
        'tracing', 8 * 1024 * 1024, 'disabled', False, False, 0)
    assert jit['suspects'] == [name] and name in jit['reason'], jit
    findings = [f for f in report['findings'] if f['code'] == 'LIVE_JIT_DISABLED']
    assert len(findings) == 1 and name in findings[0]['message'], report['findings']


@pytest.mark.parametrize('name', ['xdebug_off', 'pcov_off'])
def test_a_loaded_but_inactive_hook_leaves_the_jit_running(reports, name):
    """xdebug.mode=off / pcov.enabled=0: the extension is loaded but does not hook the executor, so
    PHP keeps the JIT, and the live view reports it running, without a finding."""
    require_so(HOOKED[name][0], reports['api'])
    report = reports[name]
    assert PHP_WARNING not in report['log'], report['log']
    jit = report['masters'][0]['jit']
    assert (jit['state'], jit['enabled'], jit['on'], jit['suspects']) == ('running', True, True, []), jit
    assert jit['buffer_size'] > 0
    assert 'LIVE_JIT_DISABLED' not in _codes(report)
