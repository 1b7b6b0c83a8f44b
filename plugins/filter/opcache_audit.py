# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the fleet audit: findings_at_least (the severity gate, from the collection's one severity
order) and audit_summary (the terminal summary of one host). Documented in findings_at_least.yml and
audit_summary.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.phpops.opcache.plugins.plugin_utils.audit_report import ReportError
from ansible_collections.phpops.opcache.plugins.plugin_utils.audit_report import findings_at_least as _at_least
from ansible_collections.phpops.opcache.plugins.plugin_utils.audit_report import summary_lines


def findings_at_least(findings, level):
    try:
        return _at_least(findings, level)
    except ReportError as error:
        raise AnsibleFilterError('phpops.opcache.findings_at_least: %s' % error)


def audit_summary(result, directives=None):
    return summary_lines(result, directives)


class FilterModule(object):

    def filters(self):
        return {
            'findings_at_least': findings_at_least,
            'audit_summary': audit_summary,
        }
