#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Invalidation under load, in one run: the verified reset (MasterInvalidation, strategy reset)
against a raw opcache_reset() (one FastCGI request, no verification), a raw reload (SIGUSR2) and a
raw restart (SIGTERM + start) of a PRIVATE php-fpm8.2 master (pools a and b, pm static, 4 workers
each, validate_timestamps=0, process_control_timeout=0) behind a PRIVATE nginx on 127.0.0.1.

Per round: 16 closed-loop clients through nginx; version.php atomically replaced at t=1.5 s; the
action at t=2.0 s; the load goes on until 1.5 s after the action returned. Measured by the load
generator, independently of the module's claim: failed requests (connection errors, non-200,
wrong body) during the whole round, and ms from the action until every request started from then
on serves the new version. Rounds are interleaved (verified, raw reset, reload, restart) x N.
Prints one table of medians and the ratio verified reset / raw reset time to fresh (goal <= 1.5)
with the failed requests of both resets (goal 0). Prints; never asserts timings.
Run through bench/run (BENCH_RESET_ROUNDS, default 3)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get('BENCH_RESET_ROUNDS', '3'))
CLIENTS = 16
DEPLOY_AT = 1.5
ACTION_AT = 2.0
TAIL = 1.5
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _importable():
    """Make ansible_collections.phpops.opcache importable: bench/run's tree, else a symlink tree."""
    for root in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
        if root and os.path.isdir(os.path.join(root, 'ansible_collections', 'phpops', 'opcache')):
            sys.path.insert(0, root)
            return None
    tree = tempfile.mkdtemp(prefix='phpops-bench-tree-')
    os.makedirs(os.path.join(tree, 'ansible_collections', 'phpops'))
    os.symlink(REPO, os.path.join(tree, 'ansible_collections', 'phpops', 'opcache'))
    sys.path.insert(0, tree)
    return tree


_importable()

# pylint: disable=wrong-import-position
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import MasterInvalidation  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report  # noqa: E402
from ansible_collections.phpops.opcache.tests.oracle import loadgen  # noqa: E402


def run_command(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    return result.returncode, result.stdout.decode('utf-8', 'replace'), result.stderr.decode('utf-8', 'replace')


class TimedInvalidation(MasterInvalidation):
    """MasterInvalidation that notes when its action (the opcache_reset() request) starts."""

    acted_at = None

    def act(self, strategy):
        self.acted_at = time.monotonic()
        return super(TimedInvalidation, self).act(strategy)


class Bench(object):
    def __init__(self, lab):
        self.lab = lab
        self.report = build_report(HostFS('/'), run_command, explicit=[lab.installation()], sapis=['fpm'])
        self.version = 1

    def master(self):
        found = [m for m in find_fpm_masters() if m.config == self.lab.fpm_conf]
        if len(found) != 1:
            raise SystemExit('expected one master for %s, found %d' % (self.lab.fpm_conf, len(found)))
        return found[0]

    # -- the four actions: each returns extra facts for the round ---------------------------------
    def verified_reset(self, new):
        params = {'strategy': 'reset', 'pools': None, 'wait': 15.0, 'verify_paths': [], 'verify_url': self.lab.url('a'),
                  'verify_content': 'version=%s' % new, 'probe_dir': self.lab.probe_dir, 'timeout': 5.0}
        job = TimedInvalidation(HostFS('/'), self.master(), self.report, params, run_command)
        result = job.run('reset', params['wait'])
        if not result.get('proven'):
            raise SystemExit('the verified reset was not proven: %s' % result)
        return {'acted_at': job.acted_at, 'claimed_ms': result.get('ms_to_fresh')}

    def raw_reset(self, new):
        answer = self.lab.raw_reset()
        if answer != 'reset=true':
            raise SystemExit('raw opcache_reset() answered %r' % answer)
        return {}

    def reload(self, new):
        self.lab.reload()
        return {}

    def restart(self, new):
        self.lab.restart()
        return {}

    # -- one round ------------------------------------------------------------------------------
    def round(self, action):
        old, new = 'v%d' % self.version, 'v%d' % (self.version + 1)
        self.version += 1
        gen = loadgen.LoadGenerator(self.lab.urls(), clients=CLIENTS, duration=30.0, max_requests=30000, timeout=5.0, accept={old, new})
        with gen:
            time.sleep(DEPLOY_AT)
            deployed = gen.mark('deploy')
            self.lab.deploy(new)
            time.sleep(ACTION_AT - DEPLOY_AT)
            started = gen.mark('action')
            extra = action(new)
            returned = gen.mark('returned')
            time.sleep(TAIL)
        samples = gen.snapshot()
        stale = loadgen.completed_within(samples, deployed + 0.05, started)
        row = {
            'failed': len(loadgen.failures(samples)),
            'fresh_ms': loadgen.fresh_after(samples, started, new),
            'call_ms': (returned - started) * 1000.0,
            'stale_ok': bool(stale) and all(s.ok and s.version == old for s in stale),
            'requests': len(samples),
            'kinds': sorted(set('%s%s' % (s.error, ' %r' % s.detail[:40] if s.error == 'body' else '') for s in samples if not s.ok)),
        }
        if extra.get('acted_at'):
            row['fresh_from_act_ms'] = loadgen.fresh_after(samples, extra['acted_at'], new)
            row['claimed_ms'] = extra.get('claimed_ms')
            row['prepare_ms'] = (extra['acted_at'] - started) * 1000.0
            row['proof_ms'] = (returned - extra['acted_at']) * 1000.0
        return row


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ms(value):
    return 'never' if value is None else '%.0f' % value


def main():
    try:
        lab = loadgen.PhpLab(pools=('a', 'b'), workers=4, sleep_us=20000, process_control_timeout='0').start()
    except loadgen.LabError as error:
        sys.exit(str(error))
    try:
        bench = Bench(lab)
        actions = [('verified reset (MasterInvalidation)', bench.verified_reset), ('raw opcache_reset() over FastCGI', bench.raw_reset),
                   ('raw reload (SIGUSR2, pct=0)', bench.reload), ('raw restart (SIGTERM + start)', bench.restart)]
        rows = dict((name, []) for name, dummy in actions)
        for number in range(ROUNDS):
            for name, action in actions:
                try:
                    rows[name].append(bench.round(action))
                except Exception as error:
                    sys.exit('round %d, %s: %s: %s\n%s' % (number + 1, name, type(error).__name__, error, lab.diagnose()))
    finally:
        lab.close()

    print('OPcache invalidation under load (private php-fpm 8.2: 2 pools x 4 static workers, validate_timestamps=0, '
          'process_control_timeout=0; private nginx; %d closed-loop clients; app = require version.php + usleep(20 ms); '
          'deploy at t=%.1f s, action at t=%.1f s; %d rounds per action, interleaved; medians, [per round])'
          % (CLIENTS, DEPLOY_AT, ACTION_AT, ROUNDS))
    print('  %-36s %-20s %-24s %-22s %s' % ('action', 'failed requests', 'ms action -> fresh', 'ms action call', 'old code served until action'))
    for name, dummy in actions:
        runs = rows[name]
        failed = [r['failed'] for r in runs]
        fresh = [r['fresh_ms'] for r in runs]
        call = [r['call_ms'] for r in runs]
        print('  %-36s %-20s %-24s %-22s %s' % (
            name,
            '%g %s' % (_median(failed), failed),
            '%s [%s]' % (_ms(_median(fresh) if None not in fresh else None), ' '.join(_ms(v) for v in fresh)),
            '%s [%s]' % (_ms(_median(call)), ' '.join(_ms(v) for v in call)),
            'yes' if all(r['stale_ok'] for r in runs) else 'NO'))
    for name, dummy in actions:
        kinds = sorted(set(k for r in rows[name] for k in r['kinds']))
        if kinds:
            print('  failure kinds, %s: %s' % (name.partition(' (')[0], ', '.join(kinds)))
    verified = rows[actions[0][0]]
    raw = rows[actions[1][0]]
    v_fresh, r_fresh = _median([r['fresh_ms'] for r in verified]), _median([r['fresh_ms'] for r in raw])
    v_act = _median([r['fresh_from_act_ms'] for r in verified])
    print('  verified reset, measured from its opcache_reset() request instead of the call start: %s ms [%s]; module claim ms_to_fresh %s'
          % (_ms(v_act), ' '.join(_ms(r['fresh_from_act_ms']) for r in verified), [r['claimed_ms'] for r in verified]))
    print('  verified reset phases: canary preparation before opcache_reset() %s ms [%s]; proof returned %s ms after it [%s]'
          % (_ms(_median([r['prepare_ms'] for r in verified])), ' '.join(_ms(r['prepare_ms']) for r in verified),
             _ms(_median([r['proof_ms'] for r in verified])), ' '.join(_ms(r['proof_ms']) for r in verified)))
    if v_fresh is not None and r_fresh is not None:
        print('  ratio verified reset / raw reset time to fresh (each from its call start): %s (goal <= 1.5); difference %+.0f ms'
              % ('%.2f' % (v_fresh / r_fresh) if r_fresh else 'inf', v_fresh - r_fresh))
    if v_act is not None and r_fresh is not None:
        print('  same ratio with the verified reset timed from its own opcache_reset() request: %s; difference %+.0f ms'
              % ('%.2f' % (v_act / r_fresh) if r_fresh else 'inf', v_act - r_fresh))
    print('  failed requests: verified reset %d, raw reset %d in total over %d rounds (goal 0 for both)'
          % (sum(r['failed'] for r in verified), sum(r['failed'] for r in raw), ROUNDS))
    per_round = ['%s %d' % (name.partition(' (')[0], _median([r['requests'] for r in rows[name]])) for name, dummy in actions]
    print('  requests per round (median): %s' % ', '.join(per_round))


if __name__ == '__main__':
    main()
