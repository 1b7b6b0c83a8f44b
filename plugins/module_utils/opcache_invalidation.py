# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Invalidate OPcache on every PHP-FPM master and PROVE that PHP now serves the new code.

Per master:

1. Before: the cache counters (start_time, last_restart_time, manual_restarts, restart_pending),
   and a canary: a small PHP file written with token A, requested in every pool so that it is
   cached, then rewritten with token B (both backdated past opcache.file_update_protection).
   For a reset all of this rides in the reset request itself (``ResetAction.held_reset``): under load every
   request waits for a free worker, and fresh code should not wait for the proof's preparation.
2. Act: ``opcache_reset()`` in a pool over FastCGI, or reload/restart through the service manager.
   With ``opcache.file_cache`` the cache's own entries are purged first: the file cache survives
   all three actions and would bring the old bytecode back.
3. Verify, within a bounded wait: the restart really happened (reset: ``restart_pending`` false and
   ``manual_restarts`` risen; reload/restart: a new master or a new cache start time), then every
   pool must serve token B. Optional: no stale cached script under ``verify_paths``; ``verify_url``
   through the real web server shows ``verify_content``.
4. With strategy ``auto``, escalate reset -> reload -> restart until the proof holds, else fail with
   the evidence.

Preloading (``opcache.preload``): ``opcache_reset()`` keeps preloaded scripts (after the restart
OPcache puts them back into its hash, ``preload_restart()`` in ZendAccelerator.c), and they are
never revalidated; only a new master preloads again (a reload re-executes the master, so it does).
The counters read before acting tell which preloaded files changed since the master preloaded them
(``preload_state``); then ``auto`` skips the reset and ``reset`` fails naming them, and after a
reload or restart the new master's preload statistics prove them fresh.

A reset only schedules the restart; it happens when no worker is inside a request (or after
opcache.force_restart_timeout), which is why the wait is bounded and escalation exists.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time

from ansible.module_utils.urls import open_url
from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import FastCGIClient, FastCGIError, build_php_params, parse_listen
from ansible_collections.phpops.opcache.plugins.module_utils.file_cache import FileCacheError, purge
from ansible_collections.phpops.opcache.plugins.module_utils.findings import php_bool
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.live.hold import ACTION_PROBE_SOURCE, HOLD_MARKER
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters, same_binary_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live.releases import changed_preloads, release_roots
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import (
    DEFAULT_PROBE_DIR,
    PROBE_PREFIX,
    LiveError,
    probe_group_id,
    cleanup_leftovers,
    ensure_probe_dir,
    plan_probe,
    pool_specs,
    probe_pool,
    remove_probe,
    status_summary,
    write_probe,
)
from ansible_collections.phpops.opcache.plugins.module_utils.live.stale import changed_at, stale_scripts
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import ServiceError, act
from ansible_collections.phpops.opcache.plugins.module_utils.reset_pending import holders, note_scheduled_reset, pending_since

STRATEGIES = ('auto', 'reset', 'reload', 'restart')
ESCALATION = ('reset', 'reload', 'restart')
CANARY_PREFIX = 'phpops-canary:'


class InvalidationError(Exception):
    """A master could not be invalidated with proof; the message says which and why."""


class PreloadBlocksReset(InvalidationError):
    """A reset would leave changed preloaded code in place (raised inside the held reset request to
    end it before anything changed)."""


def _now_ms():
    return int(time.time() * 1000)


def _canary_source(token):
    return "<?php\necho '%s%s';\n" % (CANARY_PREFIX, token)


class PoolChannel(object):
    """One pool of one master: run the probe, and keep this run's canary in the pool's view."""

    def __init__(self, spec, probe_dir, timeout, in_use):
        self.spec = spec
        self.name = spec.name
        self.probe_dir = probe_dir
        self.timeout = timeout
        self.in_use = in_use  # this run's probe-named files that live across requests (the canaries)
        self.status_path = None  # the pool's pm.status_path, when it has one
        self.canary = None

    def probe(self, payload, on_stdout=None, timeout=None):
        data, dummy_site = probe_pool(self.spec, self.probe_dir, payload, timeout or self.timeout, on_stdout, ACTION_PROBE_SOURCE, self.in_use)
        return data

    def place_canary(self, shared_sites, token, mtime):
        """Write the canary once per site: pools that see the same directory with the same group share
        one file; it is named like a probe so that an interrupted run's canary is cleaned up."""
        if self.canary is None:
            site = plan_probe(self.probe_dir, self.spec, self.spec.open_basedir, None)
            site['gid'] = probe_group_id(self.spec) if os.geteuid() == 0 else None
            key = (site['host_dir'], site['gid'])
            if key not in shared_sites:
                ensure_probe_dir(site['host_dir'])
                cleanup_leftovers(site['host_dir'], in_use=self.in_use)
                self.in_use.add(site['host_path'])
                shared_sites[key] = site
                write_canary(site, token, mtime, self.in_use)
            self.canary = shared_sites[key]

    def fpm_status(self):
        """The pool's own process list (``pm.status_path``, ``?json&full``), or None when the pool has
        no status page or it does not answer."""
        path = self.status_path
        if not path or not path.startswith('/'):
            return None
        try:
            response = FastCGIClient(parse_listen(self.spec.listen), connect_timeout=min(3.0, self.timeout), read_timeout=self.timeout).request(
                build_php_params(path, 'json&full', extra={'SCRIPT_NAME': path, 'REQUEST_URI': path + '?json&full'}))
            data = json.loads(response.body.decode('utf-8', 'replace'))
        except (FastCGIError, ValueError):
            return None
        return data if response.status == 200 and isinstance(data, dict) else None

    def read_canary(self):
        """The token the pool serves for the canary now."""
        try:
            address = parse_listen(self.spec.listen)
            response = FastCGIClient(address, connect_timeout=min(3.0, self.timeout), read_timeout=self.timeout).request(
                build_php_params(self.canary['script_filename']))
        except FastCGIError as error:
            raise LiveError(str(error))
        body = response.body.decode('utf-8', 'replace').strip()
        if response.status != 200 or not body.startswith(CANARY_PREFIX):
            raise LiveError('the canary %s answered HTTP %d: %s' % (self.canary['script_filename'], response.status, body[:80]))
        return body[len(CANARY_PREFIX):]


def stage_canary(site, token, mtime, in_use):
    """Write the next canary beside the current one, under a probe-like name of its own (so that an
    interrupted run's file is cleaned up like a probe), ready for swap_canary. ``in_use``: the run's
    set of probe-named files that the leftover cleanup must keep."""
    if site.get('staged'):
        remove_probe({'host_path': site['staged']})
        in_use.discard(site.pop('staged'))
    name = '%s%d-%s%s' % (PROBE_PREFIX, os.getpid(), secrets.token_hex(16), site['ext'])
    staged = dict(site, host_path=os.path.join(site['host_dir'], name))
    in_use.add(staged['host_path'])
    write_probe(staged, site['gid'], _canary_source(token), mtime)
    site['staged'] = staged['host_path']


def swap_canary(site, in_use):
    """Replace the canary with the staged one: one rename, atomic for every reader."""
    staged = site.pop('staged')
    os.rename(staged, site['host_path'])
    in_use.discard(staged)


def write_canary(site, token, mtime, in_use):
    """Replace the canary atomically with new content and a given mtime."""
    stage_canary(site, token, mtime, in_use)
    swap_canary(site, in_use)


class MasterInvalidation(object):
    """Invalidate one master with proof: the canary and counters shared by every action, and the run
    through the strategy's actions (``plan``) until one is proven."""

    def __init__(self, fs, master, report, params, run_command, check_mode=False):
        self.fs = fs
        self.master = master
        self.params = params
        self.run_command = run_command
        self.check_mode = check_mode
        inst, self.fpm_sapi = report.fpm_sapi_for(master.config) or (None, None)
        self.installation = inst.id if inst else None
        # the report loaded this FPM configuration already: read it again only for a master it does not know
        fpm = self.fpm_sapi.fpm if self.fpm_sapi is not None and self.fpm_sapi.fpm is not None else read_fpm_config(fs, master.config)
        wanted = params.get('pools')
        self.in_use = set()
        self.channels = [PoolChannel(spec, params.get('probe_dir') or DEFAULT_PROBE_DIR, float(params.get('timeout') or 5.0), self.in_use)
                         for spec in pool_specs(fpm, self.fpm_sapi.chain.values() if self.fpm_sapi else None) if not wanted or spec.name in wanted]
        status_paths = dict((pool.name, pool.get('pm.status_path')) for pool in fpm.pools)
        for channel in self.channels:
            channel.status_path = status_paths.get(channel.name)
        self.process_control_timeout = fpm.get('process_control_timeout', '0')
        self.steps = []
        self.result = {'pid': master.pid, 'config': master.config, 'installation': self.installation,
                       'pools': [c.name for c in self.channels], 'steps': self.steps, 'warnings': [],
                       'master_start_time': master.start_time}
        self._canary_sites = {}
        self.pending_seen = None  # when this run first saw a restart pending (time.time())
        self.service_acted_at = None  # when this run's reload or restart was started (time.time())

    # -- helpers --------------------------------------------------------------------------------
    def where(self):
        return 'master %d (%s)' % (self.master.pid, self.master.config)

    def step(self, name, ok, detail, started=None, **extra):
        entry = dict(step=name, ok=ok, detail=detail, **extra)
        if started is not None:
            entry['ms'] = _now_ms() - started
        self.steps.append(entry)
        return entry

    def status(self):
        """Counters through the first pool that can read them: (summary or None, channel, data).
        None when every answering pool is barred from opcache_get_status() (restrict_api)."""
        errors = []
        barred = None
        for channel in self.channels:
            try:
                data = channel.probe({'scripts': False})
            except LiveError as error:
                errors.append('pool %s: %s' % (channel.name, error))
                continue
            summary = status_summary(data.get('status'))
            if summary is not None:
                return summary, channel, data
            barred = barred or (channel, data)
        if barred:
            return None, barred[0], barred[1]
        raise InvalidationError('%s: no pool answered: %s' % (self.where(), '; '.join(errors)))

    # -- the canary and the counters before acting ----------------------------------------------
    def place_canaries(self):
        """Write the canary (the old token) once per site, seen by every pool."""
        self.token_old = secrets.token_hex(8)
        self.token_new = secrets.token_hex(8)
        self._written_at = time.time()
        for pool in self.channels:
            pool.place_canary(self._canary_sites, self.token_old, self._written_at - 60)

    def prepare_canaries(self, held=None):
        """Cache the canary of every site not prepared yet in every pool of it, replace it on disk, and
        note which pools still serve the old token. ``held``: the site a held reset prepares inside its
        own request (left alone here, and the counters come from that request too)."""
        sites = [site for site in self._canary_sites.values() if not site.get('replaced') and site is not held]
        readers = [c for c in self.channels if any(c.canary is site for site in sites)]
        calls = [(c.name, c.read_canary) for c in readers]
        if 'before' not in self.result and held is None:
            calls.insert(0, ('status', self.status))
        if not calls:
            return
        answers = in_parallel(calls)
        if 'status' in answers:
            self.note_before(*answers['status'])
        for site in sites:
            write_canary(site, self.token_new, self._written_at - 30, self.in_use)
            site['replaced'] = True
        served = in_parallel([(c.name, c.read_canary) for c in readers])
        stale = dict((name, token == self.token_old) for name, token in served.items())
        self.result.setdefault('canary_stale_before', {}).update(stale)
        self.step('canary', True, 'canary cached in pools %s; after changing it, %s still served the old token'
                  % (', '.join(sorted(stale)), ', '.join(sorted(n for n, old in stale.items() if old)) or 'no pool'))

    def note_before(self, summary, channel, data):
        """Counters, file cache and warnings from one probe answer taken before acting."""
        restrict = (data.get('ini') or {}).get('opcache.restrict_api', {}).get('local')
        if summary is None:
            self.result['before'] = None
            self.result['file_cache'] = (data.get('ini') or {}).get('opcache.file_cache', {}).get('local') or None
            self.result['warnings'].append('opcache.restrict_api=%r bars the probe from opcache_get_status() and opcache_reset(): '
                                           'only a reload or restart can invalidate, proven by the master start time and the canary' % restrict)
        else:
            self.result['before'] = _counters(summary)
            self.result['file_cache'] = summary.get('file_cache')
            if summary.get('restart_pending') and self.pending_seen is None:
                self.pending_seen = time.time()
            if not summary.get('opcache_enabled') and not summary.get('restart_pending'):
                self.result['warnings'].append('OPcache is not enabled in pool %s: there is no cache to invalidate' % channel.name)
            if restrict:
                self.result['warnings'].append('opcache.restrict_api=%r: opcache_reset() works only from scripts under it' % restrict)
        ini = data.get('ini') or {}
        if self.result.get('file_cache') and not php_bool((ini.get('opcache.validate_timestamps') or {}).get('local')):
            self.result['warnings'].append('opcache.file_cache=%s with validate_timestamps off: old bytecode survives a reset, a reload and a '
                                           'restart; the file cache is purged before every action' % self.result['file_cache'])
        if self.process_control_timeout in ('0', '0s', ''):
            self.result['warnings'].append('process_control_timeout=0 in %s: a reload kills in-flight requests; set it (e.g. 10s) '
                                           'for graceful reloads' % self.master.config)
        if 'preload' not in self.result:
            self.note_preload(summary, data)

    # -- preloading ----------------------------------------------------------------------------
    def loaded_at(self, summary):
        """When the master preloaded, at the earliest: the latest of its cache's start time (whole
        seconds), its process start (a reload of a master run with --nodaemonize keeps the process)
        and, once this run reloaded or restarted it, the moment it did (the master preloads after)."""
        stats = (summary or {}).get('statistics') or {}
        return max(stats.get('start_time') or 0, self.master.start_time or 0, self.service_acted_at or 0) or None

    def note_preload(self, summary, data):
        """The master's preloading before acting (``result['preload']``, a step): what a reset could not refresh."""
        state = preload_state(data.get('ini') or {}, summary, self.loaded_at(summary), self.params.get('verify_paths') or [])
        self.result['preload'] = state
        if state is None:
            return
        head = 'master %d preloaded %d scripts (opcache.preload=%s) at %s' % (self.master.pid, len(state['scripts']), state['script'],
                                                                              _when(state['loaded_at']))
        if state['refresh']:
            self.step('preload', True, '%s; opcache_reset() keeps preloaded code, and these must be preloaded again: %s'
                      % (head, _describe_refresh(state['refresh'])))
        else:
            self.step('preload', True, '%s; none changed on disk since: a reset keeps them, and they are current' % head)

    def reset_blocked_by_preload(self):
        """Why a reset cannot refresh this master's code (changed preloaded files), or None."""
        state = self.result.get('preload')
        if not state or not state['refresh']:
            return None
        files = _describe_refresh(state['refresh'])
        if self.result.get('strategy') == 'auto':
            return ('opcache_reset() skipped: it keeps preloaded code, and %s preloaded files that must be preloaded again (%s); '
                    'a reload or restart preloads them' % (self.where(), files))
        return ('opcache_reset() would not refresh preloaded code: %s preloaded %s at its start (opcache.preload=%s), and a reset keeps '
                'preloaded scripts; run with strategy reload or restart (or auto) so that the master preloads the new code'
                % (self.where(), files, state['script']))

    def preload_fresh(self):
        """After an action: the master's preloaded code is current (``result['preload']['after']`` and
        ``proven``, a step). Returns the problem, or None."""
        state = self.result.get('preload')
        if not state:
            return None
        try:
            summary, dummy_channel, data = self.status()
        except (InvalidationError, LiveError) as error:
            state['proven'] = False
            self.step('verify_preload', False, 'preloaded code not verified: %s' % error)
            return 'preloaded code not verified: %s' % error
        after = preload_state(data.get('ini') or {}, summary, self.loaded_at(summary), self.params.get('verify_paths') or [])
        stale = [entry for entry in (after or {}).get('refresh', ()) if entry['reason'] != 'verify_paths']
        state['after'] = after
        state['proven'] = not stale
        if after is None:
            detail = 'master %d preloads nothing any more (opcache.preload is not set)' % self.master.pid
        elif stale:
            detail = 'master %d (preloaded at %s) still preloads old code: %s' % (self.master.pid, _when(after['loaded_at']), _describe_refresh(stale))
        else:
            again = [entry['file'] for entry in state['refresh'] if entry['file'] in after['scripts']]
            detail = 'master %d preloaded %d scripts at %s, every one unchanged on disk since%s' % (
                self.master.pid, len(after['scripts']), _when(after['loaded_at']),
                ' (preloaded again: %s)' % ', '.join(again) if again else '')
        self.step('verify_preload', not stale, detail)
        return detail if stale else None

    def purge_file_cache(self, started):
        """Purge opcache.file_cache when the master uses one: it survives every action."""
        if not self.result.get('file_cache'):
            return
        try:
            purged = purge(self.result['file_cache'])
        except FileCacheError as error:
            raise InvalidationError('%s: %s' % (self.where(), error))
        self.step('purge_file_cache', True, 'removed %d file cache entries from %s' % (purged['removed'], purged['dir']), started, purged=purged)

    def canaries_fresh(self):
        """(every pool serves the new token, 'canary per pool: ...')."""
        served = in_parallel([(c.name, c.read_canary) for c in self.channels])
        detail = 'canary per pool: %s' % ', '.join('%s=%s' % (n, 'new' if t == self.token_new else 'OLD') for n, t in sorted(served.items()))
        return all(token == self.token_new for token in served.values()), detail

    def marker_dir(self):
        """Where a scheduled reset is noted for later runs: the probe directory (when it exists)."""
        return self.params.get('probe_dir') or DEFAULT_PROBE_DIR

    def follow_master(self):
        """A daemonised FPM re-executes on reload and gets a new pid: find it by its config."""
        for master in find_fpm_masters():
            if master.config == self.master.config:
                self.master = master
                return
        raise InvalidationError('no php-fpm master runs %s (yet)' % self.master.config)

    def user_checks(self, deadline):
        problems = []
        stale_preload = self.preload_fresh()
        if stale_preload:
            problems.append(stale_preload)
        paths = self.params.get('verify_paths') or []
        if paths:
            channel = self.channels[0]
            data = channel.probe({'scripts': True, 'paths': [p.rstrip('/') + '/' for p in paths], 'limit': 20000})
            status = data.get('status') or {}
            stats = status.get('opcache_statistics') or {}
            cache_time = max(stats.get('start_time') or 0, stats.get('last_restart_time') or 0)
            stale = stale_scripts(((data.get('scripts') or {}).get('list') or []), cache_time, channel.spec.chroot)
            self.step('verify_paths', stale['count'] == 0, '%d stale cached scripts under %s' % (stale['count'], ', '.join(paths)),
                      examples=stale['examples'])
            if stale['count']:
                problems.append('%d cached scripts under %s are older than their files' % (stale['count'], ', '.join(paths)))
        url = self.params.get('verify_url')
        if url:
            ok, detail = check_url(url, self.params.get('verify_content'), deadline, float(self.params.get('timeout') or 5.0))
            self.step('verify_url', ok, detail)
            if not ok:
                problems.append(detail)
        return problems

    def cleanup(self):
        """Drop the canary from the cache (and the file cache) and remove it from disk."""
        for channel in self.channels:
            if channel.canary is None:
                continue
            try:
                channel.probe({'invalidate': [channel.canary['script_filename']], 'scripts': False})
            except (LiveError, OSError):
                pass
            break
        for site in self._canary_sites.values():
            if site.get('staged'):
                remove_probe({'host_path': site['staged']})
                self.in_use.discard(site.pop('staged'))
            remove_probe(site)
            self.in_use.discard(site['host_path'])

    # -- the whole run --------------------------------------------------------------------------
    def plan(self, strategy):
        """The actions to try in order: ``auto`` is reset (held: it carries the canary), reload, restart."""
        names = list(ESCALATION) if strategy == 'auto' else [strategy]
        return [ACTIONS[name](self, first=(index == 0)) for index, name in enumerate(names)]

    def run(self, strategy, wait):
        if not self.channels:
            among = ' among %s' % self.params['pools'] if self.params.get('pools') else ''
            raise InvalidationError('%s has no pool to work through%s' % (self.where(), among))
        plan = self.plan(strategy)
        self.result['strategy'] = strategy
        try:
            if self.check_mode:
                self.note_before(*self.status())
                blocked = self.reset_blocked_by_preload() if plan[0].name == 'reset' else None
                if blocked and not plan[1:]:
                    raise InvalidationError(blocked)
                if blocked:
                    plan = plan[1:]
                self.result['would'] = plan[0].name + (' (escalating to %s if not proven)' % ', '.join(a.name for a in plan[1:]) if plan[1:] else '')
                if blocked:
                    self.result['would'] += '; the reset is skipped: %s' % blocked
                if self.result.get('file_cache'):
                    self.result['would'] += ', purging the file cache %s first' % self.result['file_cache']
                return self.result
            self.place_canaries()
            failures = []
            for action in plan:
                action.prepare()
                started = _now_ms()
                step = action.act()
                if not step['ok']:
                    failures.append('%s: %s' % (action.name, step['detail']))
                    continue
                ok, detail, elapsed = action.verify(started, time.time() + wait)
                self.step('verify_' + action.name, ok, detail)
                if ok:
                    problems = self.user_checks(time.time() + wait)
                    if not problems:
                        self.result.update(proven=True, action=action.name, ms_to_fresh=elapsed)
                        return self.result
                    failures.append('%s: %s' % (action.name, '; '.join(problems)))
                    continue
                failures.append('%s: not proven within %ss (%s)' % (action.name, wait, detail))
            self.result['proven'] = False
            raise InvalidationError('%s: fresh code NOT proven: %s' % (self.where(), ' | '.join(failures)))
        finally:
            if not self.check_mode:
                self.cleanup()


class InvalidationAction(object):
    """One way to invalidate a master. ``prepare`` gets the proof ready (the canary cached in the old
    version), ``act`` returns its step, ``verify`` polls until the restart happened and every pool
    serves the new canary. ``first``: the first action of the plan."""

    name = None

    def __init__(self, job, first=False):
        self.job = job
        self.first = first

    def prepare(self):
        self.job.prepare_canaries()

    def act(self):
        raise NotImplementedError

    def restarted(self):
        """(the cache restarted, what was seen, the counters after or None)."""
        raise NotImplementedError

    def verify(self, started, deadline):
        """Poll until the restart happened and every pool serves the new canary: (ok, detail, ms)."""
        last = 'nothing checked yet'
        while True:
            try:
                restarted, last, counters = self.restarted()
                if restarted:
                    fresh, detail = self.job.canaries_fresh()
                    last += '; ' + detail
                    if fresh:
                        self.job.result['after'] = counters
                        return True, last, _now_ms() - started
            except (InvalidationError, LiveError) as error:
                last = str(error)
            if time.time() >= deadline:
                return False, last, _now_ms() - started
            time.sleep(0.02)


class ResetAction(InvalidationAction):
    """``opcache_reset()`` through a pool (zero downtime). As the first action it is held: the reset
    request itself caches the canary and reports the counters before (see ``held_reset``)."""

    name = 'reset'

    def __init__(self, job, first=False):
        super(ResetAction, self).__init__(job, first)
        self.held_site = None

    def prepare(self):
        if self.first:
            self.held_site = self.job.channels[0].canary
        self.job.prepare_canaries(held=self.held_site)

    def act(self):
        job = self.job
        started = _now_ms()
        if self.held_site is not None:
            site, self.held_site = self.held_site, None  # tried once: what it left undone is prepared as for any other action
            step = self.held_reset(site, started)
            if step is not None:
                return step
            job.prepare_canaries()
        blocked = job.reset_blocked_by_preload()
        if blocked:
            return job.step('reset', False, blocked, started, skipped=True)
        job.purge_file_cache(started)
        if job.result['before'] is None:
            return job.step('reset', False, 'opcache.restrict_api bars opcache_reset() for the probe in %s' % job.channels[0].probe_dir, started)
        errors = []
        for channel in job.channels:
            try:
                data = channel.probe({'reset': True, 'scripts': False})
            except LiveError as error:
                errors.append('pool %s: %s' % (channel.name, error))
                continue
            if data.get('reset_result'):
                return self.scheduled(channel, data, started)
            errors.append(self.refused(channel, data))
        return job.step('reset', False, '; '.join(errors), started)

    def held_reset(self, site, started):
        """The whole reset in one request to the first pool: the probe caches the canary and streams
        the counters before; we purge the file cache and replace the canary while it waits; it reads
        the canary again (the old token where the cache holds it) and calls opcache_reset().
        Returns the step, or None when the pool never got as far as the canary (use the plain path)."""
        job = self.job
        channel = job.channels[0]
        seen = []

        def on_stdout(output):
            at = output.find(HOLD_MARKER)
            end = output.find(b'\n', at + 1) if at >= 0 else -1
            if seen or end < 0:
                return
            seen.append(True)
            try:
                pre = json.loads(output[at + len(HOLD_MARKER):end].decode('utf-8', 'replace'))
            except ValueError as error:
                raise InvalidationError('pool %s: unreadable answer while holding the reset: %s' % (channel.name, error))
            job.note_before(status_summary(pre.get('status')), channel, pre)
            blocked = job.reset_blocked_by_preload()
            if blocked:
                raise PreloadBlocksReset(blocked)  # ends the request: the canary is not replaced, so the probe does not reset
            if pre.get('cached') != CANARY_PREFIX + job.token_old:
                raise InvalidationError('pool %s did not serve the canary %s (got %r)'
                                        % (channel.name, site['script_filename'], (pre.get('cached') or '')[:80]))
            job.purge_file_cache(started)
            swap_canary(site, job.in_use)
            site['replaced'] = True

        stage_canary(site, job.token_new, job._written_at - 30, job.in_use)  # so that the waiting request waits for a rename only
        payload = {'reset': True, 'scripts': False,
                   'hold': {'canary': site['script_filename'], 'expect': CANARY_PREFIX + job.token_old, 'wait': channel.timeout}}
        try:
            data = channel.probe(payload, on_stdout, timeout=2 * channel.timeout)
        except PreloadBlocksReset as error:
            return job.step('reset', False, str(error), started, skipped=True)
        except (LiveError, InvalidationError) as error:
            if not seen:
                return None
            return job.step('reset', False, 'pool %s: %s' % (channel.name, error), started)
        held = data.get('hold') or {}
        if not held.get('replaced'):
            return job.step('reset', False, 'pool %s: the canary was not replaced while the request waited' % channel.name, started)
        stale = held.get('stale') == CANARY_PREFIX + job.token_old
        job.result.setdefault('canary_stale_before', {})[channel.name] = stale
        job.step('canary', True, 'canary cached in pool %s within the reset request; after changing it, %s' % (
            channel.name, 'it still served the old token' if stale else 'it served the new token (this pool revalidates files)'))
        if data.get('reset_result'):
            return self.scheduled(channel, data, started)
        return job.step('reset', False, self.refused(channel, data), started)

    def scheduled(self, channel, data, started):
        """The step of a reset that scheduled a restart; the time is noted for a later run to tell."""
        note_scheduled_reset(self.job.marker_dir(), self.job.master, channel.name, status_summary(data.get('status')))
        return self.job.step('reset', True, 'opcache_reset() scheduled a restart through pool %s' % channel.name, started)

    def refused(self, channel, data):
        """Why opcache_reset() did not schedule a restart; when one is already pending: since when,
        which request holds it, and what happens next."""
        summary = status_summary(data.get('status'))
        if not (summary and summary.get('restart_pending')):
            return _reset_refused(channel, data)
        job = self.job
        if job.pending_seen is None:
            job.pending_seen = time.time()
        force = ((data.get('ini') or {}).get('opcache.force_restart_timeout') or {}).get('local') or '180'
        then = 'strategy auto goes on to a reload now' if job.result.get('strategy') == 'auto' else (
            'strategy %s does not wait for it: run with strategy auto (or reload) to escalate' % job.result.get('strategy'))
        return ('pool %s: opcache_reset() returned False because an OPcache restart of %s is already pending, %s; %s; it completes when no '
                'worker of the master is inside a request that started before it (or after opcache.force_restart_timeout=%s s, when OPcache '
                'kills the holders); until then requests run uncached; %s'
                % (channel.name, job.where(), pending_since(job.marker_dir(), job.master, summary, job.pending_seen),
                   holders(job.channels, job.master), force, then))

    def restarted(self):
        before = self.job.result['before']
        summary, dummy_channel, dummy_data = self.job.status()
        counters = _counters(summary) if summary else {}
        restarted = bool(counters) and not counters['restart_pending'] and (
            (counters['manual_restarts'] or 0) > (before['manual_restarts'] or 0)
            or (counters['last_restart_time'] or 0) > (before['last_restart_time'] or 0))
        detail = 'restart_pending=%s manual_restarts %s -> %s' % (counters.get('restart_pending'), before['manual_restarts'], counters.get('manual_restarts'))
        return restarted, detail, counters


class ServiceAction(InvalidationAction):
    """A reload or restart of the master through the service manager (fpm_service.act, which tests
    the configuration first and refuses one the master could not load)."""

    def same_binary(self):
        return ()

    def act(self):
        job = self.job
        started = _now_ms()
        job.purge_file_cache(started)
        now = time.time()
        try:
            done = act(job.run_command, job.master.config, self.name, job.master.pid, self.same_binary(), binary=job.master.binary)
        except ServiceError as error:
            return job.step(self.name, False, str(error), started)
        job.service_acted_at = now
        return job.step(self.name, True, 'ran %s' % ' '.join(done['command']), started)

    def restarted(self):
        """A new master (pid or process start), or, for a master run with --nodaemonize (systemd), which
        re-executes in place on a reload, a new cache (its start time)."""
        job = self.job
        job.follow_master()
        restarted = job.master.pid != job.result['pid'] or (job.master.start_time or 0) > (job.result['master_start_time'] or 0)
        detail = 'master pid %s -> %s' % (job.result['pid'], job.master.pid)
        summary = job.status()[0]
        counters = _counters(summary) if summary else None
        before = (job.result.get('before') or {}).get('start_time')
        if not restarted and counters and before and (counters['start_time'] or 0) > before:
            restarted = True
            detail += ', cache start time %s -> %s' % (before, counters['start_time'])
        return restarted, detail, counters


class ReloadAction(ServiceAction):
    name = 'reload'


class RestartAction(ServiceAction):
    """A restart must not take other masters of the same binary down with it (see fpm_service.act)."""

    name = 'restart'

    def same_binary(self):
        return same_binary_masters(self.job.master, find_fpm_masters())


ACTIONS = {'reset': ResetAction, 'reload': ReloadAction, 'restart': RestartAction}


def in_parallel(calls):
    """Run ``[(key, function), ...]`` at once (each bounded by its own FastCGI timeouts) and return
    ``{key: result}``; the first exception raised by any call is raised again."""
    results = {}
    errors = []

    def run(key, function):
        try:
            results[key] = function()
        except Exception as error:  # pylint: disable=broad-except  # handed to the caller's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def preload_state(ini, summary, loaded_at, verify_paths=(), changed=changed_at):
    """What ``opcache_reset()`` cannot refresh on a master that preloads, from one probe answer:
    ``{script, scripts, loaded_at, refresh: [{file, reason, changed_at}]}``, None without
    ``opcache.preload``. ``ini``: the probe's ``ini``; ``summary``: status_summary (its
    ``preload_statistics``); ``loaded_at``: when the master preloaded (see
    MasterInvalidation.loaded_at). ``reason``: ``changed`` (on disk at or after ``loaded_at``, mtime
    or ctime), ``removed``, ``moved`` (``opcache.preload`` now resolves to a file that was not
    preloaded: a switched ``current`` symlink), ``verify_paths`` (under a path of O(verify_paths), its
    target or its releases directory: code the caller wants fresh)."""
    script = (ini.get('opcache.preload') or {}).get('local') or None
    if not script:
        return None
    stats = (summary or {}).get('preload_statistics') or {}
    scripts = [path for path in (stats.get('scripts') or []) if isinstance(path, str)]
    state = {'script': script, 'scripts': scripts, 'loaded_at': loaded_at, 'refresh': []}
    listed = set()

    def add(path, reason, when):
        if path not in listed:
            listed.add(path)
            state['refresh'].append({'file': path, 'reason': reason, 'changed_at': when})

    for path, when in changed_preloads(script, scripts, loaded_at, changed):
        add(path, 'changed' if when is not None else 'removed', when)
    resolved = os.path.realpath(script)
    if scripts and script not in scripts and resolved not in scripts:
        add(resolved, 'moved', changed(resolved))
    roots = set()
    for path in verify_paths or ():
        roots.update((path.rstrip('/') + '/', os.path.realpath(path).rstrip('/') + '/'))
    roots.update(root['releases_dir'].rstrip('/') + '/' for root in release_roots(verify_paths))
    for path in [script] + [path for path in scripts if path != script]:
        if path.startswith(tuple(sorted(roots))):
            add(path, 'verify_paths', changed(path))
    return state


def _when(epoch):
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(epoch)) if epoch else 'an unknown time'


def _describe_refresh(entries, shown=10):
    """``file (why)`` for the first ``shown`` entries of preload_state's ``refresh``, and how many more."""
    why = {'changed': lambda e: 'changed on disk at %s' % _when(e['changed_at']), 'removed': lambda e: 'removed from disk',
           'moved': lambda e: 'opcache.preload resolves to it now, it was not preloaded',
           'verify_paths': lambda e: 'under verify_paths'}
    text = ', '.join('%s (%s)' % (e['file'], why[e['reason']](e)) for e in entries[:shown])
    return text + (' and %d more' % (len(entries) - shown) if len(entries) > shown else '')


def _reset_refused(channel, data):
    """Why a probe's opcache_reset() did not schedule a restart, naming the pool."""
    error = ' (%s)' % data['reset_error'] if data.get('reset_error') else ''
    return 'pool %s: opcache_reset() returned %r%s' % (channel.name, data.get('reset_result'), error)


def _counters(summary):
    stats = summary.get('statistics') or {}
    return {'start_time': stats.get('start_time'), 'last_restart_time': stats.get('last_restart_time'),
            'manual_restarts': stats.get('manual_restarts'), 'restart_pending': summary.get('restart_pending'),
            'num_cached_scripts': stats.get('num_cached_scripts')}


def check_url(url, expected, deadline, timeout):
    """GET ``url`` until its body contains ``expected`` (or answers 2xx when nothing is expected)."""
    last = 'not requested'
    while True:
        try:
            response = open_url(url, timeout=timeout, validate_certs=False, follow_redirects='safe')
            body = response.read().decode('utf-8', 'replace')
            if expected is None or expected in body:
                return True, '%s shows %r' % (url, expected) if expected else '%s answered %d' % (url, response.getcode())
            last = '%s does not show %r yet (got %r)' % (url, expected, body[:80])
        except (OSError, ValueError) as error:  # HTTP and network errors are retried until the deadline
            last = '%s failed: %s' % (url, error)
        if time.time() >= deadline:
            return False, last
        time.sleep(0.2)
