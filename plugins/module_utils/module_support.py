# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What opcache_info and opcache_facts share: the argument spec of doc fragment
phpops.opcache.opcache_target, the command runner, and error reporting without tracebacks."""

from __future__ import annotations

import os

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS, HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_live import DEFAULT_PROBE_DIR, LiveError, find_fpm_masters, live_report
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report, sort_findings
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import DiscoveryError


def target_argument_spec():
    return dict(
        root=dict(type='path', default='/'),
        installations=dict(type='list', elements='dict', options=dict(
            binary=dict(type='path'),
            php_ini=dict(type='path'),
            scan_dirs=dict(type='list', elements='path'),
            sapi=dict(type='str', default='cli'),
            fpm_conf=dict(type='path'),
            version=dict(type='str'),
        )),
        families=dict(type='list', elements='str', choices=['debian', 'rhel', 'remi', 'alpine', 'arch', 'docker']),
        sapis=dict(type='list', elements='str'),
        directives=dict(type='list', elements='str'),
        environment=dict(type='dict', default={}),
        live=dict(type='str', default='auto', choices=['auto', 'true', 'false']),
        paths=dict(type='list', elements='path', default=[]),
        max_examples=dict(type='int', default=10),
        probe_dir=dict(type='path', default=DEFAULT_PROBE_DIR),
        live_timeout=dict(type='float', default=5.0),
    )


def php_runner(module):
    """Run a PHP binary with the compiled-in defaults: PHPRC and PHP_INI_SCAN_DIR removed."""
    def run(argv):
        saved = dict((name, os.environ.pop(name)) for name in ('PHPRC', 'PHP_INI_SCAN_DIR') if name in os.environ)
        try:
            return module.run_command(argv, check_rc=False)
        finally:
            os.environ.update(saved)
    return run


def report_from_params(module):
    """Build the report for the module's parameters, or fail_json with a one-line reason."""
    params = module.params
    root = params['root']
    if not os.path.isdir(root):
        module.fail_json(msg='root %s is not a directory' % root)
    fs = HostFS(root)
    run = None if fs.prefixed else php_runner(module)
    env = dict((str(k), str(v)) for k, v in (params['environment'] or {}).items())
    explicit = params['installations']
    if explicit:
        for index, spec in enumerate(explicit):
            if not spec.get('binary') and spec.get('php_ini') is None and spec.get('scan_dirs') is None:
                module.fail_json(msg='installations[%d]: give binary, or php_ini and/or scan_dirs' % index)
    try:
        report = build_report(fs, run, explicit, params['sapis'], params['directives'], env, params['families'])
    except DiscoveryError as error:
        module.fail_json(msg=str(error))
    except HostFSError as error:
        module.fail_json(msg='cannot read %s: %s' % (error.path, error.reason))
    if params['live'] != 'false' and (params['sapis'] is None or 'fpm' in params['sapis']):
        add_live_view(module, fs, report)
    return report


def add_live_view(module, fs, report):
    """Ask every running PHP-FPM master over FastCGI (option live) and merge its findings."""
    params = module.params
    if fs.prefixed:
        if params['live'] == 'true':
            module.fail_json(msg='live=true needs the target itself: it cannot probe PHP-FPM under root %s' % fs.root)
        return
    try:
        masters = find_fpm_masters()
        if not masters and params['live'] == 'auto':
            return
        if not masters:
            module.fail_json(msg='live=true but no PHP-FPM master process runs on this host')
        live = live_report(fs, report, {'masters': masters, 'probe_dir': params['probe_dir'], 'paths': params['paths'],
                                        'max_examples': params['max_examples'], 'timeout': params['live_timeout']})
    except LiveError as error:
        module.fail_json(msg='live view: %s' % error)
    report['findings'] = sort_findings(report['findings'] + live.pop('findings'))
    report['live'] = live
