# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11): preloading against a REAL private php-fpm master whose ``opcache.preload`` is
``<site>/current/preload.php`` with ``current -> releases/1``."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.phpops.opcache.tests.oracle.live_env import live_of, live_scratch, private_master
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import write_file


@pytest.fixture(scope='module')
def env():
    with live_scratch('preload') as (base, probe_dir, started):
        site = os.path.join(base, 'site')
        release = os.path.join(site, 'releases', '1')
        old = time.time() - 3600
        write_file(os.path.join(release, 'lib.php'), '<?php function phpops_lib() { return 1; }\n', mtime=old)
        write_file(os.path.join(release, 'preload.php'), "<?php opcache_compile_file(__DIR__ . '/lib.php');\n", mtime=old)
        os.symlink(release, os.path.join(site, 'current'))
        preload = os.path.join(site, 'current', 'preload.php')
        fpm = private_master(base, 'fpm', [('opcache.preload', preload), ('opcache.preload_user', 'www-data')])
        started.append(fpm.start())
        yield {'fpm': fpm, 'site': site, 'release': release, 'preload': preload, 'probe_dir': probe_dir}


def _run(env, **options):
    report = live_of(env['fpm'], env['probe_dir'], **options)
    return report, report['masters'][0]


def test_preload_reported_and_pinned_release(env):
    report, master = _run(env, verify_paths=[os.path.join(env['site'], 'current')])
    preload = master['preload']
    assert (preload['script'], preload['user']) == (env['preload'], 'www-data')
    assert os.path.join(env['release'], 'lib.php') in preload['scripts'] and preload['functions'] >= 1 and preload['memory'] > 0
    assert preload['changed'] == []
    assert preload['in_release'] == os.path.join(env['site'], 'releases')
    codes = [f['code'] for f in report['findings']]
    assert 'LIVE_PRELOAD_IN_RELEASE' in codes and 'LIVE_PRELOAD_CHANGED' not in codes


def test_preloaded_script_changed_on_disk(env):
    lib = os.path.join(env['release'], 'lib.php')
    write_file(lib, '<?php function phpops_lib() { return 2; }\n')
    later = time.time() + 5
    os.utime(lib, (later, later))
    report, master = _run(env)
    assert [c['file'] for c in master['preload']['changed']] == [lib]
    found = [f for f in report['findings'] if f['code'] == 'LIVE_PRELOAD_CHANGED']
    assert len(found) == 1 and 'opcache_reset() does not drop' in found[0]['message']
    assert 'LIVE_PRELOAD_IN_RELEASE' not in [f['code'] for f in report['findings']]   # no releases root given this time
