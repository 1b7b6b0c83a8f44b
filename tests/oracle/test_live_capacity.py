# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle (issue 11): capacity findings against REAL private php-fpm masters filled by generated scripts.

``mem``: opcache.memory_consumption=8 (PHP's minimum) and interned_strings_buffer=1, filled by 300
scripts of long unique strings; ``keys``: max_accelerated_files=200 (223 slots), filled by 300
tiny scripts; ``roomy``: the same 20 scripts in a default-sized cache (no finding)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import FastCGIClient, build_php_params
from ansible_collections.phpops.opcache.tests.oracle.live_env import live_of, live_scratch, private_master
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import write_file

CASES = {
    'mem': ([('opcache.memory_consumption', 8), ('opcache.interned_strings_buffer', 1)], 300, 400),
    'keys': ([('opcache.max_accelerated_files', 200)], 300, 1),
    'roomy': ([], 20, 1),
}


def _script(number, strings):
    return '<?php\n$a = [\n%s];\necho count($a);\n' % ''.join("    '%03d-%05d-%s',\n" % (number, i, 'x' * 100) for i in range(strings))


@pytest.fixture(scope='module')
def reports():
    with live_scratch('cap') as (base, probe_dir, started):
        result = {}
        for name, (settings, count, strings) in CASES.items():
            app = os.path.join(base, 'app-' + name)
            for number in range(count):
                write_file(os.path.join(app, 's%03d.php' % number), _script(number, strings), mtime=1000000000)
            fpm = private_master(base, name, settings)
            started.append(fpm.start())
            for number in range(count):
                FastCGIClient(fpm.listens['www'], read_timeout=5).request(build_php_params(os.path.join(app, 's%03d.php' % number)))
            result[name] = live_of(fpm, probe_dir)
        yield result


def _near(report):
    return dict((n['code'], n) for n in report['masters'][0]['capacity']['near_limit'])


def _codes(report):
    return [f['code'] for f in report['findings']]


def test_memory_and_interned_strings_near_the_limit(reports):
    capacity = reports['mem']['masters'][0]['capacity']
    assert capacity['memory']['configured'] == 8 * 1024 * 1024
    near = _near(reports['mem'])
    assert reports['mem']['masters'][0]['status']['cache_full'] is True     # not all 300 scripts fit
    assert near['LIVE_MEMORY_NEAR_LIMIT']['suggested'] >= 16 and near['LIVE_MEMORY_NEAR_LIMIT']['configured'] == '8'
    assert near['LIVE_INTERNED_STRINGS_NEAR_LIMIT']['suggested'] >= 8
    assert {'LIVE_MEMORY_NEAR_LIMIT', 'LIVE_INTERNED_STRINGS_NEAR_LIMIT'} <= set(_codes(reports['mem']))


def test_key_slots_near_the_limit(reports):
    capacity = reports['keys']['masters'][0]['capacity']
    assert capacity['keys']['configured'] == 223            # OPcache's prime for 200
    near = _near(reports['keys'])['LIVE_KEYS_NEAR_LIMIT']
    assert near['suggested'] >= 300 and near['configured'] == '200'
    assert 'LIVE_KEYS_NEAR_LIMIT' in _codes(reports['keys'])


def test_no_capacity_finding_far_from_the_limits(reports):
    assert _near(reports['roomy']) == {}
    assert reports['roomy']['masters'][0]['capacity']['keys']['used'] >= 20
