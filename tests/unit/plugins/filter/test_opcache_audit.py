# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters phpops.opcache.findings_at_least and phpops.opcache.audit_summary."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.phpops.opcache.plugins.filter.opcache_audit import FilterModule

FILTERS = FilterModule().filters()
FINDINGS = [{'code': 'A', 'severity': 'critical'}, {'code': 'B', 'severity': 'warning'}, {'code': 'C', 'severity': 'info'}]


def test_findings_at_least():
    assert [f['code'] for f in FILTERS['findings_at_least'](FINDINGS, 'warning')] == ['A', 'B']
    assert FILTERS['findings_at_least'](FINDINGS, 'none') == []


def test_findings_at_least_unknown_level():
    with pytest.raises(AnsibleFilterError, match='phpops.opcache.findings_at_least: severity level .high. is not one of'):
        FILTERS['findings_at_least'](FINDINGS, 'high')


def test_audit_summary_of_a_failed_host():
    assert FILTERS['audit_summary']({'failed': True, 'msg': 'boom'}) == ['audit failed: boom']
