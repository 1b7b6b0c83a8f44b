# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
""""Why is my change not running?": every known cause, checked in turn, ranked, with evidence.

:func:`diagnose` is pure: it reads the ``opcache_info`` result (``installations``, ``findings``,
``live``) and a few facts gathered on the host (see :func:`gather_facts`: the changed files' stats,
symlinks on their path, file-cache entries, ``realpath_cache_ttl``, the web server's route for a URL)
and returns ``{'causes': [...], 'checked': [...], 'served_by': [...], 'explained': bool, 'summary'}``.

A cause is ``{'code', 'rank', 'score', 'title', 'evidence': [str], 'fix', 'installation', 'pool', 'pid'}``;
``score`` (0-100) orders them: how directly the cause explains old code running. Every check is
listed in ``checked`` with its outcome (``cause``, ``ok`` or ``skipped``) and why."""

from __future__ import annotations

import glob
import os
import posixpath
import re
import time

from ansible_collections.phpops.opcache.plugins.module_utils.findings import php_bool
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.plugins.module_utils.webserver import describe_address, listen_matches

# directives that decide whether a changed file is picked up
FRESHNESS = ('opcache.enable', 'opcache.validate_timestamps', 'opcache.revalidate_freq', 'opcache.file_update_protection',
             'opcache.revalidate_path', 'opcache.file_cache', 'opcache.file_cache_only', 'opcache.preload')
BOOLEAN = ('opcache.enable', 'opcache.enable_cli', 'opcache.validate_timestamps', 'opcache.revalidate_path', 'opcache.file_cache_only')
DEFAULT_REALPATH_TTL = 120
LONG_REVALIDATE = 10

FIX_RESET = ('run phpops.opcache.opcache_reset (a verified opcache_reset() on every master, with proof that the new code is served) '
             'after every deploy')


def _where(file_path, line):
    if not file_path:
        return 'PHP default'
    return '%s:%s' % (file_path, line) if line else file_path


def _same(key, left, right):
    if key in BOOLEAN:
        return php_bool(left) == php_bool(right)
    return (left or '') == (right or '')


def _int(value, default=0):
    try:
        return int(str(value).strip() or default)
    except (TypeError, ValueError):
        return default


def _stamp(epoch):
    if epoch is None:
        return 'unknown'
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(float(epoch)))


# ---------------------------------------------------------------------------
# Which PHP serves the request: targets
# ---------------------------------------------------------------------------

def _masters(report):
    return ((report.get('live') or {}).get('masters')) or []


def _master_of(report, inst, fpm, pool_name=None):
    for master in _masters(report):
        if master.get('config') == fpm.get('fpm_conf') or (inst and master.get('installation') == inst['id']):
            if pool_name is None or pool_name in [p.get('name') for p in master.get('pools', [])] or not master.get('pools'):
                return master
    return None


def _live_pool(master, pool_name):
    for pool in (master or {}).get('pools', []):
        if pool.get('name') == pool_name:
            return pool
    return None


def _target(report, inst, sapi_name, pool, why):
    sapi = inst['sapis'][sapi_name]
    master = _master_of(report, inst, sapi, pool['name'] if pool else None) if sapi_name == 'fpm' else None
    return {'installation': inst['id'], 'version': inst.get('version'), 'sapi_name': sapi_name, 'sapi': sapi, 'inst': inst,
            'pool': pool, 'master': master, 'live_pool': _live_pool(master, pool['name']) if pool else None, 'why': why, 'routed': False}


def restarted_matches(restarted, inst, master=None):
    """Whether the user's ``restarted`` (a service like php8.2-fpm, a version 8.2, a php-fpm.conf path,
    or a master pid) names this installation (or master)."""
    text = str(restarted).strip()
    fpm = inst.get('sapis', {}).get('fpm') or {}
    if text.startswith('/'):
        if master is not None and master.get('config'):
            # a master is named by its own php-fpm.conf (or binary): another master of the same PHP is not it
            return text in (master.get('config'), master.get('binary'))
        return text in (fpm.get('fpm_conf'), (master or {}).get('config'), (master or {}).get('binary')) or inst['id'].endswith(':' + text)
    if text.isdigit():
        return master is not None and master.get('pid') == int(text)
    if (re.match(r'^php[\d.]*-fpm[\d.]*$', text) and master is not None and master.get('config') and fpm.get('fpm_conf')
            and master['config'] != fpm['fpm_conf']):
        # the service (php8.2-fpm) runs the installation's own php-fpm.conf, not a master started with another one
        return False
    match = re.search(r'(\d+)\.(\d+)', text)
    if match:
        wanted = '%s.%s' % match.groups()
        version = (master or {}).get('version') or inst.get('version') or ''
        return version == wanted or version.startswith(wanted + '.') or inst['id'].endswith('/' + wanted) or ('/%s/' % wanted) in (fpm.get('fpm_conf') or '')
    return text in inst['id'] or text in (fpm.get('fpm_conf') or '')


def _minor(version):
    return '.'.join(str(version or '').split('.')[:2]) or None


def _master_targets(report, address, realpath=None):
    """Targets for a FastCGI ``address`` that only a running master's pool listens on: a master started
    with a php-fpm.conf of its own (``php-fpm8.2 -y /etc/php/8.2/shop/php-fpm.conf``), which the
    installation layouts do not name. Its installation is the one whose binary it runs."""
    installations = report.get('installations') or []
    targets = []
    for master in _masters(report):
        for pool in master.get('pools') or []:
            if not listen_matches(address, pool.get('listen'), realpath):
                continue
            with_fpm = [i for i in installations if 'fpm' in i.get('sapis', {})]
            inst = (next((i for i in with_fpm if i['id'] == master.get('installation')), None)
                    or next((i for i in with_fpm if master.get('binary') in (i.get('binaries') or {}).values()), None)
                    or next((i for i in with_fpm if _minor(i.get('version')) and _minor(i.get('version')) == _minor(master.get('version'))), None))
            if inst is None:
                continue
            # its pool's own lines (php_value, php_admin_value...) as the running pool reports them, with their file and line
            own = dict((key, {'value': item.get('value'), 'source': item.get('origin'), 'file': item.get('file'), 'line': item.get('line')})
                       for key, item in (pool.get('settings') or {}).items() if str(item.get('origin') or '').startswith('php_'))
            disk_pool = {'name': pool['name'], 'listen': pool.get('listen'), 'file': master.get('config'), 'line': None, 'settings': own}
            targets.append({'installation': inst['id'], 'version': master.get('version') or inst.get('version'), 'sapi_name': 'fpm',
                            'sapi': inst['sapis']['fpm'], 'inst': inst, 'pool': disk_pool, 'master': master, 'live_pool': pool, 'routed': True,
                            'address': address, 'why': 'the URL is routed to %s, where pool %s of php-fpm master %s (%s) listens'
                            % (describe_address(address), pool['name'], master.get('pid'), master.get('config'))})
    return targets


def resolve_targets(report, facts):
    """``(targets, route_outcome)``: the installation/SAPI/pool/master that serve the request. The URL's
    route decides when given; else the installations the user restarted; else every PHP-FPM (or, without
    FPM, every SAPI but the CLI)."""
    installations = report.get('installations') or []
    route = facts.get('route')
    if route and route.get('found'):
        targets = []
        for address in route['fastcgi']:
            for inst in installations:
                fpm = inst.get('sapis', {}).get('fpm')
                for pool in (fpm or {}).get('pools', []):
                    if listen_matches(address, pool.get('listen'), facts.get('realpath')):
                        target = _target(report, inst, 'fpm', pool, 'the URL is routed to %s, where pool %s listens (%s:%s)'
                                         % (describe_address(address), pool['name'], pool['file'], pool['line']))
                        target['routed'] = True
                        target['address'] = address
                        targets.append(target)
            if not any(t['routed'] and t.get('address') is address for t in targets):
                targets.extend(_master_targets(report, address, facts.get('realpath')))
        if targets:
            return targets, route
    restarted = facts.get('restarted')
    chosen = [i for i in installations if 'fpm' in i.get('sapis', {})]
    why = 'every PHP-FPM installation (no URL route and no restarted service to narrow it)'
    if restarted:
        named = [i for i in chosen if restarted_matches(restarted, i, _master_of(report, i, i['sapis']['fpm']))]
        if named:
            chosen, why = named, 'the PHP-FPM you restarted (%s)' % restarted
    targets = []
    for inst in chosen:
        pools = inst['sapis']['fpm'].get('pools') or [None]
        for pool in pools:
            targets.append(_target(report, inst, 'fpm', pool, why))
    if not targets:
        for inst in installations:
            for name in sorted(inst.get('sapis', {})):
                if name != 'cli':
                    targets.append(_target(report, inst, name, None, 'no PHP-FPM: SAPI %s' % name))
    if not targets:
        for inst in installations:
            if 'cli' in inst.get('sapis', {}):
                targets.append(_target(report, inst, 'cli', None, 'only the CLI was found'))
    return targets, route


def setting(target, key):
    """``(value, where, source, running)``: what the target uses for ``key``. The running pool's value
    (live) wins when known; ``where`` is the file:line that set it on disk (pool or ini chain)."""
    sapi = target['sapi']
    base = (sapi.get('settings') or {}).get(key) or {}
    value, where, source = base.get('value'), _where(base.get('file'), base.get('line')), 'ini' if base.get('file') else 'default'
    pool = target.get('pool')
    if pool:
        pool_setting = (pool.get('settings') or {}).get(key)
        if pool_setting and pool_setting.get('source') not in ('ini', 'default') and pool_setting.get('takes_effect', True):
            value, where, source = pool_setting.get('value'), _where(pool_setting.get('file'), pool_setting.get('line')), pool_setting.get('source')
    running = ((target.get('live_pool') or {}).get('settings') or {}).get(key)
    if running and running.get('value') is not None:
        return running['value'], where, running.get('origin') or source, True
    return value, where, source, False


def _label(target):
    parts = [target['installation'], target['sapi_name']]
    if target.get('pool'):
        parts.append('pool %s' % target['pool']['name'])
    if target.get('master'):
        parts.append('master %s' % target['master']['pid'])
    return ' '.join(str(p) for p in parts)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------

class Result(object):
    """What the checks collect."""

    def __init__(self):
        self.causes = []
        self.checked = []

    def cause(self, code, score, title, evidence, fix, target=None, pid=None):
        key = (code, title)
        for existing in self.causes:
            if (existing['code'], existing['title']) == key:
                existing['evidence'].extend(e for e in evidence if e not in existing['evidence'])
                existing['score'] = max(existing['score'], score)
                return existing
        item = {'code': code, 'score': score, 'title': title, 'evidence': list(evidence), 'fix': fix,
                'installation': target['installation'] if target else None,
                'pool': target['pool']['name'] if target and target.get('pool') else None,
                'pid': pid if pid is not None else ((target or {}).get('master') or {}).get('pid')}
        self.causes.append(item)
        return item

    def check(self, name, outcome, detail):
        self.checked.append({'check': name, 'outcome': outcome, 'detail': detail})


def _cache_time(master):
    """When the master's OPcache was last emptied (start or last restart), or None."""
    stats = (((master or {}).get('status') or {}).get('statistics') or {})
    return max(stats.get('start_time') or 0, stats.get('last_restart_time') or 0) or None


def _changed(facts):
    return [f for f in facts.get('changed_files') or [] if f.get('exists')]


def check_opcache_enabled(targets, facts, result):
    """OPcache not even enabled (or not loaded) for the SAPI that serves the request."""
    off = []
    for target in targets:
        status = ((target.get('master') or {}).get('status') or {})
        key = 'opcache.enable_cli' if target['sapi_name'] == 'cli' else 'opcache.enable'
        value, where, source, running = setting(target, key)
        if not target['sapi'].get('opcache_loaded', True):
            off.append(target)
            result.cause('OPCACHE_OFF', 60, 'OPcache is not loaded for %s: it cannot be what serves old code' % _label(target),
                         ['%s: no zend_extension=opcache line in %s' % (target['installation'], ', '.join(
                             [target['sapi'].get('php_ini') or '(no php.ini)'] + (target['sapi'].get('scanned_files') or [])[:3]))],
                         'look elsewhere: is the URL served by the PHP you changed (give url), a framework cache, a proxy or CDN cache?', target)
        elif not php_bool(value) or (target.get('master') and status and status.get('opcache_enabled') is False):
            off.append(target)
            result.cause('OPCACHE_OFF', 60, 'OPcache is off for %s (%s=%r): it cannot be what serves old code' % (_label(target), key, value),
                         ['%s: %s=%r (%s%s)' % (where, key, value, source, ', running' if running else '')],
                         'look elsewhere: is the URL served by the PHP you changed (give url), a framework cache, a proxy or CDN cache?', target)
    if off:
        result.check('opcache_enabled', 'cause', 'OPcache is off or not loaded for %s' % ', '.join(_label(t) for t in off))
    else:
        result.check('opcache_enabled', 'ok', 'OPcache is enabled for %s' % ', '.join(_label(t) for t in targets))
    return [t for t in targets if t not in off]


def _lost_fixes(sapi):
    """Assignments that would have made changes visible but lost to a later file: a
    validate_timestamps=1 or an opcache.enable=0 beaten by a later assignment."""
    lost = []
    settings = sapi.get('settings') or {}
    for key, wants in (('opcache.validate_timestamps', True), ('opcache.enable', False)):
        winner = settings.get(key) or {}
        if php_bool(winner.get('value')) == wants:
            continue
        for loser in winner.get('overridden') or []:
            if php_bool(loser.get('value')) == wants:
                lost.append('fix that lost: %s sets %s=%s, but %s loads later and sets %s=%s (the last assignment wins)' % (
                    _where(loser.get('file'), loser.get('line')), key, loser.get('value'), _where(winner.get('file'), winner.get('line')),
                    key, winner.get('value')))
    return lost


def check_validation(targets, facts, result):
    """opcache.validate_timestamps=0 and the file and line (or pool) that turned it off."""
    hits = []
    drifted = []
    for target in targets:
        value, where, source, running = setting(target, 'opcache.validate_timestamps')
        if php_bool(value):
            continue
        if running and php_bool(setting(dict(target, live_pool=None), 'opcache.validate_timestamps')[0]):
            # the files now turn validation on, the master still runs it off: a reload is what is missing (check_reload)
            drifted.append(target)
            continue
        hits.append(target)
        evidence = ['%s: opcache.validate_timestamps=%s (%s%s) for %s' % (where, value, source, ', confirmed by the running pool' if running else '',
                                                                          _label(target))]
        evidence.extend(_lost_fixes(target['sapi']))
        master = target.get('master')
        score = 99
        if master:
            stats = ((master.get('status') or {}).get('statistics') or {})
            last_reset = _stamp(stats['last_restart_time']) if stats.get('last_restart_time') else 'never'
            evidence.append('master %s cached its scripts since %s (start %s, last reset %s); a changed file is never checked again'
                            % (master['pid'], _stamp(_cache_time(master)), _stamp(stats.get('start_time')), last_reset))
        cache_time = _cache_time(master)
        changed = _changed(facts)
        if changed and cache_time and all(c['mtime'] < cache_time for c in changed):
            score = 70
            evidence.append('the changed files were modified before that (%s): the cache was emptied since, so validation alone does not explain '
                            'old code now; the next change will be stale again' % ', '.join('%s at %s' % (c['path'], _stamp(c['mtime'])) for c in changed))
        result.cause('VALIDATION_OFF', score, 'opcache.validate_timestamps is off (%s): PHP never looks at changed files' % where, evidence,
                     'either %s, or turn validation on where it is set (%s) with a file that loads last, e.g. the role phpops.opcache.opcache '
                     'with opcache_profile: staging; a restart alone does not last: the next deploy is stale again' % (FIX_RESET, where), target)
    if hits:
        result.check('validate_timestamps', 'cause', 'off for %s' % ', '.join(_label(t) for t in hits))
    elif drifted:
        result.check('validate_timestamps', 'cause', 'on in the files but off in the running %s: see RELOAD_NEEDED'
                     % ', '.join(_label(t) for t in drifted))
    else:
        result.check('validate_timestamps', 'ok', 'on for every PHP that serves the request')


def check_revalidate(targets, facts, result):
    """A long revalidate_freq window; file_update_protection and a just-written file."""
    now = facts.get('now') or time.time()
    window_hits = []
    protection_hits = []
    for target in targets:
        validate, _w, _s, _r = setting(target, 'opcache.validate_timestamps')
        if not php_bool(validate):
            continue
        freq, where, source, running = setting(target, 'opcache.revalidate_freq')
        freq = _int(freq, 2)
        protection, p_where, _ps, _pr = setting(target, 'opcache.file_update_protection')
        protection = _int(protection, 2)
        for changed in _changed(facts):
            mtime = changed['mtime']
            if freq > 0 and mtime + freq > now:
                window_hits.append(target)
                result.cause('REVALIDATE_WINDOW', 90, 'opcache.revalidate_freq=%d (%s): %s is checked again only up to %d s after it changed'
                             % (freq, where, changed['path'], freq),
                             ['%s modified at %s, %.0f s ago; the cache may serve the old copy until %s' % (changed['path'], _stamp(mtime), now - mtime,
                                                                                                            _stamp(mtime + freq)),
                              '%s: opcache.revalidate_freq=%d (%s) for %s' % (where, freq, source, _label(target))],
                             'wait %.0f s, or %s; lower opcache.revalidate_freq where it is set (%s)' % (mtime + freq - now, FIX_RESET, where), target)
            if mtime > now + 1:
                protection_hits.append(target)
                result.cause('FILE_UPDATE_PROTECTION', 40, '%s has a modification time in the future' % changed['path'],
                             ['%s modified at %s, %.0f s in the future (clock skew, or times copied from another machine)'
                              % (changed['path'], _stamp(mtime), mtime - now),
                              '%s: opcache.file_update_protection=%d: OPcache does not cache files newer than that' % (p_where, protection)],
                             'fix the file times (touch the files) and the clock; then %s' % FIX_RESET, target)
            elif protection and mtime > now - protection:
                protection_hits.append(target)
                result.cause('FILE_UPDATE_PROTECTION', 25, '%s was written %.1f s ago, within opcache.file_update_protection=%d s'
                             % (changed['path'], now - mtime, protection),
                             ['%s modified at %s' % (changed['path'], _stamp(mtime)),
                              '%s: opcache.file_update_protection=%d (%s)' % (p_where, protection, _label(target))],
                             'OPcache does not cache a file this young: requests compile it from the file (they do run the new code); '
                             'look again in %d s' % protection, target)
            elif protection == 0:
                protection_hits.append(target)
                result.cause('FILE_UPDATE_PROTECTION', 20, 'opcache.file_update_protection=0: a file cached in the same second as it was written '
                             'keeps its old copy', ['%s: opcache.file_update_protection=0 (%s)' % (p_where, _label(target)),
                                                    '%s modified at %s' % (changed['path'], _stamp(mtime))],
                             'timestamps have one-second resolution: keep the default opcache.file_update_protection=2, and %s' % FIX_RESET, target)
        if not _changed(facts) and freq >= LONG_REVALIDATE:
            window_hits.append(target)
            result.cause('REVALIDATE_WINDOW', 35, 'opcache.revalidate_freq=%d (%s): changed files are seen up to %d s late' % (freq, where, freq),
                         ['%s: opcache.revalidate_freq=%d (%s) for %s' % (where, freq, source, _label(target))],
                         'wait %d s after a change, or %s; give changed_files to know whether the window is over' % (freq, FIX_RESET), target)
    if window_hits:
        result.check('revalidate_freq', 'cause', 'a revalidation window is still open for %s' % ', '.join(sorted(set(_label(t) for t in window_hits))))
    elif not _changed(facts):
        result.check('revalidate_freq', 'ok', 'no window of %d s or more (give changed_files to compare with the file times)' % LONG_REVALIDATE)
    else:
        result.check('revalidate_freq', 'ok', 'the changed files are older than every revalidate_freq window (or validation is off)')
    if protection_hits:
        result.check('file_update_protection', 'cause', 'see FILE_UPDATE_PROTECTION')
    else:
        result.check('file_update_protection', 'ok' if _changed(facts) else 'skipped',
                     'the changed files are older than file_update_protection' if _changed(facts) else 'no changed_files given')


def check_overrides(targets, facts, result):
    """A later file, or a pool php_value/php_admin_value, overriding a freshness setting."""
    hits = 0
    seen = set()
    for target in targets:
        settings = target['sapi'].get('settings') or {}
        for key in FRESHNESS:
            winner = settings.get(key) or {}
            for loser in winner.get('overridden') or []:
                if _same(key, loser.get('value'), winner.get('value')):
                    continue
                marker = (target['installation'], target['sapi_name'], key, loser.get('file'), loser.get('line'))
                if marker in seen:
                    continue
                seen.add(marker)
                hits += 1
                result.cause('SETTING_OVERRIDDEN', 82 if key in ('opcache.validate_timestamps', 'opcache.enable') else 70,
                             '%s=%s set in %s is overridden by %s=%s in %s, which loads later' % (
                                 key, loser.get('value'), _where(loser.get('file'), loser.get('line')), key, winner.get('value'),
                                 _where(winner.get('file'), winner.get('line'))),
                             ['%s: %s=%s (loses)' % (_where(loser.get('file'), loser.get('line')), key, loser.get('value')),
                              '%s: %s=%s (wins: the last assignment in load order)' % (_where(winner.get('file'), winner.get('line')), key,
                                                                                       winner.get('value')),
                              'load order of %s %s: %s' % (target['installation'], target['sapi_name'],
                                                           ', '.join([target['sapi'].get('php_ini') or '(no php.ini)'] +
                                                                     [posixpath.basename(f) for f in target['sapi'].get('scanned_files') or []]))],
                             'put the wanted value in the file that loads last (or rename the later file to .DISABLED); the role '
                             'phpops.opcache.opcache does both, with a restorable manifest', target)
        pool = target.get('pool')
        for key in FRESHNESS:
            pool_setting = ((pool or {}).get('settings') or {}).get(key)
            if not pool_setting or pool_setting.get('source') in ('ini', 'default', None):
                continue
            base = settings.get(key) or {}
            effective = pool_setting.get('takes_effect', True)
            if effective and _same(key, pool_setting.get('value'), base.get('value')):
                continue
            hits += 1
            live = ((target.get('live_pool') or {}).get('settings') or {}).get(key) or {}
            evidence = ['%s: %s[%s]=%s in pool %s' % (_where(pool_setting.get('file'), pool_setting.get('line')), pool_setting.get('source'), key,
                                                      pool_setting.get('value'), pool['name']),
                        '%s: %s=%s in the ini files (%s)' % (_where(base.get('file'), base.get('line')), key, base.get('value'), target['installation'])]
            if live.get('value') is not None:
                evidence.append('the running pool (master %s) uses %s=%s (origin %s)' % (target['master']['pid'], key, live['value'], live.get('origin')))
            if effective:
                title = 'pool %s overrides %s=%s from the ini files with %s=%s (%s)' % (pool['name'], key, base.get('value'), pool_setting.get('source'),
                                                                                        pool_setting.get('value'), _where(pool_setting.get('file'),
                                                                                                                          pool_setting.get('line')))
                fix = 'remove the %s line from the pool file (or set the value you want there), then reload php-fpm' % pool_setting.get('source')
            else:
                title = 'pool %s sets the startup-only %s=%s (%s): PHP shows it but does not use it' % (
                    pool['name'], key, pool_setting.get('value'), _where(pool_setting.get('file'), pool_setting.get('line')))
                fix = 'set %s in the ini files (it is PHP_INI_SYSTEM) and reload php-fpm' % key
            result.cause('SETTING_OVERRIDDEN', 84 if key in ('opcache.validate_timestamps', 'opcache.enable') else 72, title, evidence, fix, target)
    result.check('overrides', 'cause' if hits else 'ok',
                 '%d overridden freshness setting(s)' % hits if hits else 'no later file or pool overrides a freshness setting (%s)' % ', '.join(FRESHNESS))


def _file_cache_entries(facts, path):
    return list((facts.get('file_cache_entries') or {}).get(path, []))


def check_file_cache(targets, facts, result):
    """opcache.file_cache bringing old bytecode back after restarts."""
    hits = []
    for target in targets:
        file_cache, where, source, running = setting(target, 'opcache.file_cache')
        status_cache = ((target.get('master') or {}).get('status') or {}).get('file_cache')
        file_cache = file_cache or status_cache
        if not file_cache:
            continue
        validate, v_where, _s, _r = setting(target, 'opcache.validate_timestamps')
        evidence = ['%s: opcache.file_cache=%s for %s' % (where, file_cache, _label(target))]
        only, o_where, _os, _or = setting(target, 'opcache.file_cache_only')
        if php_bool(only):
            evidence.append('%s: opcache.file_cache_only=1: no shared memory, the file cache is the only cache' % o_where)
        stale = 0
        for changed in _changed(facts):
            for entry in _file_cache_entries(facts, changed['path']):
                older = entry['mtime'] < changed['mtime']
                stale += 1 if older else 0
                evidence.append('%s: compiled at %s, %s %s (modified %s)' % (entry['path'], _stamp(entry['mtime']),
                                                                             'BEFORE' if older else 'after', changed['path'], _stamp(changed['mtime'])))
        live_stale = (((target.get('master') or {}).get('stale_scripts') or {}).get('file_cache') or {})
        for example in live_stale.get('examples') or []:
            evidence.append('%s: the file cache entry %s is older than the source' % (example['path'], example.get('cache_file')))
            stale += 1
        if not php_bool(validate):
            hits.append(target)
            evidence.append('%s: opcache.validate_timestamps=%s: entries are loaded without looking at the source' % (v_where, validate))
            cache_time = _cache_time(target.get('master'))
            emptied = [c for c in _changed(facts) if cache_time and c['mtime'] < cache_time]
            for item in emptied:
                evidence.append('master %s emptied its memory cache at %s, after %s changed (%s): only the file cache brings the old bytecode back'
                                % (target['master']['pid'], _stamp(cache_time), item['path'], _stamp(item['mtime'])))
            result.cause('FILE_CACHE', 100 if stale or emptied else 96,
                         'opcache.file_cache (%s) with validation off brings old bytecode back after every reset, reload and restart' % where, evidence,
                         'purge %s (or run phpops.opcache.opcache_reset, which purges it and proves fresh code); restarting alone does not help'
                         % file_cache, target)
        elif stale or php_bool(only):
            hits.append(target)
            result.cause('FILE_CACHE', 80 if stale else 40, 'opcache.file_cache (%s) holds compiled copies older than the changed files' % where,
                         evidence, 'purge %s; deploys that keep file times (rsync -t, cp -p, tar) defeat validation' % file_cache, target)
        else:
            hits.append(target)
            result.cause('FILE_CACHE', 30, 'opcache.file_cache (%s) survives restarts; with validation on it is stale only when a deploy keeps the '
                         'old file times' % where, evidence,
                         'make sure deploys give changed files new modification times, or purge %s on deploy' % file_cache, target)
    result.check('file_cache', 'cause' if hits else 'ok',
                 'set for %s' % ', '.join(sorted(set(_label(t) for t in hits))) if hits else 'opcache.file_cache is not set')


def _running(value, origin=None):
    if value is None or origin == 'default':
        return "PHP's default%s (no file set it when the master started)" % ('' if value is None else ' %r' % (value,))
    return repr(value)


def check_reload(targets, facts, result):
    """The running master started before the ini change (reload needed); an OPcache restart pending."""
    reload_hits = []
    pending_hits = []
    skipped = []
    done = set()
    for target in targets:
        master = target.get('master')
        if target['sapi_name'] != 'fpm':
            continue
        if not master:
            skipped.append(target)
            continue
        if master['pid'] in done:
            continue
        done.add(master['pid'])
        evidence = []
        score = 0
        for item in master.get('drift') or []:
            evidence.append('%s: %s=%r on disk, but master %s runs %s' % (item.get('evidence'), item['directive'], item.get('disk'), master['pid'],
                                                                          _running(item.get('running'), item.get('running_origin'))))
            # validation turned on in the files but still off in the master: exactly why the change does not show
            turned_on = item['directive'] == 'opcache.validate_timestamps' and php_bool(item.get('disk')) and not php_bool(item.get('running'))
            score = max(score, 98 if turned_on else 90 if item['directive'] in FRESHNESS else 65)
        for pool in master.get('pools') or []:
            for item in pool.get('drift') or []:
                evidence.append('%s: pool %s now says %s=%r, the running pool uses %r' % (item.get('evidence') or master['config'], pool['name'],
                                                                                          item['directive'], item.get('disk'), item.get('running')))
                score = max(score, 90 if item['directive'] in FRESHNESS else 65)
        differs = master.get('fileset_differs')
        if differs:
            evidence.append('master %s loaded ini files that differ from the disk now (only loaded: %s; only on disk: %s)' % (
                master['pid'], ', '.join(differs.get('only_running') or []) or '-', ', '.join(differs.get('only_disk') or []) or '-'))
            score = max(score, 70)
        for item in master.get('changed_after_start') or []:
            evidence.append('%s modified at %s, after master %s loaded its configuration at %s' % (
                item['file'], _stamp(item['mtime']), master['pid'], _stamp(master.get('config_loaded_time') or master.get('start_time'))))
            score = max(score, 60)
        if evidence:
            reload_hits.append(target)
            result.cause('RELOAD_NEEDED', score, 'php-fpm master %s (%s) started before its configuration changed: it still runs the old settings'
                         % (master['pid'], master.get('config')), evidence,
                         'reload php-fpm (service php%s-fpm reload, or the master\'s own service) so that it reads the files again'
                         % ('.'.join((master.get('version') or target.get('version') or 'X.Y').split('.')[:2])), target, master['pid'])
        status = master.get('status') or {}
        if status.get('restart_pending'):
            pending_hits.append(target)
            held = master.get('restart_pending_for')
            result.cause('RESTART_PENDING', 75, 'an OPcache restart of master %s is still pending' % master['pid'],
                         ['master %s: opcache_get_status() restart_pending=true%s' % (master['pid'], ' (still after %s s)' % held if held else ''),
                          'a request that started before the reset still runs; until it ends every request runs uncached'],
                         'wait for long requests to end (opcache.force_restart_timeout kills the holders), or reload php-fpm', target, master['pid'])
    if reload_hits:
        result.check('reload_needed', 'cause', 'masters %s run older settings than the disk' % ', '.join(str(t['master']['pid']) for t in reload_hits))
    elif done:
        result.check('reload_needed', 'ok', 'masters %s run what the files on disk say' % ', '.join(str(p) for p in sorted(done)))
    else:
        result.check('reload_needed', 'skipped', 'no running PHP-FPM master was probed (live view off, or FPM not running)')
    if pending_hits:
        result.check('restart_pending', 'cause', 'an OPcache restart is pending')
    else:
        result.check('restart_pending', 'ok' if done else 'skipped', 'no OPcache restart pending' if done else 'no running master probed')


def check_route(report, targets, facts, result):
    """The URL is served by another PHP-FPM master/version than the one restarted."""
    route = facts.get('route')
    if facts.get('route_error'):
        result.check('web_server_route', 'skipped', facts['route_error'])
        return
    if not route:
        result.check('web_server_route', 'skipped', 'no url given')
        return
    steps = list(route.get('steps') or [])
    if not route.get('found'):
        result.check('web_server_route', 'ok', 'the %s configuration does not pass %s to FastCGI (%s)' % (route['server'], route['url'], '; '.join(steps)))
        return
    served = [t for t in targets if t['routed']]
    if not served:
        addresses = ', '.join(describe_address(a) for a in route['fastcgi'])
        result.cause('OTHER_FPM_SERVES_URL', 90, '%s is passed to %s, where no PHP-FPM pool of this host\'s configuration listens' % (route['url'], addresses),
                     steps + ['pools found: %s' % ', '.join('%s %s (%s)' % (i['id'], p['name'], p.get('listen'))
                                                            for i in report.get('installations') or []
                                                            for p in (i.get('sapis', {}).get('fpm') or {}).get('pools', [])) or 'none'],
                     'find what serves %s (a container, another host, a PHP not installed in a known layout) and restart or reset that one; or point '
                     'fastcgi_pass at the pool you manage' % addresses)
        result.check('web_server_route', 'cause', 'no known pool listens on %s' % addresses)
        return
    restarted = facts.get('restarted')
    mismatched = [t for t in served if restarted and not restarted_matches(restarted, t['inst'], t.get('master'))]
    for target in mismatched:
        master = target.get('master')
        evidence = steps + ['%s: pool %s listens on %s' % (_where(target['pool']['file'], target['pool']['line']), target['pool']['name'],
                                                           target['pool'].get('listen'))]
        if master:
            evidence.append('master %s (%s, PHP %s) started at %s serves it' % (master['pid'], master.get('config'), master.get('version') or target['version'],
                                                                                _stamp(master.get('start_time'))))
        others = [m for m in _masters(report) if m is not master and any(restarted_matches(restarted, i, m) for i in report.get('installations') or []
                                                                         if i['id'] == m.get('installation'))]
        for other in others:
            evidence.append('the one you restarted (%s) is master %s (%s), started at %s' % (restarted, other['pid'], other.get('config'),
                                                                                             _stamp(other.get('start_time'))))
        if not others:
            evidence.append('no running PHP-FPM master on this host matches %s' % restarted)
        config = (master or {}).get('config') or target['sapi'].get('fpm_conf')
        result.cause('OTHER_FPM_SERVES_URL', 100, '%s is served by %s (PHP %s%s), not by the PHP-FPM you restarted (%s)' % (
            route['url'], target['installation'], (master or {}).get('version') or target['version'],
            ', php-fpm master %s of %s' % (master['pid'], config) if master else '', restarted), evidence,
            'restart or reset the PHP-FPM that serves the site (master of %s), e.g. phpops.opcache.opcache_reset with fpm_confs: [%s]; or '
            'change the web server to pass to the pool you manage' % (config, config), target)
    if mismatched:
        result.check('web_server_route', 'cause', '%s is served by %s, not by %s' % (route['url'], ', '.join(_label(t) for t in mismatched), restarted))
    else:
        result.check('web_server_route', 'ok', '%s is served by %s%s' % (route['url'], ', '.join(_label(t) for t in served),
                                                                         ' (the PHP-FPM you restarted)' if restarted else ''))


def check_symlink_release(targets, facts, result):
    """A symlinked release layout (current -> releases/N): the realpath cache keeps the old release."""
    links = facts.get('symlinks') or []
    if not links:
        result.check('symlink_release', 'ok' if (facts.get('changed_files') or facts.get('app_root')) else 'skipped',
                     'no symlink on the path of the changed files or app_root' if (facts.get('changed_files') or facts.get('app_root'))
                     else 'no changed_files or app_root given')
        return
    now = facts.get('now') or time.time()
    route = facts.get('route') or {}
    script_filename = route.get('script_filename') or {}
    hits = 0
    for target in targets:
        ttl_fact = (facts.get('realpath_cache_ttl') or {}).get(target['installation']) or {}
        ttl = _int(ttl_fact.get('value'), DEFAULT_REALPATH_TTL)
        validate, _w, _s, _r = setting(target, 'opcache.validate_timestamps')
        invalidated = _cache_time(target.get('master'))
        for link in links:
            age = now - link['mtime']
            evidence = ['%s -> %s (resolves to %s), switched at %s, %.0f s ago' % (link['path'], link['target'], link['resolved'], _stamp(link['mtime']), age),
                        '%s: realpath_cache_ttl=%d: each worker keeps resolving %s to the previous release for up to %d s'
                        % (_where(ttl_fact.get('file'), ttl_fact.get('line')), ttl, link['path'], ttl)]
            if invalidated:
                evidence.append('master %s: last OPcache (re)start at %s, %s the switch' % (target['master']['pid'], _stamp(invalidated),
                                                                                            'after' if invalidated >= link['mtime'] else 'BEFORE'))
            if script_filename:
                evidence.append('%s: SCRIPT_FILENAME %s%s' % (script_filename['evidence'], script_filename['value'],
                                                              ' (resolved by nginx: the entry script is fine, its includes are not)'
                                                              if '$realpath_root' in script_filename['value'] else ''))
            if invalidated and invalidated >= link['mtime']:
                continue
            if age > ttl:
                continue
            hits += 1
            score = 78 if php_bool(validate) else 55
            result.cause('SYMLINK_REALPATH_CACHE', score, 'release symlink %s was switched %.0f s ago without an invalidation: the realpath cache '
                         'serves the previous release for up to realpath_cache_ttl=%d s' % (link['path'], age, ttl), evidence,
                         '%s (an OPcache restart also clears every worker\'s realpath cache); in nginx pass $realpath_root as SCRIPT_FILENAME and '
                         'DOCUMENT_ROOT' % FIX_RESET, target)
    result.check('symlink_release', 'cause' if hits else 'ok',
                 'symlinked release without invalidation' if hits else 'symlinks %s: switched longer than realpath_cache_ttl ago, or invalidated since'
                 % ', '.join(l['path'] for l in links))


def check_cli_vs_fpm(report, targets, facts, result):
    """``php -i`` (the CLI) reads other values than the PHP-FPM that serves the site."""
    hits = 0
    for target in targets:
        cli = target['inst'].get('sapis', {}).get('cli')
        if not cli or target['sapi_name'] == 'cli':
            continue
        diffs = []
        for key in ('opcache.validate_timestamps', 'opcache.revalidate_freq', 'opcache.file_cache', 'opcache.preload'):
            cli_setting = (cli.get('settings') or {}).get(key) or {}
            value, where, source, _running = setting(target, key)
            if not _same(key, cli_setting.get('value'), value):
                diffs.append('%s=%s for php -i (cli, %s) but %s=%s for %s (%s)' % (key, cli_setting.get('value'), _where(cli_setting.get('file'),
                                                                                                                         cli_setting.get('line')),
                                                                                   key, value, _label(target), where))
        if diffs:
            hits += 1
            result.cause('CLI_VS_FPM', 45, '`php -i` and PHP-FPM read different OPcache settings (%s)' % target['installation'],
                         diffs + ['the CLI has its own cache: opcache_reset() from the command line does not reset PHP-FPM'],
                         'check and reset the SAPI that serves the site (php-fpm%s -i, or phpops.opcache.opcache_info sapis=fpm), not the CLI'
                         % ('.'.join((target.get('version') or '').split('.')[:2])), target)
    result.check('cli_vs_fpm', 'cause' if hits else 'ok', 'CLI and FPM differ' if hits else 'the CLI reads the same freshness settings as PHP-FPM '
                 '(or there is no CLI)')


def _same_path(facts, left, right):
    realpath = facts.get('realpath') or (lambda p: p)
    return left == right or realpath(left) == realpath(right)


def check_preload(targets, facts, result):
    """opcache.preload: preloaded code is never revalidated; only a restart loads it again."""
    hits = 0
    configured = 0
    for target in targets:
        preload, where, source, running = setting(target, 'opcache.preload')
        if not preload:
            continue
        configured += 1
        status = (target.get('master') or {}).get('status') or {}
        scripts = ((status.get('preload_statistics') or {}).get('scripts')) or []
        changed = _changed(facts)
        matched = [c for c in changed if any(_same_path(facts, c['path'], s) for s in scripts) or _same_path(facts, c['path'], preload)]
        evidence = ['%s: opcache.preload=%s for %s' % (where, preload, _label(target))]
        if matched:
            hits += 1
            evidence.extend('%s is preloaded by master %s' % (c['path'], (target.get('master') or {}).get('pid', '?')) for c in matched)
            result.cause('PRELOADED', 97, 'the changed file is preloaded (%s): preloaded code is never revalidated or reset' % where, evidence,
                         'restart (or reload) php-fpm after every deploy that changes preloaded files; opcache_reset() re-preloads the old '
                         'code from the cache only when the files did not change', target)
        elif not changed or not scripts:
            hits += 1
            result.cause('PRELOADED', 40, 'a preload script is set (%s); if it loads the changed file, only a restart brings the new code' % where,
                         evidence + (['the running master did not list its preloaded scripts'] if not scripts else []),
                         'restart php-fpm after deploys that change preloaded files; keep release paths out of the preload script', target)
    if hits:
        result.check('preload', 'cause', 'opcache.preload is set')
    else:
        result.check('preload', 'ok', 'opcache.preload is not set' if not configured else 'the changed files are not among the preloaded scripts')


def check_stale_copy(targets, facts, result):
    """The running masters hold an older compiled copy of the changed file (live view)."""
    changed = _changed(facts)
    if not changed:
        result.check('stale_cached_copy', 'skipped', 'no changed_files given')
        return
    probed = []
    hits = 0
    unsure = 0
    done = set()
    for target in targets:
        master = target.get('master')
        if not master or master['pid'] in done:
            continue
        done.add(master['pid'])
        stale = master.get('stale_scripts')
        if stale is None or stale.get('count') is None:
            continue
        probed.append(master['pid'])
        for example in stale.get('examples') or []:
            for item in changed:
                if _same_path(facts, example['path'], item['path']):
                    hits += 1
                    result.cause('STALE_CACHED_COPY', 88, 'php-fpm master %s still runs an old compiled copy of %s' % (master['pid'], item['path']),
                                 ['master %s: %s (%s)' % (master['pid'], example['path'], example.get('reason')),
                                  '%s modified at %s; cached copy last used at %s' % (item['path'], _stamp(item['mtime']), _stamp(example.get('last_used')))],
                                 FIX_RESET, target, master['pid'])
        unsure += _inconclusive_copy(master, stale, changed, facts, target, result)
    if hits:
        result.check('stale_cached_copy', 'cause', 'old copies cached by masters %s' % ', '.join(str(p) for p in probed))
    elif unsure:
        result.check('stale_cached_copy', 'cause', 'masters %s: whether the cached copies are old cannot be told (OPcache recorded no '
                     'timestamp): not "0 stale"' % ', '.join(str(p) for p in probed))
    elif probed:
        result.check('stale_cached_copy', 'ok', 'masters %s hold no older copy of the changed files' % ', '.join(str(p) for p in probed))
    else:
        result.check('stale_cached_copy', 'skipped', 'the cached script lists could not be read (live view off, FPM not running, or blocked)')


def _inconclusive_copy(master, stale, changed, facts, target, result):
    """A cause of lower confidence when the master's cached copy of a changed file (or, with none of
    them judged, any cached script) could not be judged: OPcache recorded no timestamp (validation and
    file_update_protection off in the compiling pool) and the file was replaced after the cache
    started. Returns 1 when such a cause was added."""
    examples = stale.get('inconclusive_examples') or []
    count = stale.get('inconclusive') or 0
    if not count:
        return 0
    matched = [(e, item) for e in examples for item in changed if _same_path(facts, e['path'], item['path'])]
    fix = '%s; OPcache cannot tell without a timestamp, a verified reset can' % FIX_RESET
    if matched:
        for example, item in matched:
            result.cause('STALE_COPY_INCONCLUSIVE', 65, 'php-fpm master %s may still run an old compiled copy of %s: OPcache recorded no '
                         'timestamp for it, so whether it was compiled before the change cannot be told' % (master['pid'], item['path']),
                         ['master %s: %s (%s)' % (master['pid'], example['path'], example.get('reason')),
                          '%s modified at %s (ctime %s); cached copy last used at %s' % (
                              item['path'], _stamp(item['mtime']), _stamp(example.get('ctime')), _stamp(example.get('last_used')))],
                         fix, target, master['pid'])
        return 1
    if stale.get('count'):
        return 0
    result.cause('STALE_COPY_INCONCLUSIVE', 35, 'php-fpm master %s: %d cached script(s) were replaced after its cache started and cannot be '
                 'judged (no OPcache timestamp); the changed files are not among the examples' % (master['pid'], count),
                 ['master %s: %s (%s)' % (master['pid'], e['path'], e.get('reason')) for e in examples[:5]], fix, target, master['pid'])
    return 1


def _live_outcome(report, result):
    live = report.get('live')
    if live is None:
        result.check('live_view', 'skipped', 'the running PHP-FPM was not asked (live=false, no master running, or root set)')
        return
    problems = [f['message'] for f in report.get('findings') or [] if f['code'] == 'LIVE_PROBE_FAILED']
    masters = ', '.join('%s (%s)' % (m['pid'], m.get('config')) for m in live.get('masters') or [])
    result.check('live_view', 'ok' if not problems else 'skipped', 'masters asked: %s%s' % (masters or 'none', '; ' + '; '.join(problems) if problems else ''))


def diagnose(report, facts):
    """Every check in turn over the opcache_info ``report`` and the host ``facts``; ranked causes."""
    facts = dict(facts or {})
    facts.setdefault('now', time.time())
    result = Result()
    targets, _route = resolve_targets(report, facts)
    _live_outcome(report, result)
    check_route(report, targets, facts, result)
    if not targets:
        result.check('php', 'skipped', 'no PHP installation found')
    enabled = check_opcache_enabled(targets, facts, result) if targets else []
    check_validation(enabled, facts, result)
    check_revalidate(enabled, facts, result)
    check_overrides(enabled, facts, result)
    check_file_cache(enabled, facts, result)
    check_reload(targets, facts, result)
    check_symlink_release(enabled, facts, result)
    check_cli_vs_fpm(report, targets, facts, result)
    check_preload(enabled, facts, result)
    check_stale_copy(enabled, facts, result)
    causes = sorted(result.causes, key=lambda c: (-c['score'], c['code'], c['title']))
    for rank, cause in enumerate(causes, 1):
        cause['rank'] = rank
    explained = any(c['score'] >= 50 for c in causes)
    served_by = [{'installation': t['installation'], 'sapi': t['sapi_name'], 'pool': t['pool']['name'] if t.get('pool') else None,
                  'pid': (t.get('master') or {}).get('pid'), 'version': (t.get('master') or {}).get('version') or t.get('version'), 'why': t['why']}
                 for t in targets]
    if causes and explained:
        summary = 'most likely: %s (%d cause(s) found)' % (causes[0]['title'], len(causes))
    elif causes:
        summary = 'nothing explains it for certain; weak candidates: %s. Checked: %s' % (
            '; '.join(c['code'] for c in causes), ', '.join(c['check'] for c in result.checked))
    else:
        summary = 'nothing explains it: every check passed (%s)' % ', '.join('%s: %s' % (c['check'], c['outcome']) for c in result.checked)
    return {'causes': causes, 'checked': result.checked, 'served_by': served_by, 'explained': explained, 'summary': summary}


# ---------------------------------------------------------------------------
# Facts gathered on the host (read-only)
# ---------------------------------------------------------------------------

def path_symlinks(path, lstat=os.lstat, readlink=os.readlink, realpath=os.path.realpath):
    """The symlinks among the directory components of ``path`` (and ``path`` itself)."""
    links = []
    parts = [p for p in path.split('/') if p]
    current = '/'
    for part in parts:
        current = posixpath.join(current, part)
        try:
            info = lstat(current)
        except OSError:
            break
        if os.path.stat.S_ISLNK(info.st_mode):
            links.append({'path': current, 'target': readlink(current), 'resolved': realpath(current), 'mtime': info.st_mtime})
    return links


def file_fact(path):
    try:
        info = os.stat(path)
    except OSError as error:
        return {'path': path, 'exists': False, 'error': error.strerror}
    return {'path': path, 'exists': True, 'mtime': info.st_mtime, 'size': info.st_size, 'realpath': os.path.realpath(path)}


def file_cache_entries(directory, path):
    """``<file_cache>/<system id>/<path>.bin`` entries of ``path`` (and of its realpath)."""
    entries = []
    for candidate in sorted(set([path, os.path.realpath(path)])):
        for entry in sorted(glob.glob(posixpath.join(glob.escape(directory), '*', glob.escape(candidate.lstrip('/')) + '.bin'))):
            try:
                entries.append({'path': entry, 'mtime': os.stat(entry).st_mtime})
            except OSError:
                continue
    return entries


def gather_facts(report, changed_files, app_root, realpath_ttls, now=None):
    """The host facts :func:`diagnose` needs besides the report (stats only: changes nothing)."""
    facts = {'now': now or time.time(), 'changed_files': [file_fact(p) for p in changed_files or []], 'app_root': app_root,
             'realpath': os.path.realpath, 'realpath_cache_ttl': realpath_ttls or {}}
    links = []
    for path in list(changed_files or []) + ([app_root] if app_root else []):
        for link in path_symlinks(path):
            if link['path'] not in [l['path'] for l in links]:
                links.append(link)
    facts['symlinks'] = links
    directories = set()
    for inst in report.get('installations') or []:
        for sapi in inst.get('sapis', {}).values():
            value = ((sapi.get('settings') or {}).get('opcache.file_cache') or {}).get('value')
            if value:
                directories.add(value)
    for master in (report.get('live') or {}).get('masters') or []:
        value = (master.get('status') or {}).get('file_cache')
        if value:
            directories.add(value)
    entries = {}
    for changed in facts['changed_files']:
        if changed.get('exists'):
            entries[changed['path']] = [e for d in sorted(directories) for e in file_cache_entries(d, changed['path'])]
    facts['file_cache_entries'] = entries
    return facts


def realpath_ttls(fs, report):
    """``{installation id: {'value', 'file', 'line'}}``: realpath_cache_ttl from each installation's
    FPM ini chain (PHP's default when no file sets it)."""
    ttls = {}
    for inst in report.get('installations') or []:
        sapis = inst.get('sapis') or {}
        sapi = sapis.get('fpm') or next((sapis[n] for n in sorted(sapis) if n != 'cli'), None) or sapis.get('cli')
        if not sapi:
            continue
        try:
            config = IniChain(fs, version=inst.get('version')).load(sapi.get('php_ini'), sapi.get('scan_dirs') or [])
        except (HostFSError, OSError):
            continue
        assignment = config.settings.get('realpath_cache_ttl')
        if assignment is not None:
            ttls[inst['id']] = {'value': assignment.value, 'file': assignment.file, 'line': assignment.line}
        else:
            ttls[inst['id']] = {'value': str(DEFAULT_REALPATH_TTL), 'file': None, 'line': None}
    return ttls
