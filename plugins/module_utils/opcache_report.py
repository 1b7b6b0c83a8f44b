# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble the opcache_info result: installations, SAPIs, attributed settings, pools, findings.
opcache_info returns it as is; opcache_facts condenses it."""

from __future__ import annotations

import fnmatch

from ansible_collections.phpops.opcache.plugins.module_utils.findings import (
    Finding,
    cross_sapi_findings,
    effective_findings,
    evidence,
    opcache_loaded,
    sapi_findings,
)
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import STARTUP_ONLY, directives_for
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import discover

SEVERITY_ORDER = {'critical': 0, 'warning': 1, 'info': 2}


def _wanted(name, patterns):
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _settings(config, table, patterns):
    """Every OPcache directive of this PHP version (defaults included) plus any other opcache.*
    key the files set, each with its attribution."""
    settings = {}
    for name, directive in table.items():
        if not _wanted(name, patterns):
            continue
        assignment = config.settings.get(name)
        if assignment is not None:
            settings[name] = assignment.as_dict()
        else:
            settings[name] = {'value': directive.default, 'file': None, 'line': None, 'overridden': []}
    for name, assignment in config.settings.items():
        if name.startswith('opcache.') and name not in settings and _wanted(name, patterns):
            settings[name] = assignment.as_dict()
    return settings


def _pool_report(pool, file_settings, table, patterns):
    overrides = {}
    settings = {}
    keys = set(o.key for o in pool.overrides if o.key.startswith('opcache.'))
    for key in sorted(keys):
        if not _wanted(key, patterns):
            continue
        winner, beaten = pool.effective_override(key)
        overrides[key] = dict(winner.as_dict(), overridden=[b.as_dict() for b in beaten])
    for key, base in file_settings.items():
        override = overrides.get(key)
        if override is None:
            settings[key] = {'value': base['value'], 'source': 'ini' if base['file'] else 'default', 'file': base['file'], 'line': base['line'],
                             'takes_effect': True}
        else:
            settings[key] = {'value': override['value'], 'source': override['kind'], 'file': override['file'], 'line': override['line'],
                             'takes_effect': key not in STARTUP_ONLY, 'file_chain_value': base['value']}
    for key, override in overrides.items():
        if key not in settings:
            settings[key] = {'value': override['value'], 'source': override['kind'], 'file': override['file'], 'line': override['line'],
                             'takes_effect': False, 'file_chain_value': None}
    return {
        'name': pool.name,
        'file': pool.file,
        'line': pool.line,
        'listen': pool.get('listen'),
        'user': pool.get('user'),
        'group': pool.get('group'),
        'chroot': pool.get('chroot'),
        'status_path': pool.get('pm.status_path'),
        'ping_path': pool.get('ping.path'),
        'limit_extensions': pool.get('security.limit_extensions'),
        'overrides': overrides,
        'settings': settings,
    }


def build_report(fs, run_command=None, explicit=None, sapis=None, directives=None, env=None, families=None):
    """The full report. ``directives`` and ``sapis`` are filters (fnmatch patterns / names)."""
    env = env or {}
    installations = []
    findings = []
    for inst in discover(fs, run_command, explicit, families):
        table = directives_for(inst.version)
        inst_report = {
            'id': inst.id,
            'family': inst.family,
            'version': inst.version,
            'version_source': inst.version_source,
            'binaries': dict(inst.binaries),
            'sapis': {},
        }
        per_sapi_values = {}
        for sapi_name in sorted(inst.sapis):
            if sapis and sapi_name not in sapis:
                continue
            sapi = inst.sapis[sapi_name]
            main_ini = sapi.main_ini(fs)
            config = IniChain(fs, env=env, version=inst.version).load(main_ini, sapi.scan_dirs())
            settings = _settings(config, table, directives)
            all_settings = _settings(config, table, None)
            sapi_report = {
                'php_ini': config.loaded_file,
                'config_dir': sapi.config_dir,
                'scan_dirs': config.scan_dirs,
                'scanned_files': config.scanned_files,
                'opcache_loaded': opcache_loaded(config, inst.version),
                'settings': settings,
                'conditional': [c for c in config.conditional if c['key'].startswith('opcache.')],
            }
            findings.extend(sapi_findings(inst.id, inst.version, sapi_name, config, table))
            values = dict((k, v['value']) for k, v in all_settings.items())
            origins = dict((k, evidence(v['file'], v['line'])) for k, v in all_settings.items())
            pools_info = []
            if sapi_name == 'fpm' and sapi.fpm_conf:
                fpm = read_fpm_config(fs, sapi.fpm_conf, env)
                pools_info = [_pool_report(pool, all_settings, table, None) for pool in fpm.pools]
                sapi_report['fpm_conf'] = sapi.fpm_conf
                sapi_report['fpm_files'] = fpm.files
                sapi_report['process_control_timeout'] = fpm.get('process_control_timeout', '0')
                sapi_report['pools'] = [_pool_report(pool, settings, table, directives) for pool in fpm.pools]
                for code, path, line, message in fpm.problems:
                    findings.append(_problem(code, message, path, line, inst.id, sapi_name))
            findings.extend(effective_findings(inst.id, inst.version, sapi_name, values, origins, pools_info))
            per_sapi_values[sapi_name] = dict((k, (values[k], origins[k])) for k in values)
            inst_report['sapis'][sapi_name] = sapi_report
        findings.extend(cross_sapi_findings(inst.id, per_sapi_values))
        installations.append(inst_report)
    if not installations:
        findings.append(Finding('PHP_NOT_FOUND', 'info', 'no PHP installation found%s; give installations explicitly if PHP lives elsewhere'
                                % ('' if not families else ' of families ' + ', '.join(families)), []))
    return {'installations': installations, 'findings': sort_findings([f.as_dict() for f in findings])}


def sort_findings(findings):
    """Most severe first, then by installation, SAPI and code."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f['severity'], 9), f['installation'] or '', f['sapi'] or '', f['code']))


def _problem(code, message, path, line, inst_id, sapi_name):
    return Finding(code, 'warning', message, [evidence(path, line)], inst_id, sapi_name)


def compact_facts(report):
    """The ansible_facts form: value and origin per directive, finding codes with messages."""
    installations = []
    for inst in report['installations']:
        sapis = {}
        for name, sapi in inst['sapis'].items():
            compact = {
                'php_ini': sapi['php_ini'],
                'scanned_files': sapi['scanned_files'],
                'opcache_loaded': sapi['opcache_loaded'],
                'settings': dict((k, v['value']) for k, v in sapi['settings'].items()),
                'origins': dict((k, evidence(v['file'], v['line'])) for k, v in sapi['settings'].items()),
            }
            if 'pools' in sapi:
                compact['pools'] = dict(
                    (p['name'], {'listen': p['listen'], 'overrides': dict((k, o['value']) for k, o in p['overrides'].items())})
                    for p in sapi['pools'])
            sapis[name] = compact
        installations.append({'id': inst['id'], 'family': inst['family'], 'version': inst['version'], 'sapis': sapis})
    facts = {
        'installations': installations,
        'findings': [{'code': f['code'], 'severity': f['severity'], 'message': f['message']} for f in report['findings']],
    }
    if report.get('live'):
        facts['live'] = [_compact_master(m) for m in report['live'].get('masters', [])]
    return facts


def _compact_master(master):
    status = master.get('status') or {}
    statistics = status.get('statistics') or {}
    return {
        'pid': master.get('pid'),
        'config': master.get('config'),
        'installation': master.get('installation'),
        'start_time': master.get('start_time'),
        'opcache_enabled': status.get('opcache_enabled'),
        'restart_pending': status.get('restart_pending'),
        'manual_restarts': statistics.get('manual_restarts'),
        'pools': dict((p['name'], {'ok': p.get('ok'), 'error': p.get('error'),
                                   'settings': dict((k, v.get('value')) for k, v in (p.get('settings') or {}).items())})
                      for p in master.get('pools', [])),
    }
