# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live part of the opcache_info result: probe every running master through its pools and
compare with the disk (drift, files changed since the start, stale code, a configuration that
would not start), with findings.

``live_report(fs, report, ...)`` returns a ``live.records.LiveView``; its ``as_dict()`` is ``{'masters':
[...], 'not_running': [...], 'findings': [Finding.as_dict()...], 'skipped': None|str}`` (the module
result's ``live`` leaves ``findings`` out: they join the report's). Every master (``LiveMaster``)
gives ``pid, config, binary, start_time, config_loaded_time, installation, version,
php_ini_loaded_file, php_ini_scanned_files, status, status_error, probe_pool, pools[], drift[],
stale_scripts, config_test, capacity, jit, releases, preload`` (see live.runtime and
live.releases); every pool (``LivePool``) ``{name, listen, user, group, chroot, ok, error,
worker_pid, worker_uid, settings: {directive: {value, origin, access, global_value, cfg_value, file,
line}}, drift[]}``. ``origin`` is the pool line's kind (``php_value``, ``php_flag``,
``php_admin_value``, ``php_admin_flag``, with its ``file`` and ``line``), ``runtime`` (local differs
from global: .user.ini, [PATH=]/[HOST=] section or ini_set), ``ini`` (file chain, ``get_cfg_var``
has it) or ``default``.

The pools of a master are asked at once (``live.probe.probe_pools``); their answers, the pools and
the findings keep the order of the FPM configuration.
"""

from __future__ import annotations

import posixpath
import re
import time

from ansible_collections.phpops.opcache.plugins.module_utils.findings import Finding, evidence, php_bool
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import check_fpm_config, describe_collateral, restart_collateral
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, split_scan_dir
from ansible_collections.phpops.opcache.plugins.module_utils.live.drift import chain_drift, pool_drift, pool_settings
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters, proc_uid, same_binary_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import DEFAULT_PROBE_DIR, LiveError, pool_specs, probe_pool, probe_pools, status_summary
from ansible_collections.phpops.opcache.plugins.module_utils.live.records import LiveMaster, LivePool, LiveView, NotRunning
from ansible_collections.phpops.opcache.plugins.module_utils.live.releases import group_by_release, preload_view, release_roots
from ansible_collections.phpops.opcache.plugins.module_utils.live.runtime import capacity_view, jit_view
from ansible_collections.phpops.opcache.plugins.module_utils.live.stale import changed_at, file_mtime, stale_file_cache, stale_scripts
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import directives_for, parse_version

MAX_SCRIPTS = 20000
START_TIME_SLACK = 1.5
RESTART_PENDING_RECHECK = 1.0  # seconds before a pending restart is looked at again


class LiveOptions(object):
    """The options of one live run (explicit, with the defaults of the modules' options)."""

    __slots__ = ('probe_dir', 'verify_paths', 'max_examples', 'timeout', 'proc', 'run_command')

    def __init__(self, probe_dir=None, verify_paths=None, max_examples=10, timeout=5.0, proc='/proc', run_command=None):
        self.probe_dir = probe_dir or DEFAULT_PROBE_DIR
        self.verify_paths = [p.rstrip('/') + '/' for p in verify_paths or ()]
        self.max_examples = int(max_examples if max_examples is not None else 10)
        self.timeout = float(timeout or 5.0)
        self.proc = proc
        self.run_command = run_command


def _finding(code, severity, message, ev, inst_id=None, pool=None, directive=None):
    return Finding(code, severity, message, ev, inst_id, 'fpm', pool, directive)


def _disk_chain(fs, master, running, sapi, version):
    """The file chain the master would read if it started now (same main ini and scan dirs). The
    report's chain of the SAPI is reused when it is that chain (loaded once per run)."""
    sapi_dirs = sapi.chain.scan_dirs if sapi is not None else None
    default_dir = None
    if sapi_dirs:
        default_dir = sapi_dirs[0]
    elif running.get('scanned_files'):
        default_dir = posixpath.dirname(running['scanned_files'][0])
    if master.scan_dir_env is not None:
        scan_dirs = split_scan_dir(master.scan_dir_env, default_dir)
    elif sapi_dirs is not None:
        scan_dirs = list(sapi_dirs)
    else:
        scan_dirs = sorted(set(posixpath.dirname(f) for f in running.get('scanned_files') or []))
    loaded_file = running.get('loaded_file') or None
    if (sapi is not None and sapi.chain.loaded_file == loaded_file and list(sapi.chain.scan_dirs) == scan_dirs
            and parse_version(sapi.version) == parse_version(version)):
        return sapi.chain
    return IniChain(fs, env=sapi.env if sapi is not None else None, version=version).load(loaded_file, scan_dirs)


def _master_report(fs, master, report, options, findings):
    found = report.fpm_sapi_for(master.config) if report is not None else None
    inst, sapi = found if found else (None, None)
    inst_id = inst.id if inst else None
    live = LiveMaster(master, inst_id)
    if sapi is not None and sapi.fpm is not None:
        fpm = sapi.fpm
    else:
        try:
            fpm = read_fpm_config(fs, master.config)
        except (HostFSError, OSError) as error:
            live.error = 'cannot read %s: %s' % (master.config, error)
            return live
    live.fpm_files = fpm.files
    version = inst.version if inst else None
    table = directives_for(version)
    candidates = []
    specs = pool_specs(fpm, sapi.chain.values() if sapi is not None else None)
    live.pools = [LivePool(spec) for spec in specs]
    # the pools are asked at once; their answers are read in the order of the configuration
    answers = probe_pools(specs, options.probe_dir, {'scripts': False}, options.timeout)
    for spec, pool, answer in zip(specs, live.pools, answers):
        if answer.error is not None:
            placing = '' if isinstance(answer.error, LiveError) else 'cannot place the probe: '
            pool.error = 'pool %s (listen %s): %s%s' % (spec.name, spec.listen, placing, answer.error)
            findings.append(_finding('LIVE_PROBE_FAILED', 'warning', pool.error, [evidence(spec.file, spec.line)], inst_id, spec.name))
            continue
        data, site = answer.data, answer.site
        pool.ok = True
        pool.warnings = site['warnings']
        pool.worker_pid = data.get('pid')
        pool.worker_uid = proc_uid(options.proc, data.get('pid')) if data.get('pid') else None
        if version is None and data.get('php_version'):
            table = directives_for(data['php_version'])  # the defaults of the PHP that runs
        pool.settings = pool_settings(data, table, spec.overrides)
        pool.open_basedir = (data.get('other_ini') or {}).get('open_basedir', {}).get('local')
        if data.get('status_error') == 'false':
            restrict = pool.value('opcache.restrict_api')
            if restrict and not site['script_filename'].startswith(restrict):
                pool.status_error = ('opcache.restrict_api=%r blocks opcache_get_status() for %s: set probe_dir under %s to read the cache status'
                                     % (restrict, site['script_filename'], restrict))
            else:
                pool.status_error = 'opcache_get_status() returned false (OPcache not started in this pool?)'
        elif data.get('status_error') == 'missing':
            pool.status_error = 'OPcache is not loaded in this pool (opcache_get_status() does not exist)'
        pool.drift = pool_drift(pool.settings, spec.overrides, table)
        candidates.append((data.get('status') is None, not php_bool(pool.value('opcache.validate_timestamps')), len(candidates), spec, data, pool))
    if candidates:
        _probed_master(fs, master, live, candidates, sapi, fpm, version, options, findings, inst_id)
    changed = live.changed_after_start
    if changed is None:  # no pool answered: what changed since the master started
        changed = _changed_after(fpm.files, master.start_time)
    _config_test(master.binary if not master.binary_deleted else _fpm_binary(inst), master.config, live, options, changed, findings, inst_id)
    for pool in live.pools:
        for item in pool.drift:
            findings.append(_finding('LIVE_DRIFT', 'warning', 'pool %s of master %d runs %s=%r but its pool file now says %r (%s): reload php-fpm'
                                     % (pool.name, master.pid, item['directive'], item['running'], item['disk'], item['reason']),
                                     [item.get('evidence') or master.config], inst_id, pool.name, item['directive']))
    return live


def _probed_master(fs, master, live, candidates, sapi, fpm, version, options, findings, inst_id):
    """The master's part of the result from its best pool's answer: status, disk comparison, stale code."""
    candidates.sort(key=lambda c: c[:3])
    dummy_s, dummy_v, dummy_i, spec, master_data, pool = candidates[0]
    live.probe_pool = spec.name
    live.status_error = pool.status_error
    paths = options.verify_paths
    roots = release_roots(paths, spec.chroot)
    # OPcache lists scripts by resolved path: a current -> releases/N root is asked for all releases
    asked = _unique(paths + [r['releases_dir'].rstrip('/') + '/' for r in roots])
    if paths and master_data.get('status') is not None:
        try:
            scripts_data, dummy_site = probe_pool(spec, options.probe_dir, {'scripts': True, 'paths': asked, 'limit': MAX_SCRIPTS}, options.timeout)
            master_data['scripts'] = scripts_data.get('scripts')
        except (LiveError, OSError, IOError) as error:
            live.status_error = 'the cached script list could not be read through pool %s: %s' % (spec.name, error)
    live.version = master_data.get('php_version')
    live.php_ini_loaded_file = master_data.get('loaded_file') or None
    live.php_ini_scanned_files = master_data.get('scanned_files') or []
    live.status = status_summary(master_data.get('status'))
    if live.restart_pending:
        # OPcache does not say since when a restart is pending: look again a moment later, so that a
        # restart held by a long request is told apart from one that happens right now
        time.sleep(RESTART_PENDING_RECHECK)
        try:
            again, dummy_site = probe_pool(spec, options.probe_dir, {'scripts': False}, options.timeout)
        except (LiveError, OSError, IOError):
            again = {}
        summary = status_summary(again.get('status'))
        if summary is not None:
            master_data['status'] = again.get('status')
            live.status = summary
            live.restart_pending_for = RESTART_PENDING_RECHECK if summary.get('restart_pending') else None
    configuration = master_data.get('configuration') or {}
    live.configuration = {'version': configuration.get('version'), 'blacklist': configuration.get('blacklist')} if configuration else None
    if live.statistics.get('start_time'):
        live.config_loaded_time = max(live.statistics['start_time'], master.start_time or 0)
    table = directives_for(version if version is not None else live.version)
    _compare_with_disk(fs, master, live, master_data, sapi, fpm, table, findings, inst_id)
    _status_findings(live, master_data, table, findings, inst_id)
    _runtime(live, pool, master_data, findings, inst_id)
    _preload(live, pool, master_data, roots, findings, inst_id)
    if paths:
        _releases(live, master_data, roots, findings, inst_id)
        if roots and isinstance(master_data.get('scripts'), dict):
            # stale code is what the roots serve: the current release, not the old ones kept on disk
            served = tuple(paths + [r['current'].rstrip('/') + '/' for r in roots])
            listed = master_data['scripts']
            kept = [e for e in listed['list'] if e[0].startswith(served)]
            master_data['scripts'] = dict(listed, list=kept, matched=listed['matched'] - (len(listed['list']) - len(kept)))
        _stale(live, master_data, paths, options.max_examples, findings, inst_id, spec.chroot)


def _preload(live, pool, data, roots, findings, inst_id):
    if data.get('status') is None:
        return
    preload = live.preload = preload_view(pool.settings, (data.get('status') or {}).get('preload_statistics'), roots,
                                          (live.config_loaded_time or 0) + START_TIME_SLACK, changed_at)
    if preload['changed']:
        findings.append(_finding('LIVE_PRELOAD_CHANGED', 'warning',
                                 'php-fpm master %d preloaded %s at its start; changed on disk since: %s. opcache_reset() does not drop '
                                 'preloaded scripts: restart (or reload) php-fpm to preload the new code'
                                 % (live.pid, preload['script'], ', '.join(c['file'] for c in preload['changed'][:5])),
                                 [c['file'] for c in preload['changed']], inst_id, None, 'opcache.preload'))
    if preload['in_release']:
        findings.append(_finding('LIVE_PRELOAD_IN_RELEASE', 'warning',
                                 'opcache.preload=%s of php-fpm master %d lies in the releases directory %s: the master keeps the release it '
                                 'preloaded at its start whatever current points to later, until php-fpm restarts; restart php-fpm on '
                                 'each deploy, or preload from outside the releases' % (preload['script'], live.pid, preload['in_release']),
                                 [preload['script']], inst_id, None, 'opcache.preload'))


def _releases(live, data, roots, findings, inst_id):
    scripts = data.get('scripts')
    if not roots or not isinstance(scripts, dict):
        return
    live.releases = group_by_release(scripts['list'], roots)
    wasted_limit = ((data.get('ini') or {}).get('opcache.max_wasted_percentage') or {}).get('local') or '5'
    for view in live.releases:
        if not view['old_scripts']:
            continue
        findings.append(_finding('LIVE_OLD_RELEASES_CACHED', 'warning',
                                 'php-fpm master %d still holds %d script(s), %s, of release(s) %s under %s that %s no longer current '
                                 '(%s -> %s): an OPcache reset is due after each deploy. opcache.max_wasted_percentage=%s will not free them: '
                                 'the old copies are valid entries under other paths, not wasted memory, so only a full cache restarts it'
                                 % (live.pid, view['old_scripts'], byte_size(view['old_memory']), ', '.join(view['old_releases']),
                                    view['releases_dir'], 'is' if len(view['old_releases']) == 1 else 'are', view['root'], view['current'],
                                    wasted_limit),
                                 [view['root'], view['releases_dir']], inst_id))


def byte_size(count):
    """``count`` bytes for a message: KiB below one MiB, so a small release does not read "0.0 MB"."""
    if count < 1048576:
        return '%.1f KiB' % (count / 1024.0)
    return '%.1f MiB' % (count / 1048576.0)


def _changed_after(paths, loaded):
    """The files of ``paths`` modified after ``loaded`` (epoch seconds; the master's start time is
    known to about a second only, as btime has whole seconds)."""
    changed = []
    if not loaded:
        return changed
    for path in paths:
        when = file_mtime(path) if path else None
        if when is not None and when > loaded + START_TIME_SLACK and path not in [c['file'] for c in changed]:
            changed.append({'file': path, 'mtime': when})
    return changed


def _fpm_binary(inst):
    return inst.installation.binaries.get('fpm') if inst is not None else None


def _config_test(binary, conf, live, options, changed, findings, inst_id):
    """``php-fpm -t`` of the configuration a (re)start would load: when files changed since the master
    started (a master that is running has started with what did not change), or when none runs."""
    if options.run_command is None or not binary or (live is not None and not changed):
        return
    ok, message = check_fpm_config(options.run_command, binary, conf)
    if live is not None:
        live.config_test = {'ok': ok, 'command': [binary, '-t', '-y', conf], 'message': message}
    if not ok:
        findings.append(_finding('FPM_CONFIG_INVALID', 'critical',
                                 '%s -t -y %s fails: %s: %s' % (binary, conf, message, 'a reload or restart of this master would stop PHP-FPM; '
                                                                'fix the configuration first' if live is not None else 'PHP-FPM cannot start'),
                                 _unique([conf] + _located(message) + sorted(c['file'] for c in changed or ())), inst_id))


def _unique(items):
    return [item for index, item in enumerate(items) if item not in items[:index]]


def _located(message):
    """The ``file:line`` locations PHP-FPM names in its message (``ERROR: [/etc/.../www.conf:491] ...``)."""
    return _unique(re.findall(r'\[(/[^\]]*:\d+)\]', message or ''))


def _compare_with_disk(fs, master, live, data, sapi, fpm, table, findings, inst_id):
    disk = _disk_chain(fs, master, data, sapi, live.version)
    running_cfg = dict((k, v.get('cfg')) for k, v in (data.get('ini') or {}).items())
    disk_values = dict((k, a.value) for k, a in disk.settings.items() if k.startswith('opcache.'))
    live_values = dict((k, v.get('global')) for k, v in (data.get('ini') or {}).items())
    live.drift = chain_drift(running_cfg, disk_values, table, live_values)
    for item in live.drift:
        assignment = disk.settings.get(item['directive'])
        where = evidence(assignment.file, assignment.line) if assignment else 'removed from the ini files (the default applies)'
        item['evidence'] = where
        findings.append(_finding('LIVE_DRIFT', 'warning', 'php-fpm master %d (%s) runs %s=%r but the ini files now give %r (%s): reload php-fpm to apply'
                                 % (master.pid, master.config, item['directive'], item['running'], item['disk'], where),
                                 [where], inst_id, None, item['directive']))
    running_files = set(data.get('scanned_files') or [])
    disk_files = set(disk.scanned_files)
    if running_files != disk_files or (data.get('loaded_file') or None) != disk.loaded_file:
        live.fileset_differs = {'only_running': sorted(running_files - disk_files), 'only_disk': sorted(disk_files - running_files),
                                'running_loaded_file': data.get('loaded_file') or None, 'disk_loaded_file': disk.loaded_file}
        findings.append(_finding('LIVE_FILESET_DIFFERS', 'warning',
                                 'php-fpm master %d loaded other ini files than the disk now has (only loaded by the master: %s; only on disk: %s): '
                                 'reload php-fpm' % (master.pid, ', '.join(sorted(running_files - disk_files)) or '-',
                                                     ', '.join(sorted(disk_files - running_files)) or '-'),
                                 sorted(running_files ^ disk_files), inst_id))
    loaded = live.config_loaded_time
    changed = _changed_after([data.get('loaded_file')] + sorted(running_files | disk_files) + list(fpm.files), loaded)
    live.changed_after_start = changed
    if changed:
        findings.append(_finding('LIVE_INI_CHANGED_AFTER_START', 'warning',
                                 'php-fpm master %d loaded its configuration at %s; changed since: %s: reload php-fpm to apply'
                                 % (master.pid, time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(loaded)), ', '.join(c['file'] for c in changed)),
                                 [c['file'] for c in changed], inst_id))


def _status_findings(live, data, table, findings, inst_id):
    status = data.get('status')
    if not isinstance(status, dict):
        return
    pid = live.pid
    if status.get('cache_full'):
        findings.append(_finding('LIVE_CACHE_FULL', 'warning', 'the OPcache of php-fpm master %d is full: new scripts are not cached until a restart; '
                                 'raise opcache.memory_consumption or opcache.max_accelerated_files' % pid, [live.config], inst_id))
    memory = status.get('memory_usage') or {}
    wasted = memory.get('current_wasted_percentage')
    limit = ((data.get('configuration') or {}).get('directives') or {}).get('opcache.max_wasted_percentage')
    if limit is not None and limit <= 1:
        limit = limit * 100.0
    if limit is None:
        raw = ((data.get('ini') or {}).get('opcache.max_wasted_percentage') or {}).get('local')
        try:
            limit = float(raw)
        except (TypeError, ValueError):
            limit = 5.0
    if wasted is not None and wasted > limit:
        findings.append(_finding('LIVE_WASTED_MEMORY', 'warning', 'php-fpm master %d wastes %.1f%% of OPcache memory (over max_wasted_percentage %.0f%%): '
                                 'a restart will happen only when the cache runs out of memory' % (pid, wasted, limit), [live.config], inst_id))
    if status.get('restart_pending'):
        force = ((data.get('ini') or {}).get('opcache.force_restart_timeout') or {}).get('local')
        held = live.restart_pending_for
        findings.append(_finding('LIVE_RESTART_PENDING', 'warning',
                                 'an OPcache restart of php-fpm master %d is %s: requests run uncached until no request that started before '
                                 'it is active, or until opcache.force_restart_timeout=%s s kills the holders'
                                 % (pid, 'still pending after %.0f s' % held if held else 'pending', force if force is not None else '180'),
                                 [live.config], inst_id))


def _runtime(live, pool, data, findings, inst_id):
    """Capacity and JIT of the master, from its probing pool's status."""
    if data.get('status') is None:
        return
    capacity = live.capacity = capacity_view(data['status'], pool.settings)
    for item in capacity['near_limit']:
        findings.append(_finding(item['code'], 'warning', 'php-fpm master %d: %s' % (live.pid, item['message']), [live.config],
                                 inst_id, None, item['directive']))
    jit = live.jit = jit_view(pool.settings, (data.get('status') or {}).get('jit'), data.get('extensions') or ())
    if jit['state'] == 'disabled':
        findings.append(_finding('LIVE_JIT_DISABLED', 'warning', 'php-fpm master %d is configured for JIT (opcache.jit=%s, opcache.jit_buffer_size=%d) '
                                 'but it does not run: %s' % (live.pid, jit['mode'], jit['buffer_size_configured'], jit['reason']),
                                 [live.config], inst_id, None, 'opcache.jit'))


def _stale(live, data, paths, max_examples, findings, inst_id, chroot=None):
    scripts = data.get('scripts')
    stats = live.statistics
    cache_time = max(stats.get('start_time') or 0, stats.get('last_restart_time') or 0) or None
    if not isinstance(scripts, dict):
        live.stale_scripts = {'count': None, 'examples': [], 'error': live.status_error or 'the cached script list is not available'}
        return
    stale = stale_scripts(scripts['list'], cache_time, chroot, max_examples)
    stale['checked'] = scripts['matched']
    stale['conclusive'] = not stale['inconclusive']
    stale['truncated'] = scripts['matched'] > len(scripts['list'])
    if scripts.get('absent'):
        stale['error'] = 'the script list is absent (a restart is pending or OPcache is disabled)'
    file_cache = (live.status or {}).get('file_cache')
    stale['file_cache'] = stale_file_cache(file_cache, paths, max_examples) if file_cache else None
    live.stale_scripts = stale
    total = stale['count'] + ((stale['file_cache'] or {}).get('count') or 0)
    if total:
        examples = []
        for path in [e['path'] for e in stale['examples']] + [e['path'] for e in (stale['file_cache'] or {}).get('examples', [])]:
            if path not in examples:  # one script can be stale in shared memory and in the file cache
                examples.append(path)
        findings.append(_finding('LIVE_STALE_SCRIPTS', 'warning', 'php-fpm master %d serves %d cached script(s) older than their file (e.g. %s)%s: '
                                 'reset OPcache (or reload php-fpm)%s' % (
                                     live.pid, total, ', '.join(examples[:3]),
                                     ' and the file cache holds stale entries' if (stale['file_cache'] or {}).get('count') else '',
                                     ' and purge opcache.file_cache' if file_cache else ''),
                                 examples[:max_examples], inst_id))
    if stale['inconclusive']:
        unsure = [e['path'] for e in stale['inconclusive_examples']]
        findings.append(_finding('LIVE_STALE_INCONCLUSIVE', 'warning',
                                 'php-fpm master %d: %d cached script(s) were replaced after the cache started (e.g. %s) and OPcache reports '
                                 'no timestamp for them (opcache.validate_timestamps and opcache.file_update_protection were off in the pool '
                                 'that compiled them): whether they run old code cannot be told (not "0 stale"); reset OPcache to be sure'
                                 % (live.pid, stale['inconclusive'], ', '.join(unsure[:3])), unsure, inst_id))


def _restart_collateral_findings(masters, report):
    """Masters whose service restart would also stop other masters of the same binary."""
    findings = []
    for master in masters:
        collateral = restart_collateral(master.config, same_binary_masters(master, masters))
        if collateral:
            found = report.fpm_sapi_for(master.config) if report is not None else None
            findings.append(_finding('LIVE_RESTART_STOPS_OTHER_MASTERS', 'warning', 'restarting master %d (%s) is not contained: %s. Reload '
                                     'instead (it signals the pid file\'s master only), or run the other master from a binary or service of '
                                     'its own' % (master.pid, master.config, describe_collateral(collateral)),
                                     [collateral['script'], master.config] + [m.config for m in collateral['masters']],
                                     found[0].id if found else None))
    return findings


def live_report(fs, report=None, masters=None, probe_dir=None, verify_paths=None, max_examples=10, timeout=5.0, proc='/proc',
                run_command=None, web_roots=None):
    """Probe every running php-fpm master (``masters``: Master records, default all of ``proc``) and
    compare with the disk. ``report``: the opcache_report.Report of the same run (names the
    installation of a master, lends its loaded chain and FPM configuration, and tells which FPM SAPIs
    have no running master); ``verify_paths``: application roots for the stale-code scan (when none
    are given, the ``web_roots`` found in the web server's configuration that are release symlinks);
    ``run_command``: runs ``php-fpm -t`` (None: the configuration is not tested). Returns a
    live.records.LiveView; see the module docstring for its ``as_dict()``."""
    options = LiveOptions(probe_dir, verify_paths or [r for r in web_roots or () if release_roots([r])], max_examples, timeout, proc, run_command)
    if getattr(fs, 'prefixed', False):
        return LiveView(skipped='the live view needs the target itself (root=/), not a filesystem under %s' % fs.root)
    view = LiveView()
    if masters is None:
        masters = find_fpm_masters(proc)
    findings = view.findings
    for master in masters:
        view.masters.append(_master_report(fs, master, report, options, findings))
    findings.extend(_restart_collateral_findings(masters, report))
    running_configs = set(m.config for m in masters)
    for inst in report.installations if report is not None else ():
        sapi = inst.sapis.get('fpm')
        if sapi is None or not sapi.fpm_conf or sapi.fpm_conf in running_configs:
            continue
        message = 'php-fpm is not running for %s (no master process "php-fpm: master process (%s)"): nothing live to compare' % (inst.id, sapi.fpm_conf)
        view.not_running.append(NotRunning(inst.id, sapi.fpm_conf, message, [p.name for p in sapi.fpm.pools]))
        findings.append(_finding('LIVE_PROBE_FAILED', 'info', message, [sapi.fpm_conf], inst.id))
        _config_test(_fpm_binary(inst), sapi.fpm_conf, None, options, None, findings, inst.id)
    return view
