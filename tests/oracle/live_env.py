# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""What the live oracles (tests/oracle/test_live_*.py) share: a scratch directory and probe
directory removed afterwards with every private master started in them, a private master with one
opcache ini and its pools, and the live view of exactly that master."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live.report import live_report
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import FPM_BINARY, PHP_VERSION, PrivateFpm, opcache_ini


@contextlib.contextmanager
def live_scratch(name):
    """``(base, probe_dir, started)``: a 0755 directory under /tmp, a probe directory under /run and a
    list; the masters appended to ``started`` are stopped and both directories removed afterwards.
    A missing php-fpm binary or a run without root FAILS (no skip)."""
    if not os.path.isfile(FPM_BINARY):
        pytest.fail('php-fpm binary %s is missing (apt-get install php%s-fpm)' % (FPM_BINARY, PHP_VERSION), pytrace=False)
    if os.geteuid() != 0:
        pytest.fail('this oracle needs root (pool users)', pytrace=False)
    base = tempfile.mkdtemp(prefix='live%s' % name, dir='/tmp')
    os.chmod(base, 0o755)
    probe_dir = '/run/phpops-test-%s-%d' % (name, os.getpid())
    started = []
    try:
        yield base, probe_dir, started
    finally:
        for fpm in started:
            fpm.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(probe_dir, ignore_errors=True)


def private_master(base, name, settings=(), pools=(('www', ''),)):
    """A private master in ``<base>/<name>`` whose conf.d loads OPcache with ``settings``; its pools
    (name, extra lines) run as www-data on ``<base>/<name>-<pool>.sock``. Not started."""
    fpm = PrivateFpm(FPM_BINARY, directory=os.path.join(base, name), php_ini='; main ini of the test\n', connect_unix=False,
                     conf_d={'10-opcache.ini': opcache_ini([('opcache.enable', 1)] + list(settings))})
    for pool, extra in pools:
        fpm.add_pool(pool, os.path.join(base, '%s-%s.sock' % (name, pool)), user='www-data', group='www-data', extra=extra)
    return fpm


def live_of(fpm, probe_dir, **options):
    """The live view (live.report.live_report) of exactly this running master."""
    masters = [m for m in find_fpm_masters() if m.pid == fpm.master_pid]
    assert len(masters) == 1, find_fpm_masters()
    return live_report(HostFS('/'), None, probe_dir=probe_dir, masters=masters, **options).as_dict()
