# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin phpops.opcache.opcache_audit_report: reads each host's registered result,
writes the three files, honours check mode, reports bad options clearly."""

from __future__ import annotations

import json
import os
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from ansible_collections.phpops.opcache.plugins.action.opcache_audit_report import ActionModule

HERE = os.path.dirname(__file__)


def lab_result(name):
    with open(os.path.join(HERE, '..', 'plugin_utils', 'fixtures', name + '.json'), encoding='utf-8') as handle:
        return json.load(handle)


def run(args, task_vars, check_mode=False):
    task = Task()
    task.args = args
    task.action = 'phpops.opcache.opcache_audit_report'
    task.check_mode = check_mode
    action = ActionModule(task, MagicMock(), MagicMock(check_mode=check_mode), loader=None, templar=MagicMock(), shared_loader_obj=None)
    # set by the plugin loader in a real run (ansible-core 2.17 needs it for argument errors)
    action._load_name = task.action
    return action.run(task_vars=task_vars)


def lab_vars():
    return {
        'ansible_play_hosts_all': ['host1', 'host2', 'host3'],
        'hostvars': {'host1': {'opcache_audit': lab_result('lab_host1')}, 'host2': {'opcache_audit': lab_result('lab_host2')},
                     'host3': {'opcache_audit': {'unreachable': True, 'msg': 'Failed to connect to the host via ssh'}}},
    }


def test_writes_the_report_from_hostvars(tmp_path):
    dest = tmp_path / 'out' / 'opcache-report'
    result = run({'dest': str(dest)}, lab_vars())
    assert not result.get('failed'), result
    assert result['changed'] is True
    # hosts not audited come right after critical findings: their state is unknown
    assert result['hosts'] == ['host3', 'host2', 'host1']
    assert result['not_audited'] == ['host3']
    assert result['counts']['host2'] == {'critical': 0, 'warning': 1, 'info': 5, 'status': 'ok'}
    assert sorted(os.listdir(str(dest))) == ['audit.json', 'index.html', 'summary.md']
    assert result['files']['html'] == str(dest / 'index.html')
    assert '99-opcache-optimization.ini:3' in (dest / 'index.html').read_text(encoding='utf-8')
    assert json.loads((dest / 'audit.json').read_text(encoding='utf-8'))['order'] == ['host3', 'host2', 'host1']
    assert 'written to %s' % dest in result['msg'] and 'worst severity: warning' in result['msg']


def test_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / 'report'
    result = run({'dest': str(dest)}, lab_vars(), check_mode=True)
    assert result['changed'] is True and not dest.exists()
    assert 'check mode' in result['msg']


def test_host_without_result_and_explicit_hosts(tmp_path):
    task_vars = lab_vars()
    task_vars['hostvars']['host4'] = {}
    result = run({'dest': str(tmp_path), 'hosts': ['host4', 'host1']}, task_vars)
    assert result['hosts'] == ['host4', 'host1']
    assert result['counts']['host4']['status'] == 'missing'


def test_explicit_results_and_relative_dest(tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    result = run({'results': {'web1': lab_result('machine_fpm')}}, {})
    assert result['dest'] == str(tmp_path / 'opcache-report')
    assert (tmp_path / 'opcache-report' / 'summary.md').exists()


def test_bad_input_is_a_clear_error(tmp_path):
    result = run({'dest': str(tmp_path), 'hosts': ['nosuchhost']}, lab_vars())
    assert result['failed'] and result['msg'] == 'hosts: nosuchhost is not a host of the inventory'
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    result = run({'dest': str(blocker)}, lab_vars())
    assert result['failed'] and result['msg'] == 'dest %s exists and is not a directory' % blocker
    # the task executor turns this into a failed task
    with pytest.raises(AnsibleActionFail, match='Unsupported parameters .* color'):
        run({'dest': str(tmp_path), 'color': 'red'}, lab_vars())
