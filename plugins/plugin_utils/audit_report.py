# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the fleet audit: one model of the opcache_info results of many hosts, and its
renderings (a self-contained HTML page, a Markdown summary, the full JSON, the terminal summary).

Everything rendered comes from the hosts, so every value goes through ``esc`` (HTML) or ``md_text`` /
``md_code`` (Markdown). Used by the action plugin phpops.opcache.opcache_audit_report and the filters
of plugins/filter/opcache_audit.py."""

from __future__ import annotations

import datetime
import html
import json
import re
from collections.abc import Mapping

from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import SEVERITY_ORDER

# most severe first: critical, warning, info
SEVERITIES = sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.get)

# fail_on / at-least levels: every severity, and "none" (nothing blocks)
LEVELS = SEVERITIES + ['none']

DEFAULT_DIRECTIVES = [
    'opcache.enable',
    'opcache.enable_cli',
    'opcache.validate_timestamps',
    'opcache.revalidate_freq',
    'opcache.memory_consumption',
    'opcache.file_cache',
    'opcache.jit',
]

# what to do about each finding code (docs/findings.md has the full description of each)
FIXES = {
    'OPC_DIRECTIVE_MULTIPLE_FILES': 'Keep one owner of each directive; the role phpops.opcache.opcache renames later conflicting files to .DISABLED.',
    'OPC_VALIDATE_TIMESTAMPS_OFF': 'Every deploy must invalidate the cache (phpops.opcache.opcache_reset or playbooks/deploy_hook.yml), '
                                   'or turn validation on; otherwise changed code never runs.',
    'OPC_FILE_CACHE_NO_VALIDATION': 'Old bytecode survives reset, reload and restart: purge opcache.file_cache on deploy '
                                    '(phpops.opcache.opcache_reset does), or turn validation on.',
    'OPC_DISABLED': 'Intended for debugging only: turn OPcache back on (opcache.enable=1).',
    'OPC_JIT_WORD_REWRITTEN': 'Quote the value in the ini file: opcache.jit="off" (or "tracing").',
    'OPC_EXTENSION_LOADED_TWICE': 'Keep the distribution\'s zend_extension=opcache line only.',
    'OPC_ZEND_EXTENSION_BUILTIN': 'Remove the zend_extension=opcache line: OPcache is built into PHP 8.5+.',
    'OPC_NOT_LOADED': 'Load OPcache (zend_extension=opcache) or its settings have no effect.',
    'OPC_POOL_STARTUP_ONLY': 'Set the directive in the ini files: a pool value is shown by ini_get() but not used.',
    'OPC_POOL_VALIDATE_TIMESTAMPS_MIXED': 'Give every pool of one master the same validate_timestamps: the pools share one cache.',
    'OPC_SAPI_MISMATCH': 'php -i does not describe PHP-FPM: check the fpm SAPI\'s values.',
    'OPC_UNKNOWN_DIRECTIVE': 'Fix the name or remove the line: PHP ignores it.',
    'OPC_HASH_COMMENT': 'Use ";" for comments: "#" is not a comment since PHP 7.0.',
    'OPC_CONDITIONAL_SECTION': 'Applies per request in FPM/CGI only, never in the CLI: move it out of the [PATH=]/[HOST=] section if it must always apply.',
    'PHP_NOT_FOUND': 'Give the installations explicitly (option installations) if PHP lives elsewhere.',
    'INI_SYNTAX_ERROR': 'Fix the line: PHP stops reading the file there and leaves the file out of php_ini_scanned_files().',
    'INI_FILE_UNREADABLE': 'Make the file readable, or remove it.',
    'INI_FILE_TOO_LARGE': 'Its values are unknown to the audit: split or shorten the file.',
    'INI_BINARY_CONTENT': 'Remove the NUL bytes from the file.',
    'INI_UNRESOLVED_CONSTANT': 'Check the value: the word is kept literally.',
    'INI_UNMODELLED': 'Rewrite the line so that PHP defines its result: the value is unknown (PHP may fail to start).',
    'INI_SECTION_KEY_TAKEN': 'Rename the [PATH=]/[HOST=] section or the key it collides with: PHP keeps the following entries where they were.',
    'INI_ENV_REFERENCE': 'Pass the service\'s environment (option environment) so that ${NAME} resolves as PHP-FPM sees it.',
    'SCAN_FILE_SKIPPED': 'Remove the dangling symlink or the non-file entry from the scan directory.',
    'SCAN_DIR_UNREADABLE': 'Create the scan directory or make it readable.',
    'FPM_CONF_SYNTAX': 'Fix the line (php-fpm -t shows what PHP-FPM rejects).',
    'FPM_CONF_UNREADABLE': 'Make the FPM configuration file readable.',
    'FPM_CONF_INCLUDE_MISSING': 'Fix the include path.',
    'FPM_CONF_INCLUDE_DEPTH': 'Break the include loop.',
    'FPM_CONFIG_INVALID': 'Fix the configuration before any reload or restart (php-fpm -t -y <php-fpm.conf> shows the error): one would stop PHP-FPM.',
    'FPM_CONF_GLOBAL_ARRAY': 'Move php_value[...]/php_admin_value[...] into a pool section.',
    'LIVE_DRIFT': 'Reload PHP-FPM to apply the files on disk.',
    'LIVE_INI_CHANGED_AFTER_START': 'Reload PHP-FPM to apply the changed files.',
    'LIVE_FILESET_DIFFERS': 'Reload PHP-FPM to load the current set of ini files.',
    'LIVE_CACHE_FULL': 'Raise opcache.memory_consumption or opcache.max_accelerated_files.',
    'LIVE_WASTED_MEMORY': 'Reset OPcache (phpops.opcache.opcache_reset) or raise opcache.memory_consumption.',
    'LIVE_RESTART_PENDING': 'Find the long request that holds the restart, or wait for opcache.force_restart_timeout.',
    'LIVE_STALE_SCRIPTS': 'Reset OPcache with proof (phpops.opcache.opcache_reset; purge opcache.file_cache too).',
    'LIVE_RESTART_STOPS_OTHER_MASTERS': 'Reload instead of restart, or give the other master a binary or service of its own.',
    'LIVE_PROBE_FAILED': 'Allow the probe (the message names the blocking setting), or start PHP-FPM to see what it runs.',
    'LIVE_STALE_INCONCLUSIVE': 'Reset OPcache with proof (phpops.opcache.opcache_reset): whether the replaced scripts run old code cannot be told.',
    'LIVE_MEMORY_NEAR_LIMIT': 'Raise opcache.memory_consumption to the value the message gives, then restart PHP-FPM.',
    'LIVE_INTERNED_STRINGS_NEAR_LIMIT': 'Raise opcache.interned_strings_buffer to the value the message gives, then restart PHP-FPM.',
    'LIVE_KEYS_NEAR_LIMIT': 'Raise opcache.max_accelerated_files to the value the message gives, then restart PHP-FPM.',
    'LIVE_OLD_RELEASES_CACHED': 'Reset OPcache after each deploy (phpops.opcache.opcache_reset): old releases are not wasted memory.',
    'LIVE_PRELOAD_CHANGED': 'Restart (or reload) PHP-FPM: opcache_reset() does not refresh preloaded scripts.',
    'LIVE_PRELOAD_IN_RELEASE': 'Restart PHP-FPM on each deploy, or preload from outside the releases directory.',
    'LIVE_JIT_DISABLED': 'Unload the extension that hooks the executor (Xdebug, pcov, APM) from production, or set opcache.jit=disable.',
}

STATUS_TEXT = {
    'ok': 'audited',
    'failed': 'audit failed',
    'unreachable': 'unreachable',
    'missing': 'no result',
    'skipped': 'skipped',
}
# hosts the audit could not look at count as problems, after critical findings
NOT_AUDITED = ('failed', 'unreachable', 'missing')


class ReportError(Exception):
    """Bad input to the report (named option or host)."""


def fix_for(code):
    return FIXES.get(code) or 'See docs/findings.md of the collection (code %s).' % code


def findings_at_least(findings, level):
    """The findings of severity ``level`` or worse (``none``: no finding)."""
    if level not in LEVELS:
        raise ReportError('severity level %r is not one of %s' % (level, ', '.join(LEVELS)))
    if level == 'none':
        return []
    limit = SEVERITY_ORDER[level]
    return [f for f in (findings or []) if isinstance(f, Mapping) and SEVERITY_ORDER.get(f.get('severity'), len(SEVERITY_ORDER)) <= limit]


def plain(value):
    """A copy of ``value`` made of dict, list, str, int, float, bool and None only (registered results
    carry Ansible's own str/dict subclasses)."""
    if isinstance(value, Mapping):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def natural_key(name):
    return [(0, int(part), '') if part.isdigit() else (1, 0, part) for part in re.split(r'(\d+)', str(name)) if part != '']


# ---------------------------------------------------------------------------------------------
# the model

def host_entry(name, result):
    """One host: its status, findings and counts from its registered opcache_info result (or None)."""
    entry = {'name': str(name), 'status': 'ok', 'error': None, 'result': None, 'findings': [], 'counts': dict((s, 0) for s in SEVERITIES)}
    if result is None:
        entry['status'] = 'missing'
        entry['error'] = 'no audit result: the audit task did not run on this host'
        return entry
    if not isinstance(result, Mapping):
        entry['status'] = 'failed'
        entry['error'] = 'the audit result is not a dictionary: %r' % (result,)
        return entry
    result = plain(dict((k, v) for k, v in result.items() if not str(k).startswith('_ansible')))
    entry['result'] = result
    message = result.get('msg') or result.get('reason') or ''
    if result.get('unreachable'):
        entry['status'] = 'unreachable'
        entry['error'] = message or 'the host could not be reached'
    elif result.get('failed'):
        entry['status'] = 'failed'
        entry['error'] = message or 'the audit task failed'
    elif result.get('skipped'):
        entry['status'] = 'skipped'
        entry['error'] = message or 'the audit task was skipped on this host'
    findings = [f for f in (result.get('findings') or []) if isinstance(f, Mapping)]
    entry['findings'] = sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.get('severity'), len(SEVERITY_ORDER)), f.get('installation') or '',
                                                        f.get('sapi') or '', f.get('pool') or '', f.get('code') or ''))
    for finding in findings:
        severity = finding.get('severity')
        entry['counts'][severity if severity in entry['counts'] else SEVERITIES[-1]] += 1
    return entry


def host_sort_key(entry):
    """Hosts with problems first: critical findings, then hosts not audited, then warnings, then info."""
    counts = entry['counts']
    if counts.get('critical'):
        rank = 0
    elif entry['status'] in NOT_AUDITED:
        rank = 1
    elif counts.get('warning'):
        rank = 2
    elif any(counts.values()):
        rank = 3
    else:
        rank = 4
    return (rank, [-counts.get(s, 0) for s in SEVERITIES], natural_key(entry['name']))


def build_model(results, directives=None, generated=None, title=None):
    """``results``: {host: registered opcache_info result or None}, in any order."""
    if not isinstance(results, Mapping):
        raise ReportError('results must be a dictionary of host name to audit result, not %s' % type(results).__name__)
    hosts = sorted((host_entry(name, result) for name, result in results.items()), key=host_sort_key)
    for index, host in enumerate(hosts):
        host['anchor'] = 'host-%d' % (index + 1)
    totals = dict((s, sum(h['counts'][s] for h in hosts)) for s in SEVERITIES)
    return {
        'title': title or 'PHP OPcache audit',
        'generated': generated or datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC'),
        'directives': list(directives or DEFAULT_DIRECTIVES),
        'hosts': hosts,
        'totals': totals,
        'hosts_with': dict((s, sum(1 for h in hosts if h['counts'][s])) for s in SEVERITIES),
        'not_audited': [h['name'] for h in hosts if h['status'] in NOT_AUDITED],
    }


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def shown(value):
    """A directive value for people: unset and empty are told apart."""
    if value is None:
        return '(unset)'
    if value == '':
        return '""'
    return _text(value)


def where(file_path, line):
    if not file_path:
        return 'PHP default'
    return '%s:%s' % (file_path, line) if line else str(file_path)


def fmt_time(epoch):
    try:
        return datetime.datetime.fromtimestamp(float(epoch), datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')
    except (TypeError, ValueError, OverflowError, OSError):
        return ''


def masters_of(result, inst_id):
    live = (result or {}).get('live') or {}
    return [m for m in live.get('masters') or [] if isinstance(m, Mapping) and m.get('installation') == inst_id]


def unmatched_masters(result):
    live = (result or {}).get('live') or {}
    ids = set(i.get('id') for i in (result or {}).get('installations') or [] if isinstance(i, Mapping))
    return [m for m in live.get('masters') or [] if isinstance(m, Mapping) and m.get('installation') not in ids]


def not_running(result, inst_id):
    live = (result or {}).get('live') or {}
    return [n for n in live.get('not_running') or [] if isinstance(n, Mapping) and n.get('installation') == inst_id]


def live_state(result):
    """One line on what the live view saw on this host."""
    if not result:
        return 'not audited'
    live = result.get('live')
    if not isinstance(live, Mapping):
        return 'no PHP-FPM running: files on disk only'
    if live.get('skipped'):
        return 'not asked: %s' % live['skipped']
    masters = [m for m in live.get('masters') or [] if isinstance(m, Mapping)]
    pools = [p for m in masters for p in m.get('pools') or [] if isinstance(p, Mapping)]
    asked = sum(1 for p in pools if p.get('ok'))
    parts = []
    if masters:
        parts.append('%d master%s, %d of %d pool%s asked' % (len(masters), '' if len(masters) == 1 else 's', asked, len(pools), '' if len(pools) == 1 else 's'))
    if live.get('not_running'):
        parts.append('%d installation%s not running' % (len(live['not_running']), '' if len(live['not_running']) == 1 else 's'))
    return '; '.join(parts) or 'no PHP-FPM running: files on disk only'


def fpm_live_note(result, inst_id, masters, sapi):
    """Why an FPM SAPI has no running values next to its files, or None when it has."""
    if masters:
        return None
    live = result.get('live')
    stopped = not_running(result, inst_id)
    if stopped:
        return 'PHP-FPM is not running (%s): the values shown are the files on disk only' % stopped[0].get('config')
    if not isinstance(live, Mapping):
        return 'no PHP-FPM master runs on this host (or the live view was off): the values shown are the files on disk only'
    if live.get('skipped'):
        return 'not asked: %s' % live['skipped']
    if sapi.get('fpm_conf'):
        return 'no running PHP-FPM master uses %s: the values shown are the files on disk only' % sapi.get('fpm_conf')
    return None


def php_versions(result):
    return ', '.join('%s' % (i.get('version') or '?') for i in (result or {}).get('installations') or [] if isinstance(i, Mapping))


def directive_rows(sapi, directives, masters):
    """The key directives of one SAPI first, then every other directive a file sets: value, source,
    what it overrode, and (fpm) the running value of each master where it differs from the disk."""
    settings = sapi.get('settings') or {}
    names = [d for d in directives if d in settings]
    names += sorted(k for k, v in settings.items() if k not in names and isinstance(v, Mapping) and v.get('file'))
    rows = []
    for name in names:
        setting = settings.get(name) or {}
        running = []
        for master in masters:
            drift = [d for d in master.get('drift') or [] if isinstance(d, Mapping) and d.get('directive') == name]
            probe = [p for p in master.get('pools') or [] if isinstance(p, Mapping) and p.get('name') == master.get('probe_pool')]
            live_value = ((probe[0].get('settings') or {}).get(name) or {}).get('value') if probe else None
            if drift:
                running.append({'pid': master.get('pid'), 'value': drift[0].get('running'), 'differs': True})
            elif probe and name in (probe[0].get('settings') or {}):
                running.append({'pid': master.get('pid'), 'value': live_value, 'differs': False})
        rows.append({
            'name': name,
            'key': name in directives,
            'value': setting.get('value'),
            'source': where(setting.get('file'), setting.get('line')),
            'set': bool(setting.get('file')),
            'overridden': [where(o.get('file'), o.get('line')) + ' (%s)' % _text(o.get('value'))
                           for o in setting.get('overridden') or [] if isinstance(o, Mapping)],
            'running': running,
        })
    return rows


def pool_rows(sapi, masters):
    """Pools from the FPM files, with the live state of the same pool in each running master."""
    rows = []
    for pool in sapi.get('pools') or []:
        if not isinstance(pool, Mapping):
            continue
        overrides = []
        for key, o in sorted((pool.get('overrides') or {}).items()):
            if isinstance(o, Mapping):
                takes = ((pool.get('settings') or {}).get(key) or {}).get('takes_effect', True)
                overrides.append({'text': '%s[%s] = %s' % (o.get('kind') or 'php_value', key, _text(o.get('value'))),
                                  'source': where(o.get('file'), o.get('line')), 'takes_effect': takes})
        live = []
        for master in masters:
            for lp in master.get('pools') or []:
                if isinstance(lp, Mapping) and lp.get('name') == pool.get('name'):
                    live.append({'pid': master.get('pid'), 'ok': lp.get('ok'), 'error': lp.get('error'),
                                 'drift': [d for d in lp.get('drift') or [] if isinstance(d, Mapping)], 'worker_pid': lp.get('worker_pid')})
        rows.append({'name': pool.get('name'), 'listen': pool.get('listen'), 'user': pool.get('user'),
                     'source': where(pool.get('file'), pool.get('line')), 'overrides': overrides, 'live': live})
    return rows


def size_text(value):
    """Bytes for people (binary units)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return '?'
    for unit, factor in (('GiB', 1024 ** 3), ('MiB', 1024 ** 2), ('KiB', 1024)):
        if abs(value) >= factor:
            return '%.1f %s' % (value / float(factor), unit)
    return '%d B' % value


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _percent(value):
    return '%s%%' % _text(value) if _number(value) else '?%'


def _known(value):
    return '?' if value is None else _text(value)


def _plural(count, word, plural=None):
    return '%s %s' % (_known(count), word if count == 1 else plural or word + 's')


NOT_PROBED = 'not probed'
NO_PATHS = 'not checked (give the application roots: opcache_audit_paths / option verify_paths)'
# near-limit codes of live.runtime.capacity_view, by the row that shows them
NEAR_LIMIT_ROWS = {'LIVE_MEMORY_NEAR_LIMIT': 'memory', 'LIVE_INTERNED_STRINGS_NEAR_LIMIT': 'interned-strings', 'LIVE_KEYS_NEAR_LIMIT': 'key-slots'}


def jit_text(jit):
    """(text, bad) of a master's ``jit`` view (live.runtime.jit_view)."""
    mode = shown(jit.get('mode'))
    state = jit.get('state')
    if state == 'running':
        return ('%s, running (enabled, on); buffer %s, %s free' % (mode, size_text(jit.get('buffer_size')), size_text(jit.get('buffer_free'))), False)
    if state == 'off':
        return ('off (%s)' % _text(jit.get('reason') or 'opcache.jit=%s' % mode), False)
    if state == 'disabled':
        suspects = [_text(s) for s in jit.get('suspects') or []]
        cause = 'disabled by %s (hooks the executor)' % ', '.join(suspects) if suspects else "the master's error log has PHP's startup warning"
        return ('%s configured (buffer %s) but NOT running (enabled %s, on %s): %s' % (
            mode, size_text(jit.get('buffer_size_configured')), 'yes' if jit.get('enabled') else 'no', 'yes' if jit.get('on') else 'no', cause), True)
    if state == 'unavailable':
        return ('%s configured, but this PHP is built without JIT' % mode, False)
    return ('%s (%s)' % (mode, _text(state) or 'state unknown'), False)


def capacity_rows(capacity, status):
    """(key, label, text, bad) rows of a master's ``capacity`` view (live.runtime.capacity_view):
    memory, interned strings, key slots, hit rate and restarts; bad only where a near-limit entry
    (the finding's condition) names the resource, or restarts for lack of memory or keys happened."""
    near = dict((NEAR_LIMIT_ROWS.get(n.get('code')), n) for n in capacity.get('near_limit') or [] if isinstance(n, Mapping))
    stats = (status or {}).get('statistics') or {}

    def advice(key):
        item = near.get(key)
        if not item:
            return ''
        return '; raise %s to %s (now %s)' % (_text(item.get('directive')), _text(item.get('suggested')), shown(item.get('configured')))

    rows = []
    memory = capacity.get('memory')
    if isinstance(memory, Mapping):
        rows.append(('memory', 'memory', '%s used, %s wasted, of %s (%s)%s' % (
            size_text(memory.get('used')), size_text(memory.get('wasted')), size_text(memory.get('configured')), _percent(memory.get('used_percent')),
            advice('memory')), 'memory' in near))
    interned = capacity.get('interned_strings')
    if isinstance(interned, Mapping):
        rows.append(('interned-strings', 'interned strings', '%s of %s used (%s), %s%s' % (
            size_text(interned.get('used')), size_text(interned.get('configured')), _percent(interned.get('used_percent')),
            _plural(interned.get('strings'), 'string'), advice('interned-strings')), 'interned-strings' in near))
    keys = capacity.get('keys')
    if isinstance(keys, Mapping):
        rows.append(('key-slots', 'key slots', '%s of %s used (%s), %s cached%s' % (
            _known(keys.get('used')), _known(keys.get('configured')), _percent(keys.get('used_percent')), _plural(keys.get('scripts'), 'script'),
            advice('key-slots')), 'key-slots' in near))
    rate = capacity.get('hit_rate')
    if _number(rate):
        text = '%.1f%%' % rate
        if _number(stats.get('hits')) and _number(stats.get('misses')):
            text += ' (%s, %s)' % (_plural(stats['hits'], 'hit'), _plural(stats['misses'], 'miss', 'misses'))
        rows.append(('hit-rate', 'hit rate', text, False))
    oom, hashed = capacity.get('oom_restarts'), capacity.get('hash_restarts')
    text = 'out of memory %s, hash %s' % (_known(oom), _known(hashed))
    if stats.get('manual_restarts') is not None:
        text += ', manual %s' % _text(stats.get('manual_restarts'))
    rows.append(('restarts', 'restarts', text, bool(oom) or bool(hashed)))
    return rows


def releases_text(views):
    """(text, bad) of a master's ``releases`` (live.releases.group_by_release)."""
    parts, bad = [], False
    for view in views:
        if not isinstance(view, Mapping):
            continue
        releases = [r for r in view.get('releases') or [] if isinstance(r, Mapping)]
        current = [r for r in releases if r.get('current')]
        name = str(view.get('current') or '').rstrip('/').rsplit('/', 1)[-1]
        text = '%s -> %s: ' % (_text(view.get('root')), _text(view.get('current')))
        if current:
            text += 'current release %s, %s, %s' % (_text(current[0].get('name')), _plural(current[0].get('scripts'), 'script'),
                                                    size_text(current[0].get('memory')))
        else:
            text += 'current release %s, not cached' % name
        old = [r for r in releases if not r.get('current')]
        if old and view.get('old_scripts'):
            bad = True
            text += '; no longer current: %s; %s, %s held by dead releases: reset OPcache after each deploy' % (
                ', '.join('%s (%s, %s)' % (_text(r.get('name')), _plural(r.get('scripts'), 'script'), size_text(r.get('memory'))) for r in old),
                _plural(view.get('old_scripts'), 'script'), size_text(view.get('old_memory')))
        else:
            text += '; no dead release cached'
        parts.append(text)
    return ('; '.join(parts) or 'no release layout', bad)


def preload_text(preload):
    """(text, bad) of a master's ``preload`` view (live.releases.preload_view)."""
    if not preload.get('script'):
        return ('none (opcache.preload is not set)', False)
    scripts = preload.get('scripts') or []
    text = '%s%s: %s preloaded, %s, %s' % (
        _text(preload.get('script')), ' (user %s)' % _text(preload.get('user')) if preload.get('user') else '', _plural(len(scripts), 'script'),
        _plural(preload.get('functions') or 0, 'function'), _plural(preload.get('classes') or 0, 'class', 'classes'))
    if preload.get('memory') is not None:
        text += ', %s' % size_text(preload.get('memory'))
    changed = [c.get('file') for c in preload.get('changed') or [] if isinstance(c, Mapping)]
    if changed:
        text += '; changed on disk since the master preloaded: %s: restart (or reload) php-fpm, opcache_reset() keeps preloaded scripts' % (
            ', '.join(_text(c) for c in changed))
    else:
        text += '; no preloaded file changed since'
    if preload.get('in_release'):
        text += '; lies in the releases directory %s: it pins the release preloaded at the start' % _text(preload.get('in_release'))
    return (text, bool(changed) or bool(preload.get('in_release')))


def runtime_rows(master):
    """(key, label, text, bad) rows of a master's JIT, capacity, releases and preload. A field the
    result does not have (an older opcache_info) gives no row; one that is null because no pool of
    the master answered reads "not probed"."""
    probed = isinstance(master.get('status'), Mapping)
    rows = []
    if 'jit' in master:
        jit = master.get('jit')
        rows.append(('jit', 'JIT') + (jit_text(jit) if isinstance(jit, Mapping) else (NOT_PROBED, False)))
    if 'capacity' in master:
        capacity = master.get('capacity')
        if isinstance(capacity, Mapping):
            rows.extend(capacity_rows(capacity, master.get('status') if probed else None))
        else:
            rows.append(('capacity', 'capacity', NOT_PROBED, False))
    if 'releases' in master:
        views = master.get('releases')
        if isinstance(views, list):
            rows.append(('releases', 'releases') + releases_text(views))
        elif not probed:
            rows.append(('releases', 'releases', NOT_PROBED, False))
        elif master.get('stale_scripts') is None:
            rows.append(('releases', 'releases', NO_PATHS, False))
        else:
            rows.append(('releases', 'releases', 'no current -> releases/N layout under the application roots', False))
    if 'preload' in master:
        preload = master.get('preload')
        rows.append(('preload', 'preload') + (preload_text(preload) if isinstance(preload, Mapping) else (NOT_PROBED, False)))
    return rows


def _slug(label):
    return re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')


def master_facts(master):
    """The running master's OPcache state, as (key, label, value, bad) rows."""
    status = master.get('status') if isinstance(master.get('status'), Mapping) else {}
    stats = status.get('statistics') or {}
    memory = status.get('memory_usage') or {}
    rows = [('master', 'pid %s, %s' % (_text(master.get('pid')), _text(master.get('config'))), False),
            ('started', fmt_time(master.get('start_time')), False)]
    if master.get('version'):
        rows.append(('PHP', _text(master.get('version')), False))
    if master.get('error') or master.get('status_error'):
        rows.append(('problem', _text(master.get('error') or master.get('status_error')), True))
    runtime = runtime_rows(master)
    if status and not isinstance(master.get('capacity'), Mapping):
        # a result without the capacity view (older opcache_info): what the status says
        used, free = memory.get('used_memory'), memory.get('free_memory')
        if isinstance(used, (int, float)) and isinstance(free, (int, float)) and used + free:
            rows.append(('memory', '%.0f of %.0f MiB used (%.0f%%)' % (used / 1048576.0, (used + free) / 1048576.0, 100.0 * used / (used + free)), False))
        restarts = (_text(stats.get('manual_restarts')), _text(stats.get('oom_restarts')), _text(stats.get('hash_restarts')))
        if stats.get('num_cached_scripts') is not None:
            rate = stats.get('opcache_hit_rate')
            rate = ('%.1f%%' % rate) if isinstance(rate, (int, float)) else '?'
            rows.append(('cached scripts', '%s (hit rate %s)' % (_text(stats.get('num_cached_scripts')), rate), False))
        rows.append(('restarts', 'manual %s, out of memory %s, hash %s' % restarts, False))
    rows = [(_slug(label), label, value, bad) for label, value, bad in rows]
    rows.extend(row for row in runtime if row[0] not in ('releases', 'preload'))
    if status:
        rows.append(('cache-full', 'cache full', 'yes' if status.get('cache_full') else 'no', bool(status.get('cache_full'))))
        rows.append(('restart-pending', 'restart pending', 'yes' if status.get('restart_pending') else 'no', bool(status.get('restart_pending'))))
    rows.extend(row for row in runtime if row[0] in ('releases', 'preload'))
    changed = [c.get('file') for c in master.get('changed_after_start') or [] if isinstance(c, Mapping)]
    if changed:
        rows.append(('changed-since-start', 'changed since start', ', '.join(_text(c) for c in changed), True))
    stale = master.get('stale_scripts')
    if stale is None:
        rows.append(('stale-scripts', 'stale scripts', NO_PATHS, False))
    elif isinstance(stale, Mapping):
        if stale.get('error') and stale.get('count') is None:
            rows.append(('stale-scripts', 'stale scripts', 'unknown: %s' % _text(stale.get('error')), True))
        else:
            count = (stale.get('count') or 0) + ((stale.get('file_cache') or {}).get('count') or 0)
            examples = [e.get('path') for e in stale.get('examples') or [] if isinstance(e, Mapping)]
            examples += [e.get('path') for e in (stale.get('file_cache') or {}).get('examples') or [] if isinstance(e, Mapping)]
            text = '%d of %s cached script%s under the application roots' % (count, _text(stale.get('checked')), '' if stale.get('checked') == 1 else 's')
            if examples:
                text += ': ' + ', '.join(_text(e) for e in examples)
            rows.append(('stale-scripts', 'stale scripts', text, bool(count)))
    return rows


# the rows of master_facts shown one per line under a master (terminal summary, Markdown): those of runtime_rows
RUNTIME_KEYS = ('jit', 'memory', 'interned-strings', 'key-slots', 'hit-rate', 'restarts', 'capacity', 'releases', 'preload')


# ---------------------------------------------------------------------------------------------
# terminal summary (one host)

def _master_lines(master):
    """A running master: its start and stale scripts, then one line per runtime row ("!" where it
    needs attention)."""
    facts = master_facts(master)
    by_key = dict((key, value) for key, _label, value, _bad in facts)
    lines = ['    running: master %s started %s; stale scripts: %s' % (master.get('pid'), by_key.get('started'), by_key.get('stale-scripts'))]
    for key, label, value, bad in facts:
        if key in RUNTIME_KEYS or key == 'problem':
            lines.append('      %s%s: %s' % ('! ' if bad else '', label, value))
    return lines


def summary_lines(result, directives=None):
    """The audit summary of one host's opcache_info result, as lines for ansible.builtin.debug."""
    host = host_entry('host', result)
    directives = list(directives or DEFAULT_DIRECTIVES)
    if host['status'] != 'ok':
        return ['%s: %s' % (STATUS_TEXT[host['status']], host['error'])]
    result = host['result']
    lines = []
    for inst in result.get('installations') or []:
        if not isinstance(inst, Mapping):
            continue
        masters = masters_of(result, inst.get('id'))
        lines.append('%s (PHP %s)' % (inst.get('id'), inst.get('version') or 'unknown'))
        for sapi_name, sapi in sorted((inst.get('sapis') or {}).items()):
            if not isinstance(sapi, Mapping):
                continue
            sapi_masters = masters if sapi_name == 'fpm' else []
            lines.append('  [%s] main ini: %s; %d scanned files; OPcache %s' % (
                sapi_name, sapi.get('php_ini') or '(none)', len(sapi.get('scanned_files') or []), 'loaded' if sapi.get('opcache_loaded') else 'NOT loaded'))
            for row in directive_rows(sapi, directives, sapi_masters):
                if not row['key']:
                    continue
                text = '    %s = %s  <- %s' % (row['name'], json.dumps(row['value']), row['source'])
                if row['overridden']:
                    text += '  (overrides %s)' % ', '.join(o.split(' (')[0].rsplit('/', 1)[-1] for o in row['overridden'])
                for run in row['running']:
                    if run['differs']:
                        text += '  RUNNING %s in master %s: reload php-fpm' % (json.dumps(run['value']), run['pid'])
                lines.append(text)
            for pool in pool_rows(sapi, sapi_masters) if sapi_name == 'fpm' else []:
                text = '    pool %s (%s)' % (pool['name'], pool['listen'])
                for o in pool['overrides']:
                    text += '; %s <- %s%s' % (o['text'], o['source'], '' if o['takes_effect'] else ' (no effect in a pool)')
                for lp in pool['live']:
                    text += '; live: %s' % ('asked' if lp['ok'] else 'NOT asked: %s' % lp['error'])
                    for d in lp['drift']:
                        text += '; RUNNING %s=%s (file: %s)' % (d.get('directive'), json.dumps(d.get('running')), json.dumps(d.get('disk')))
                lines.append(text)
            if sapi_name == 'fpm':
                for master in sapi_masters:
                    lines.extend(_master_lines(master))
                note = fpm_live_note(result, inst.get('id'), sapi_masters, sapi)
                if note:
                    lines.append('    live: %s' % note)
    for master in unmatched_masters(result):
        lines.append('running PHP-FPM master %s (%s): no matching installation' % (master.get('pid'), master.get('config')))
        lines.extend(_master_lines(master))
    counts = ', '.join('%d %s' % (host['counts'][s], s) for s in SEVERITIES)
    lines.append('findings: %s' % counts)
    for finding in host['findings']:
        lines.append('  %s %s: %s' % (finding.get('severity'), finding.get('code'), finding.get('message')))
    return lines


# ---------------------------------------------------------------------------------------------
# HTML

def esc(value):
    return html.escape(_text(value), quote=True)


CSS = '''
:root{--crit:#b42318;--crit-bg:#fee4e2;--warn:#93370d;--warn-bg:#fef0c7;--info:#175cd3;--info-bg:#e0eaff;--ok:#067647;--ok-bg:#dcfae6;
--err:#5925dc;--err-bg:#ebe9fe;--line:#e4e7ec;--muted:#667085;--bg:#f8f9fb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#101828;background:var(--bg)}
header{background:#101828;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#d0d5dd}
main{padding:20px 32px;max-width:1400px}
h2{font-size:18px;margin:0}
h3{font-size:15px;margin:18px 0 6px}
h4{font-size:13px;margin:14px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
section.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:0 0 18px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:#f2f4f7}
td.num{text-align:center;font-variant-numeric:tabular-nums;width:80px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.critical{color:var(--crit);background:var(--crit-bg)}.badge.warning{color:var(--warn);background:var(--warn-bg)}
.badge.info{color:var(--info);background:var(--info-bg)}.badge.ok{color:var(--ok);background:var(--ok-bg)}.badge.error{color:var(--err);background:var(--err-bg)}
td.source.default code{color:var(--muted)}
td.zero{color:#98a2b3}
.hosthead{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin-bottom:6px}
.muted{color:var(--muted)}
.alert{border-left:4px solid var(--err);background:var(--err-bg);padding:8px 12px;border-radius:4px;margin:8px 0}
.finding{border:1px solid var(--line);border-left-width:4px;border-radius:6px;padding:8px 12px;margin:8px 0}
.finding.critical{border-left-color:var(--crit);background:#fff}.finding.warning{border-left-color:#f79009;background:#fff}
.finding.info{border-left-color:#2e90fa;background:#fff}
.finding .msg{margin:4px 0}
.finding dl{display:grid;grid-template-columns:90px 1fr;gap:2px 10px;margin:4px 0 0}
.finding dt{color:var(--muted);font-size:12px}.finding dd{margin:0}
tr.differs td{background:#fffaeb}
details.minor{margin:8px 0}details.minor summary{cursor:pointer;color:var(--muted)}
.drift{color:var(--crit);font-weight:600}
.same{color:var(--ok)}
tr.other td{color:#475467}
.facts{display:grid;grid-template-columns:160px 1fr;gap:2px 12px;margin:6px 0}
.note{color:var(--warn);background:var(--warn-bg);padding:6px 10px;border-radius:4px}
.facts dt{color:var(--muted)}.facts dd{margin:0}.facts dd.bad{color:var(--crit);font-weight:600}
a{color:#1849a9;text-decoration:none}a:hover{text-decoration:underline}
footer{color:var(--muted);padding:0 32px 24px;font-size:12px}
'''


def _count_cell(count, severity):
    if not count:
        return '<td class="num zero">0</td>'
    return '<td class="num"><span class="badge %s">%d</span></td>' % (severity, count)


def _status_badge(host):
    if host['status'] == 'ok':
        worst = next((s for s in SEVERITIES if host['counts'][s]), None)
        if worst is None:
            return '<span class="badge ok">clean</span>'
        return '<span class="badge %s">%s</span>' % (worst, esc(worst))
    kind = 'error' if host['status'] in NOT_AUDITED else 'info'
    return '<span class="badge %s">%s</span>' % (kind, esc(STATUS_TEXT[host['status']]))


def _fleet_table(model):
    out = ['<section class="card" id="fleet"><h2>Fleet at a glance</h2>',
           '<p class="muted">Hosts with problems first: critical findings, hosts that could not be audited, warnings, info.</p>',
           '<table class="fleet"><thead><tr><th>Host</th><th>Status</th>']
    out.extend('<th>%s</th>' % esc(s) for s in SEVERITIES)
    out.append('<th>PHP</th><th>PHP-FPM (live)</th></tr></thead><tbody>')
    for host in model['hosts']:
        out.append('<tr class="host-row" data-host="%s"><td><a href="#%s">%s</a></td><td>%s</td>' % (
            esc(host['name']), host['anchor'], esc(host['name']), _status_badge(host)))
        out.extend(_count_cell(host['counts'][s], s) for s in SEVERITIES)
        if host['status'] == 'ok':
            out.append('<td>%s</td><td>%s</td></tr>' % (esc(php_versions(host['result']) or '-'), esc(live_state(host['result']))))
        else:
            out.append('<td colspan="2" class="muted">%s</td></tr>' % esc(host['error']))
    if not model['hosts']:
        out.append('<tr><td colspan="%d" class="muted">No host was audited.</td></tr>' % (4 + len(SEVERITIES)))
    out.append('</tbody></table></section>')
    return ''.join(out)


def _finding_html(finding):
    severity = finding.get('severity') if finding.get('severity') in SEVERITIES else 'info'
    scope = [('installation', finding.get('installation')), ('SAPI', finding.get('sapi')), ('pool', finding.get('pool')),
             ('directive', finding.get('directive'))]
    scope_text = ', '.join('%s %s' % (label, value) for label, value in scope if value)
    out = ['<div class="finding %s" data-code="%s"><div><span class="badge %s">%s</span> <code>%s</code>' % (
        severity, esc(finding.get('code')), severity, esc(finding.get('severity')), esc(finding.get('code')))]
    if scope_text:
        out.append(' <span class="muted">%s</span>' % esc(scope_text))
    out.append('</div><div class="msg">%s</div><dl>' % esc(finding.get('message')))
    evidence = list(finding.get('evidence') or [])
    if evidence:
        out.append('<dt>evidence</dt><dd>%s</dd>' % '<br>'.join('<code>%s</code>' % esc(e) for e in evidence))
    out.append('<dt>fix</dt><dd>%s</dd></dl></div>' % esc(fix_for(finding.get('code'))))
    return ''.join(out)


def _directives_table(rows, live, flagged=None):
    out = ['<table class="directives"><thead><tr><th>Directive</th><th>Value on disk</th><th>Set by</th><th>Overrides</th>']
    if live:
        out.append('<th>Running (live)</th>')
    out.append('</tr></thead><tbody>')
    for row in rows:
        classes = ['directive'] + ([] if row['key'] else ['other']) + (['differs'] if any(r['differs'] for r in row['running']) else [])
        severity = (flagged or {}).get(row['name'])
        flag = ' <span class="badge %s">%s</span>' % (severity, esc(severity)) if severity else ''
        overridden = '<br>'.join('<code>%s</code>' % esc(o) for o in row['overridden']) or '<span class="muted">-</span>'
        cells = (' '.join(classes), esc(row['name']), esc(row['name']), esc(shown(row['value'])), flag, '' if row['set'] else ' default',
                 esc(row['source']), overridden)
        out.append('<tr class="%s" data-directive="%s"><td><code>%s</code></td><td><code>%s</code>%s</td>'
                   '<td class="source%s"><code>%s</code></td><td>%s</td>' % cells)
        if live:
            cells = []
            for run in row['running']:
                if run['differs']:
                    cells.append('<span class="drift">%s</span> <span class="muted">(master %s: reload php-fpm)</span>'
                                 % (esc(shown(run['value'])), esc(run['pid'])))
                else:
                    cells.append('<span class="same">same</span> <span class="muted">(master %s)</span>' % esc(run['pid']))
            out.append('<td>%s</td>' % ('<br>'.join(cells) or '<span class="muted">-</span>'))
        out.append('</tr>')
    out.append('</tbody></table>')
    return ''.join(out)


def _pools_table(rows, live):
    out = ['<table class="pools"><thead><tr><th>Pool</th><th>Listen</th><th>User</th><th>Defined at</th><th>OPcache overrides</th>']
    if live:
        out.append('<th>Live</th>')
    out.append('</tr></thead><tbody>')
    for pool in rows:
        overrides = '<br>'.join('<code>%s</code> <span class="muted">&larr; %s%s</span>' % (
            esc(o['text']), esc(o['source']), '' if o['takes_effect'] else ', no effect in a pool') for o in pool['overrides'])
        out.append('<tr data-pool="%s"><td>%s</td><td><code>%s</code></td><td>%s</td><td><code>%s</code></td><td>%s</td>' % (
            esc(pool['name']), esc(pool['name']), esc(pool['listen']), esc(pool['user']), esc(pool['source']), overrides or '<span class="muted">none</span>'))
        if live:
            cells = []
            for lp in pool['live']:
                if lp['ok']:
                    text = '<span class="same">asked</span> <span class="muted">(master %s, worker %s)</span>' % (esc(lp['pid']), esc(lp['worker_pid']))
                else:
                    text = '<span class="drift">not asked</span>: %s' % esc(lp['error'])
                for d in lp['drift']:
                    text += '<br><span class="drift">runs %s=%s</span> <span class="muted">(file: %s; %s)</span>' % (
                        esc(d.get('directive')), esc(shown(d.get('running'))), esc(shown(d.get('disk'))), esc(d.get('reason')))
                cells.append(text)
            out.append('<td>%s</td>' % ('<br>'.join(cells) or '<span class="muted">-</span>'))
        out.append('</tr>')
    out.append('</tbody></table>')
    return ''.join(out)


def _master_html(master):
    out = ['<dl class="facts">']
    for key, label, value, bad in master_facts(master):
        out.append('<dt data-fact="%s">%s</dt><dd data-fact="%s"%s>%s</dd>' % (key, esc(label), key, ' class="bad"' if bad else '', esc(value)))
    out.append('</dl>')
    return ''.join(out)


def _host_html(host, directives):
    out = ['<section class="card host" id="%s" data-host="%s"><div class="hosthead"><h2>%s</h2>%s' % (
        host['anchor'], esc(host['name']), esc(host['name']), _status_badge(host))]
    out.append(' <span class="muted">%s</span></div>' % esc(', '.join('%d %s' % (host['counts'][s], s) for s in SEVERITIES)))
    if host['error']:
        out.append('<div class="alert">%s: %s</div>' % (esc(STATUS_TEXT[host['status']]), esc(host['error'])))
    result = host['result'] or {}
    if host['findings']:
        out.append('<h3>Findings</h3>')
        major = [f for f in host['findings'] if f.get('severity') in SEVERITIES[:-1]]
        minor = [f for f in host['findings'] if f.get('severity') not in SEVERITIES[:-1]]
        out.extend(_finding_html(f) for f in major)
        if minor:
            out.append('<details class="minor"%s><summary>%d %s finding%s</summary>%s</details>' % (
                '' if major else ' open', len(minor), esc(SEVERITIES[-1]), '' if len(minor) == 1 else 's', ''.join(_finding_html(f) for f in minor)))
    elif host['status'] == 'ok':
        out.append('<p class="same">No findings.</p>')
    for inst in result.get('installations') or [] if host['status'] == 'ok' else []:
        if not isinstance(inst, Mapping):
            continue
        masters = masters_of(result, inst.get('id'))
        out.append('<h3 class="installation" data-installation="%s">%s <span class="muted">PHP %s</span></h3>' % (
            esc(inst.get('id')), esc(inst.get('id')), esc(inst.get('version') or 'unknown')))
        for sapi_name, sapi in sorted((inst.get('sapis') or {}).items()):
            if not isinstance(sapi, Mapping):
                continue
            fpm = sapi_name == 'fpm'
            sapi_masters = masters if fpm else []
            out.append('<div class="sapi" data-sapi="%s"><h4>%s</h4><p class="muted">main ini <code>%s</code>; %d scanned files; OPcache %s</p>' % (
                esc(sapi_name), esc(sapi_name), esc(sapi.get('php_ini') or '(none)'), len(sapi.get('scanned_files') or []),
                'loaded' if sapi.get('opcache_loaded') else '<strong>not loaded</strong>'))
            flagged = dict((f.get('directive'), f.get('severity')) for f in reversed(host['findings'])
                           if f.get('severity') in SEVERITIES[:-1] and f.get('installation') == inst.get('id') and f.get('sapi') in (sapi_name, None))
            out.append(_directives_table(directive_rows(sapi, directives, sapi_masters), bool(sapi_masters), flagged))
            if fpm and sapi.get('pools'):
                out.append('<h4>%s pools</h4>' % esc(sapi_name))
                out.append(_pools_table(pool_rows(sapi, sapi_masters), bool(sapi_masters)))
            if fpm:
                for master in sapi_masters:
                    out.append('<h4>running PHP-FPM master %s</h4>%s' % (esc(master.get('pid')), _master_html(master)))
                note = fpm_live_note(result, inst.get('id'), sapi_masters, sapi)
                if note:
                    out.append('<p class="note">%s</p>' % esc(note))
            out.append('</div>')
    for master in unmatched_masters(result) if host['status'] == 'ok' else []:
        out.append('<h3>running PHP-FPM master %s (no matching installation)</h3>%s' % (esc(master.get('pid')), _master_html(master)))
    out.append('</section>')
    return ''.join(out)


def render_html(model):
    head = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>%s</title><style>%s</style></head><body>' % (esc(model['title']), CSS))
    hosts = model['hosts']
    summary = '%d host%s; %s' % (len(hosts), '' if len(hosts) == 1 else 's', ', '.join(
        '%d with %s findings' % (model['hosts_with'][s], s) for s in SEVERITIES))
    if model['not_audited']:
        summary += '; not audited: %s' % ', '.join(model['not_audited'])
    out = [head, '<header><h1>%s</h1><p>%s &middot; generated %s</p></header><main>' % (esc(model['title']), esc(summary), esc(model['generated']))]
    out.append(_fleet_table(model))
    out.extend(_host_html(h, model['directives']) for h in hosts)
    out.append('</main><footer>phpops.opcache audit report. Finding codes: docs/findings.md of the collection. '
               'The full data is in the JSON file next to this page.</footer></body></html>\n')
    return ''.join(out)


# ---------------------------------------------------------------------------------------------
# Markdown

_MD_SPECIAL = re.compile(r'([\\`*_\[\]<>|#&])')


def md_text(value):
    return _MD_SPECIAL.sub(r'\\\1', _text(value).replace('\r', ' ').replace('\n', ' '))


def md_code(value):
    text = _text(value).replace('\r', ' ').replace('\n', ' ').replace('|', '\\|')
    if text == '':
        return '(empty)'
    run = max([len(r) for r in re.findall(r'`+', text)] or [0])
    fence = '`' * (run + 1)
    pad = ' ' if text.startswith('`') or text.endswith('`') else ''
    return '%s%s%s%s%s' % (fence, pad, text, pad, fence)


def _md_master(master, config=None):
    """A running master: one line of facts, then one bullet per runtime row (bold where it needs attention)."""
    facts = master_facts(master)
    lines = ['- running master %s%s: %s' % (md_text(master.get('pid')), ' (%s)' % md_code(config) if config else '', md_text('; '.join(
        '%s: %s' % (label, value) for key, label, value, _bad in facts[1:] if key not in RUNTIME_KEYS)))]
    lines.extend('  - %s: %s' % (('**%s**' if bad else '%s') % md_text(label), md_text(value)) for key, label, value, bad in facts if key in RUNTIME_KEYS)
    return lines


def render_markdown(model):
    lines = ['# %s' % md_text(model['title']), '', 'Generated %s. Hosts with problems first.' % md_text(model['generated']), '',
             '| host | status | %s | PHP | PHP-FPM (live) |' % ' | '.join(SEVERITIES), '|---|---|%s---|---|' % ('---|' * len(SEVERITIES))]
    for host in model['hosts']:
        status = STATUS_TEXT[host['status']] if host['status'] != 'ok' else (next((s for s in SEVERITIES if host['counts'][s]), None) or 'clean')
        detail = [php_versions(host['result']) or '-', live_state(host['result'])] if host['status'] == 'ok' else [host['error'], '']
        lines.append('| %s | %s | %s | %s | %s |' % (md_text(host['name']), md_text(status), ' | '.join(str(host['counts'][s]) for s in SEVERITIES),
                                                     md_text(detail[0]), md_text(detail[1])))
    if not model['hosts']:
        lines.append('| (no host was audited) | | %s | | |' % ' | '.join('' for _s in SEVERITIES))
    for host in model['hosts']:
        lines.extend(['', '## %s' % md_text(host['name']), ''])
        if host['error']:
            lines.extend(['**%s**: %s' % (md_text(STATUS_TEXT[host['status']]), md_text(host['error'])), ''])
        for finding in host['findings']:
            evidence = ', '.join(md_code(e) for e in finding.get('evidence') or [])
            lines.append('- **%s** %s: %s%s Fix: %s' % (md_text(finding.get('severity')), md_code(finding.get('code')), md_text(finding.get('message')),
                                                        (' Evidence: %s.' % evidence) if evidence else '', md_text(fix_for(finding.get('code')))))
        result = host['result'] or {}
        for inst in result.get('installations') or [] if host['status'] == 'ok' else []:
            if not isinstance(inst, Mapping):
                continue
            masters = masters_of(result, inst.get('id'))
            for sapi_name, sapi in sorted((inst.get('sapis') or {}).items()):
                if not isinstance(sapi, Mapping):
                    continue
                sapi_masters = masters if sapi_name == 'fpm' else []
                lines.extend(['', '### %s %s (PHP %s)' % (md_text(inst.get('id')), md_text(sapi_name), md_text(inst.get('version') or 'unknown')), '',
                              '| directive | value on disk | set by | running (live) |', '|---|---|---|---|'])
                for row in directive_rows(sapi, model['directives'], sapi_masters):
                    if not row['key']:
                        continue
                    running = '; '.join(('**%s** (master %s: reload php-fpm)' % (md_code(shown(r['value'])), md_text(r['pid']))) if r['differs']
                                        else 'same' for r in row['running']) or '-'
                    lines.append('| %s | %s | %s | %s |' % (md_code(row['name']), md_code(shown(row['value'])), md_code(row['source']), running))
                for pool in pool_rows(sapi, sapi_masters) if sapi_name == 'fpm' else []:
                    overrides = '; '.join('%s from %s' % (md_code(o['text']), md_code(o['source'])) for o in pool['overrides']) or 'no OPcache overrides'
                    live = '; '.join(('asked' if lp['ok'] else 'not asked: %s' % md_text(lp['error'])) for lp in pool['live'])
                    lines.append('')
                    lines.append('- pool %s (%s): %s%s' % (md_code(pool['name']), md_code(pool['listen']), overrides, ('; live: ' + live) if live else ''))
                if sapi_name == 'fpm':
                    for master in sapi_masters:
                        lines.extend(_md_master(master))
                    note = fpm_live_note(result, inst.get('id'), sapi_masters, sapi)
                    if note:
                        lines.append('- live: %s' % md_text(note))
        unmatched = unmatched_masters(result) if host['status'] == 'ok' else []
        if unmatched:
            lines.extend(['', '### running PHP-FPM masters without a matching installation', ''])
        for master in unmatched:
            lines.extend(_md_master(master, master.get('config')))
    return '\n'.join(lines) + '\n'


def render_json(model):
    data = {
        'title': model['title'],
        'generated': model['generated'],
        'hosts': dict((h['name'], {'status': h['status'], 'error': h['error'], 'counts': h['counts'], 'result': h['result']}) for h in model['hosts']),
        'order': [h['name'] for h in model['hosts']],
    }
    return json.dumps(data, indent=2, sort_keys=True) + '\n'
