# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Fixtures of the oracle suite. A missing php binary FAILS the tests that need it (no skip)."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.tests.oracle.php_oracle import OracleError, PhpOracle


@pytest.fixture(scope='session')
def php_oracle(tmp_path_factory):
    try:
        return PhpOracle(str(tmp_path_factory.mktemp('php-oracle')))
    except OracleError as error:
        pytest.fail(str(error), pytrace=False)
