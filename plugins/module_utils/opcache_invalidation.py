# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Invalidate OPcache on every PHP-FPM master and PROVE that PHP now serves the new code.

Per master:

1. Before: the cache counters (start_time, last_restart_time, manual_restarts, restart_pending),
   and a canary: a small PHP file written with token A, requested in every pool so that it is
   cached, then rewritten with token B (both backdated past opcache.file_update_protection).
   For a reset all of this rides in the reset request itself (``_held_reset``): under load every
   request waits for a free worker, and fresh code should not wait for the proof's preparation.
2. Act: ``opcache_reset()`` in a pool over FastCGI, or reload/restart through the service manager.
   With ``opcache.file_cache`` the cache's own entries are purged first: the file cache survives
   all three actions and would bring the old bytecode back.
3. Verify, within a bounded wait: the restart really happened (reset: ``restart_pending`` false and
   ``manual_restarts`` risen; reload/restart: a new master start time), then every pool must serve
   token B. Optional: no stale cached script under ``verify_paths``; ``verify_url`` through the
   real web server shows ``verify_content``.
4. With strategy ``auto``, escalate reset -> reload -> restart until the proof holds, else fail with
   the evidence.

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
from ansible_collections.phpops.opcache.plugins.module_utils.live.stale import stale_scripts
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import ServiceError, act

STRATEGIES = ('auto', 'reset', 'reload', 'restart')
ESCALATION = ('reset', 'reload', 'restart')
CANARY_PREFIX = 'phpops-canary:'


class InvalidationError(Exception):
    """A master could not be invalidated with proof; the message says which and why."""


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
    """Invalidate one master with proof, escalating as the strategy allows."""

    def __init__(self, fs, master, report, params, run_command, check_mode=False):
        self.fs = fs
        self.master = master
        self.params = params
        self.run_command = run_command
        self.check_mode = check_mode
        inst, self.fpm_sapi = report.fpm_sapi_for(master.config) or (None, None)
        self.installation = inst.id if inst else None
        fpm = read_fpm_config(fs, master.config)
        wanted = params.get('pools')
        self.in_use = set()
        self.channels = [PoolChannel(spec, params.get('probe_dir') or DEFAULT_PROBE_DIR, float(params.get('timeout') or 5.0), self.in_use)
                         for spec in pool_specs(fpm, self.fpm_sapi.chain.values() if self.fpm_sapi else None) if not wanted or spec.name in wanted]
        self.process_control_timeout = fpm.get('process_control_timeout', '0')
        self.steps = []
        self.result = {'pid': master.pid, 'config': master.config, 'installation': self.installation,
                       'pools': [c.name for c in self.channels], 'steps': self.steps, 'warnings': [],
                       'master_start_time': master.start_time}
        self._canary_sites = {}
        self._held_site = None  # the canary site that the reset request itself caches and checks

    # -- helpers --------------------------------------------------------------------------------
    def _where(self):
        return 'master %d (%s)' % (self.master.pid, self.master.config)

    def _step(self, name, ok, detail, started=None, **extra):
        entry = dict(step=name, ok=ok, detail=detail, **extra)
        if started is not None:
            entry['ms'] = _now_ms() - started
        self.steps.append(entry)
        return entry

    def _status(self):
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
        raise InvalidationError('%s: no pool answered: %s' % (self._where(), '; '.join(errors)))

    # -- phases ---------------------------------------------------------------------------------
    def before(self, first_action):
        """Counters and canary before acting. For a reset, the acting pool's canary is cached inside
        the reset request itself (see _held_reset): under load every extra request waits for a free
        worker, and fresh code should not wait for the proof's preparation."""
        if self.check_mode:
            self._note_before(*self._status())
            return
        self.token_old = secrets.token_hex(8)
        self.token_new = secrets.token_hex(8)
        self._written_at = time.time()
        for pool in self.channels:
            pool.place_canary(self._canary_sites, self.token_old, self._written_at - 60)
        if first_action == 'reset':
            self._held_site = self.channels[0].canary
        self._prepare()

    def _prepare(self):
        """Cache the canary of every site not prepared yet (all but the held reset's) in every pool of
        it, replace it on disk, and note which pools still serve the old token."""
        sites = [site for site in self._canary_sites.values() if not site.get('replaced') and site is not self._held_site]
        readers = [c for c in self.channels if any(c.canary is site for site in sites)]
        calls = [(c.name, c.read_canary) for c in readers]
        if 'before' not in self.result and self._held_site is None:
            calls.insert(0, ('status', self._status))
        if not calls:
            return
        answers = in_parallel(calls)
        if 'status' in answers:
            self._note_before(*answers['status'])
        for site in sites:
            write_canary(site, self.token_new, self._written_at - 30, self.in_use)
            site['replaced'] = True
        served = in_parallel([(c.name, c.read_canary) for c in readers])
        stale = dict((name, token == self.token_old) for name, token in served.items())
        self.result.setdefault('canary_stale_before', {}).update(stale)
        self._step('canary', True, 'canary cached in pools %s; after changing it, %s still served the old token'
                   % (', '.join(sorted(stale)), ', '.join(sorted(n for n, old in stale.items() if old)) or 'no pool'))

    def _note_before(self, summary, channel, data):
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

    def _purge_file_cache(self, started):
        try:
            purged = purge(self.result['file_cache'])
        except FileCacheError as error:
            raise InvalidationError('%s: %s' % (self._where(), error))
        self._step('purge_file_cache', True, 'removed %d file cache entries from %s' % (purged['removed'], purged['dir']), started, purged=purged)

    def _held_reset(self, started):
        """The whole reset in one request to the first pool: the probe caches the canary and streams
        the counters before; we purge the file cache and replace the canary while it waits; it reads
        the canary again (the old token where the cache holds it) and calls opcache_reset().
        Returns the step, or None when the pool never got as far as the canary (use the plain path)."""
        channel, site = self.channels[0], self._held_site
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
            self._note_before(status_summary(pre.get('status')), channel, pre)
            if pre.get('cached') != CANARY_PREFIX + self.token_old:
                raise InvalidationError('pool %s did not serve the canary %s (got %r)'
                                        % (channel.name, site['script_filename'], (pre.get('cached') or '')[:80]))
            if self.result.get('file_cache'):
                self._purge_file_cache(started)
            swap_canary(site, self.in_use)
            site['replaced'] = True

        stage_canary(site, self.token_new, self._written_at - 30, self.in_use)  # so that the waiting request waits for a rename only
        payload = {'reset': True, 'scripts': False,
                   'hold': {'canary': site['script_filename'], 'expect': CANARY_PREFIX + self.token_old, 'wait': channel.timeout}}
        try:
            data = channel.probe(payload, on_stdout, timeout=2 * channel.timeout)
        except (LiveError, InvalidationError) as error:
            if not seen:
                return None
            return self._step('reset', False, 'pool %s: %s' % (channel.name, error), started)
        held = data.get('hold') or {}
        if not held.get('replaced'):
            return self._step('reset', False, 'pool %s: the canary was not replaced while the request waited' % channel.name, started)
        stale = held.get('stale') == CANARY_PREFIX + self.token_old
        self.result.setdefault('canary_stale_before', {})[channel.name] = stale
        self._step('canary', True, 'canary cached in pool %s within the reset request; after changing it, %s' % (
            channel.name, 'it still served the old token' if stale else 'it served the new token (this pool revalidates files)'))
        if data.get('reset_result'):
            return self._step('reset', True, 'opcache_reset() scheduled a restart through pool %s' % channel.name, started)
        return self._step('reset', False, _reset_refused(channel, data), started)

    def act(self, strategy):
        started = _now_ms()
        if strategy == 'reset' and self._held_site is not None:
            step = self._held_reset(started)
            self._held_site = None  # tried once: what it left undone is prepared as for any other action
            if step is not None:
                return step
        self._prepare()
        if self.result.get('file_cache'):
            self._purge_file_cache(started)
        if strategy == 'reset':
            if self.result['before'] is None:
                return self._step('reset', False, 'opcache.restrict_api bars opcache_reset() for the probe in %s' % self.channels[0].probe_dir, started)
            errors = []
            for channel in self.channels:
                try:
                    data = channel.probe({'reset': True, 'scripts': False})
                except LiveError as error:
                    errors.append('pool %s: %s' % (channel.name, error))
                    continue
                if data.get('reset_result'):
                    return self._step('reset', True, 'opcache_reset() scheduled a restart through pool %s' % channel.name, started)
                errors.append(_reset_refused(channel, data))
            return self._step('reset', False, '; '.join(errors), started)
        # a restart must not take other masters of the same binary down with it (see fpm_service.act)
        same_binary = same_binary_masters(self.master, find_fpm_masters()) if strategy == 'restart' else ()
        try:
            done = act(self.run_command, self.master.config, strategy, self.master.pid, same_binary)
        except ServiceError as error:
            return self._step(strategy, False, str(error), started)
        return self._step(strategy, True, 'ran %s' % ' '.join(done['command']), started)

    def verify(self, strategy, started, deadline):
        """Poll until the restart happened and every pool serves the new canary: (ok, detail, ms)."""
        before = self.result['before']
        last = 'nothing checked yet'
        while True:
            try:
                if strategy == 'reset':
                    summary, dummy_channel, dummy_data = self._status()
                    counters = _counters(summary) if summary else {}
                    restarted = bool(counters) and not counters['restart_pending'] and (
                        (counters['manual_restarts'] or 0) > (before['manual_restarts'] or 0)
                        or (counters['last_restart_time'] or 0) > (before['last_restart_time'] or 0))
                    last = 'restart_pending=%s manual_restarts %s -> %s' % (
                        counters.get('restart_pending'), before['manual_restarts'], counters.get('manual_restarts'))
                else:
                    self._follow_master()
                    restarted = self.master.pid != self.result['pid'] or (self.master.start_time or 0) > (self.result['master_start_time'] or 0)
                    last = 'master pid %s -> %s' % (self.result['pid'], self.master.pid)
                    summary, dummy_channel, dummy_data = self._status() if restarted else (None, None, None)
                    counters = _counters(summary) if summary else None
                if restarted:
                    served = in_parallel([(c.name, c.read_canary) for c in self.channels])
                    last += '; canary per pool: %s' % ', '.join('%s=%s' % (n, 'new' if t == self.token_new else 'OLD') for n, t in sorted(served.items()))
                    if all(token == self.token_new for token in served.values()):
                        self.result['after'] = counters
                        return True, last, _now_ms() - started
            except (InvalidationError, LiveError) as error:
                last = str(error)
            if time.time() >= deadline:
                return False, last, _now_ms() - started
            time.sleep(0.02)

    def _follow_master(self):
        """A daemonised FPM re-executes on reload and gets a new pid: find it by its config."""
        for master in find_fpm_masters():
            if master.config == self.master.config:
                self.master = master
                return
        raise InvalidationError('no php-fpm master runs %s (yet)' % self.master.config)

    def user_checks(self, deadline):
        problems = []
        paths = self.params.get('verify_paths') or []
        if paths:
            channel = self.channels[0]
            data = channel.probe({'scripts': True, 'paths': [p.rstrip('/') + '/' for p in paths], 'limit': 20000})
            status = data.get('status') or {}
            stats = status.get('opcache_statistics') or {}
            cache_time = max(stats.get('start_time') or 0, stats.get('last_restart_time') or 0)
            stale = stale_scripts(((data.get('scripts') or {}).get('list') or []), cache_time, channel.spec.chroot)
            self._step('verify_paths', stale['count'] == 0, '%d stale cached scripts under %s' % (stale['count'], ', '.join(paths)),
                       examples=stale['examples'])
            if stale['count']:
                problems.append('%d cached scripts under %s are older than their files' % (stale['count'], ', '.join(paths)))
        url = self.params.get('verify_url')
        if url:
            ok, detail = check_url(url, self.params.get('verify_content'), deadline, float(self.params.get('timeout') or 5.0))
            self._step('verify_url', ok, detail)
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
    def run(self, strategy, wait):
        if not self.channels:
            among = ' among %s' % self.params['pools'] if self.params.get('pools') else ''
            raise InvalidationError('%s has no pool to work through%s' % (self._where(), among))
        plan = list(ESCALATION) if strategy == 'auto' else [strategy]
        self.result['strategy'] = strategy
        try:
            self.before(plan[0])
            if self.check_mode:
                self.result['would'] = plan[0] + (' (escalating to %s if not proven)' % ', '.join(plan[1:]) if plan[1:] else '')
                if self.result.get('file_cache'):
                    self.result['would'] += ', purging the file cache %s first' % self.result['file_cache']
                return self.result
            failures = []
            for action in plan:
                started = _now_ms()
                step = self.act(action)
                if not step['ok']:
                    failures.append('%s: %s' % (action, step['detail']))
                    continue
                ok, detail, elapsed = self.verify(action, started, time.time() + wait)
                self._step('verify_' + action, ok, detail)
                if ok:
                    problems = self.user_checks(time.time() + wait)
                    if not problems:
                        self.result.update(proven=True, action=action, ms_to_fresh=elapsed)
                        return self.result
                    failures.append('%s: %s' % (action, '; '.join(problems)))
                    continue
                failures.append('%s: not proven within %ss (%s)' % (action, wait, detail))
            self.result['proven'] = False
            raise InvalidationError('%s: fresh code NOT proven: %s' % (self._where(), ' | '.join(failures)))
        finally:
            if not self.check_mode:
                self.cleanup()


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
