# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble the opcache_info result from the disk: installations, SAPIs, attributed settings, pools,
findings. ``build_report`` returns a ``Report`` of typed records that keep what was loaded (each
SAPI's ini chain and FPM configuration, loaded once per run) for the live view to reuse;
``Report.as_dict()`` is what opcache_info returns, ``compact_facts`` what opcache_facts returns."""

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
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import discover, name_selected, unknown_sapis, version_matches

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


class SapiReport(object):
    """One SAPI of one installation, loaded once per run: ``config`` (php_discovery.SapiConfig),
    ``chain`` (ini_chain.EffectiveConfig), ``fpm`` (fpm_config.FpmConfig, fpm only), ``env`` and
    ``version`` (what the chain was resolved with) and ``data``, the SAPI's part of the result."""

    __slots__ = ('name', 'config', 'chain', 'fpm', 'env', 'version', 'data')

    def __init__(self, name, config, chain, fpm, env, version, data):
        self.name = name
        self.version = version
        self.config = config
        self.chain = chain
        self.fpm = fpm
        self.env = env
        self.data = data

    @property
    def fpm_conf(self):
        return self.config.fpm_conf if self.fpm is not None else None

    def as_dict(self):
        return self.data


class InstallationReport(object):
    """One installation (php_discovery.Installation) and the reports of its selected SAPIs."""

    __slots__ = ('installation', 'sapis')

    def __init__(self, installation):
        self.installation = installation
        self.sapis = {}

    @property
    def id(self):
        return self.installation.id

    @property
    def version(self):
        return self.installation.version

    def as_dict(self):
        inst = self.installation
        return {'id': inst.id, 'family': inst.family, 'version': inst.version, 'version_source': inst.version_source,
                'binaries': dict(inst.binaries), 'sapis': dict((name, sapi.as_dict()) for name, sapi in self.sapis.items())}


class Report(object):
    """What build_report found: ``installations`` (InstallationReport), ``findings`` (dicts, most
    severe first), ``warnings`` (for the module to pass on) and ``live`` (the live view, a
    live.records.LiveView, when it ran)."""

    __slots__ = ('installations', 'findings', 'warnings', 'live')

    def __init__(self, installations, findings, warnings=None):
        self.installations = installations
        self.findings = findings
        self.warnings = warnings or []
        self.live = None

    def fpm_sapi_for(self, fpm_conf):
        """(InstallationReport, SapiReport) of the fpm SAPI that runs ``fpm_conf``, or None."""
        for inst in self.installations:
            sapi = inst.sapis.get('fpm')
            if sapi is not None and sapi.fpm_conf and sapi.fpm_conf == fpm_conf:
                return inst, sapi
        return None

    def add_findings(self, findings):
        self.findings = sort_findings(self.findings + list(findings))

    def as_dict(self):
        result = {'installations': [inst.as_dict() for inst in self.installations], 'findings': self.findings}
        if self.live is not None:
            result['live'] = self.live.as_dict(findings=False)  # its findings joined self.findings (add_findings)
        return result


def build_report(fs, run_command=None, explicit=None, sapis=None, directives=None, env=None, families=None, versions=None):
    """The full report (a Report). ``sapis``, ``versions`` and ``families`` select (see
    php_discovery's selection rule); ``directives`` filters what is shown (fnmatch patterns).
    Names in ``sapis`` and patterns in ``directives`` that match nothing known are warned about."""
    env = env or {}
    installations = []
    findings = []
    warnings = []
    discovered = [inst for inst in discover(fs, run_command, explicit, families) if version_matches(inst.version, versions)]
    unknown, known = unknown_sapis(sapis, discovered)
    if unknown:
        warnings.append('sapis: no SAPI is called %s; known SAPIs: %s' % (', '.join(unknown), ', '.join(known)))
    known_directives = set()
    for inst in discovered:
        table = directives_for(inst.version)
        known_directives.update(table)
        inst_report = InstallationReport(inst)
        per_sapi_values = {}
        for sapi_name in sorted(inst.sapis):
            if not name_selected(sapi_name, sapis):
                continue
            sapi = inst.sapis[sapi_name]
            main_ini = sapi.main_ini(fs)
            config = IniChain(fs, env=env, version=inst.version).load(main_ini, sapi.scan_dirs())
            known_directives.update(k for k in config.settings if k.startswith('opcache.'))
            all_settings = _settings(config, table, None)
            settings = _settings(config, table, directives) if directives else all_settings
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
            fpm = None
            if sapi_name == 'fpm' and sapi.fpm_conf:
                fpm = read_fpm_config(fs, sapi.fpm_conf, env)
                pools_info = [_pool_report(pool, all_settings, table, None) for pool in fpm.pools]
                shown_pools = [_pool_report(pool, settings, table, directives) for pool in fpm.pools] if directives else pools_info
                sapi_report['fpm_conf'] = sapi.fpm_conf
                sapi_report['fpm_files'] = fpm.files
                sapi_report['process_control_timeout'] = fpm.get('process_control_timeout', '0')
                sapi_report['pools'] = shown_pools
                for code, path, line, message in fpm.problems:
                    findings.append(_problem(code, message, path, line, inst.id, sapi_name))
            findings.extend(effective_findings(inst.id, inst.version, sapi_name, values, origins, pools_info))
            per_sapi_values[sapi_name] = dict((k, (values[k], origins[k])) for k in values)
            inst_report.sapis[sapi_name] = SapiReport(sapi_name, sapi, config, fpm, env, inst.version, sapi_report)
        findings.extend(cross_sapi_findings(inst.id, per_sapi_values))
        installations.append(inst_report)
    unmatched = [p for p in directives or () if not any(fnmatch.fnmatchcase(name, p) for name in known_directives)]
    if unmatched and known_directives:
        warnings.append('directives: %s match%s no OPcache directive%s; known directives: %s' % (
            ', '.join(unmatched), 'es' if len(unmatched) == 1 else '', _close(unmatched, known_directives), ', '.join(sorted(known_directives))))
    if not installations:
        findings.append(Finding('PHP_NOT_FOUND', 'info', 'no PHP installation found%s; give installations explicitly if PHP lives elsewhere'
                                % ('' if not families else ' of families ' + ', '.join(families)), []))
    return Report(installations, sort_findings([f.as_dict() for f in findings]), warnings)


def _close(names, known):
    """' (did you mean X?)' for the nearest known name of each of ``names``, or ''."""
    import difflib  # only on the rare path of a typo

    guesses = []
    for name in names:
        guesses.extend(difflib.get_close_matches(name, sorted(known), 1))
    return ' (did you mean %s?)' % ', '.join(guesses) if guesses else ''


def sort_findings(findings):
    """Most severe first, then by installation, SAPI and code."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f['severity'], 9), f['installation'] or '', f['sapi'] or '', f['code']))


def _problem(code, message, path, line, inst_id, sapi_name):
    return Finding(code, 'warning', message, [evidence(path, line)], inst_id, sapi_name)


def compact_facts(report):
    """The ansible_facts form of a Report: value and origin per directive, finding codes with messages."""
    installations = []
    for inst in report.installations:
        sapis = {}
        for name, sapi_report in inst.sapis.items():
            sapi = sapi_report.data
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
        installations.append({'id': inst.id, 'family': inst.installation.family, 'version': inst.version, 'sapis': sapis})
    facts = {
        'installations': installations,
        'findings': [{'code': f['code'], 'severity': f['severity'], 'message': f['message']} for f in report.findings],
    }
    if report.live:
        facts['live'] = [_compact_master(m) for m in report.live.masters]
    return facts


def _compact_master(master):
    """The facts of a live.records.LiveMaster."""
    return {
        'pid': master.pid,
        'config': master.config,
        'installation': master.installation,
        'start_time': master.start_time,
        'opcache_enabled': master.opcache_enabled,
        'restart_pending': master.restart_pending,
        'manual_restarts': master.statistics.get('manual_restarts'),
        'pools': dict((p.name, {'ok': p.ok, 'error': p.error, 'settings': p.values()}) for p in master.pools),
    }
