# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin phpops.opcache.opcache_audit_report: writes the fleet's audit report on the controller
(documentation in plugins/modules/opcache_audit_report.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from ansible.plugins.action import ActionBase
from ansible_collections.phpops.opcache.plugins.plugin_utils.audit_report import (
    DEFAULT_DIRECTIVES,
    SEVERITIES,
    ReportError,
    build_model,
    render_html,
    render_json,
    render_markdown,
)

FILES = {'html': 'index.html', 'markdown': 'summary.md', 'json': 'audit.json'}

ARGUMENT_SPEC = dict(
    dest=dict(type='path', default='opcache-report'),
    var=dict(type='str', default='opcache_audit'),
    hosts=dict(type='list', elements='str'),
    results=dict(type='dict'),
    directives=dict(type='list', elements='str', default=DEFAULT_DIRECTIVES),
    title=dict(type='str', default='PHP OPcache audit'),
)


def _write(path, text):
    """Write atomically; True when the content changed."""
    data = text.encode('utf-8')
    try:
        with open(path, 'rb') as handle:
            if handle.read() == data:
                return False
    except (IOError, OSError):
        pass
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy_validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            results = args['results'] if args['results'] is not None else self._from_hostvars(args, task_vars)
            model = build_model(results, args['directives'], title=args['title'])
        except ReportError as error:
            result.update(failed=True, msg=str(error))
            return result
        dest = os.path.abspath(os.path.expanduser(args['dest']))
        files = dict((kind, os.path.join(dest, name)) for kind, name in FILES.items())
        result.update(dest=dest, files=files, hosts=[h['name'] for h in model['hosts']],
                      counts=dict((h['name'], dict(h['counts'], status=h['status'])) for h in model['hosts']),
                      not_audited=model['not_audited'], changed=False)
        if os.path.exists(dest) and not os.path.isdir(dest):
            result.update(failed=True, msg='dest %s exists and is not a directory' % dest)
            return result
        texts = {'html': render_html(model), 'markdown': render_markdown(model), 'json': render_json(model)}
        if self._task.check_mode:
            result['changed'] = True
            result['msg'] = 'check mode: would write the report to %s' % dest
            return result
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest)
                result['changed'] = True
            for kind, path in files.items():
                result['changed'] = _write(path, texts[kind]) or result['changed']
        except (IOError, OSError) as error:
            result.update(failed=True, msg='cannot write the report to %s: %s' % (dest, error))
            return result
        worst = [s for s in SEVERITIES if any(h['counts'][s] for h in model['hosts'])]
        result['msg'] = 'report for %d host(s) written to %s (open %s)%s' % (
            len(model['hosts']), dest, files['html'], '; worst severity: %s' % worst[0] if worst else '')
        return result

    def _from_hostvars(self, args, task_vars):
        hostvars = task_vars.get('hostvars')
        if hostvars is None:
            raise ReportError('no hostvars: give the results explicitly (option results)')
        hosts = args['hosts']
        if hosts is None:
            hosts = task_vars.get('ansible_play_hosts_all') or []
        results = {}
        for host in hosts:
            if host not in hostvars:
                raise ReportError('hosts: %s is not a host of the inventory' % host)
            host_vars = hostvars[host]
            value = host_vars.get(args['var']) if isinstance(host_vars, Mapping) or hasattr(host_vars, 'get') else None
            results[str(host)] = value
        return results
