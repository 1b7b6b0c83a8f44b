# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Fixtures of the oracle suite. A missing php binary FAILS the tests that need it (no skip).

scripts/test runs this suite with pytest-xdist (``-n auto --dist loadgroup``). Only the modules in
``PARALLEL_MODULES`` are spread over the workers: their tests touch nothing but their own temporary
files and short-lived ``php``/``php-fpm -i`` processes. Every other module starts private php-fpm
masters (which the live view of any other test would find in /proc), or uses the machine's php-fpm
or /etc/php: they form ONE xdist group ("machine"), run by one worker in file order, as without
xdist. A new test module is in that group unless it is added here."""

from __future__ import annotations

import os

import pytest

from ansible_collections.phpops.opcache.tests.oracle.php_oracle import OracleError, PhpOracle

PARALLEL_MODULES = frozenset(('test_ini_differential.py', 'test_ini_parity.py', 'test_ini_php84.py', 'test_ini_unreadable.py'))
MACHINE_GROUP = 'machine'


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group markers
def pytest_collection_modifyitems(items):
    for item in items:
        if os.path.basename(str(item.fspath)) not in PARALLEL_MODULES:
            item.add_marker(pytest.mark.xdist_group(MACHINE_GROUP))


@pytest.fixture(scope='session')
def php_oracle(tmp_path_factory):
    try:
        return PhpOracle(str(tmp_path_factory.mktemp('php-oracle')))
    except OracleError as error:
        pytest.fail(str(error), pytrace=False)
