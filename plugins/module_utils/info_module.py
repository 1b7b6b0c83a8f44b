# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What opcache_info and opcache_facts share: the argument spec of doc fragment
phpops.opcache.opcache_target, one report per run from the module's options, and error reporting
without tracebacks.

The live view (FastCGI, the probe, the comparison with the disk) is imported only when it runs:
a disk-only run loads none of it.
"""

from __future__ import annotations

import os

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS, HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.module_support import php_runner
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import DiscoveryError

# The live probe's default directory (live.probe.DEFAULT_PROBE_DIR, which this module does not import).
DEFAULT_PROBE_DIR = '/run/phpops-opcache'
COLLECTION = 'phpops.opcache'
# Options renamed to the collection's one vocabulary (opcache_reset's names); the old names stay as
# deprecated aliases until this version.
RENAMED_IN = '2.0.0'


def _deprecated(name):
    return [dict(name=name, version=RENAMED_IN, collection_name=COLLECTION)]


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
        versions=dict(type='list', elements='str'),
        sapis=dict(type='list', elements='str'),
        directives=dict(type='list', elements='str'),
        environment=dict(type='dict', default={}),
        live=dict(type='str', default='auto', choices=['auto', 'true', 'false']),
        verify_paths=dict(type='list', elements='path', default=[], aliases=['paths'], deprecated_aliases=_deprecated('paths')),
        max_examples=dict(type='int', default=10),
        probe_dir=dict(type='path', default=DEFAULT_PROBE_DIR),
        timeout=dict(type='float', default=5.0, aliases=['live_timeout'], deprecated_aliases=_deprecated('live_timeout')),
    )


def report_from_params(module):
    """The Report for the module's options (with the live view when it runs), or fail_json with a
    one-line reason. Warnings of the report are passed on with module.warn."""
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
        report = build_report(fs, run, explicit, sapis=params['sapis'], directives=params['directives'], env=env,
                              families=params['families'], versions=params['versions'])
    except DiscoveryError as error:
        module.fail_json(msg=str(error))
    except HostFSError as error:
        module.fail_json(msg='cannot read %s: %s' % (error.path, error.reason))
    for warning in report.warnings:
        module.warn(warning)
    if params['live'] != 'false' and (not params['sapis'] or 'fpm' in params['sapis']):
        add_live_view(module, fs, report, run)
    return report


def add_live_view(module, fs, report, run_command):
    """Ask every running PHP-FPM master over FastCGI (option live) and merge its findings."""
    params = module.params
    if fs.prefixed:
        if params['live'] == 'true':
            module.fail_json(msg='live=true needs the target itself: it cannot probe PHP-FPM under root %s' % fs.root)
        return
    from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters, select_masters

    masters = select_masters(find_fpm_masters(), report, versions=params['versions'])
    if not masters and params['live'] == 'auto':
        return
    if not masters:
        module.fail_json(msg='live=true but no PHP-FPM master process runs on this host%s'
                         % (' for versions %s' % ', '.join(params['versions']) if params['versions'] else ''))
    # the live view proper: FastCGI, the probe and the comparison, loaded only now
    from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import LiveError
    from ansible_collections.phpops.opcache.plugins.module_utils.live.report import live_report
    from ansible_collections.phpops.opcache.plugins.module_utils.webserver import live_document_roots

    web_roots = [] if params['verify_paths'] else live_document_roots(fs, report, masters)
    try:
        live = live_report(fs, report, masters=masters, probe_dir=params['probe_dir'], verify_paths=params['verify_paths'],
                           max_examples=params['max_examples'], timeout=params['timeout'], run_command=run_command, web_roots=web_roots)
    except LiveError as error:
        module.fail_json(msg='live view: %s' % error)
    report.add_findings([f.as_dict() for f in live.findings])
    report.live = live
