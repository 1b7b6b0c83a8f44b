#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one task costs, against ansible.builtin.ping in the same run.

One ``ansible-playbook`` run on localhost (connection local) of three plays of 10 identical tasks
each: ``ansible.builtin.ping``, ``phpops.opcache.opcache_info`` and ``phpops.opcache.opcache_info
live=true``. A small callback times every task (task start to result). Per play the median task
time; the ratios against ping of the same run; BENCH_ROUNDS runs (default 5), median of the ratios.
Goals: opcache_info <= 1.2, opcache_info live=true <= 1.25.

Then where the time goes, on this node: each module as Ansible runs it (its AnsiballZ payload,
kept with ANSIBLE_KEEP_REMOTE_FILES, run directly: Python, Ansible's module_utils and ours imported
from the zip, the work), and the same with every source compiled once. zipimport compiles a source
twice when it imports it (``get_filename`` compiles it to find the file name, then ``get_code``
again: python/cpython#141276), and AnsiballZ ships no .pyc, so each task compiles every module it
imports twice; the difference is that second compile. The rest of a task (task time minus the
payload's run) is Ansible's: transport, the controller's handling of the result. And the PHP
commands a run starts (``php -n -v``, ``php-fpm -t``). Run through bench/run, which installs the
collection for Ansible and starts the machine's php-fpm."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '5'))
TASKS = 10
PYTHON = shutil.which('python3', path='/usr/bin') or 'python3'
GOALS = {'opcache_info': 1.2, 'opcache_info live=true': 1.25}
PLAYS = [('ping', 'ansible.builtin.ping', {}),
         ('opcache_info', 'phpops.opcache.opcache_info', {}),
         ('opcache_info live=true', 'phpops.opcache.opcache_info', {'live': 'true'})]

CALLBACK = '''
from __future__ import annotations
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'phpops_task_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.times = []
        self.started = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started = (task.get_name(), time.perf_counter())

    def v2_runner_on_ok(self, result):
        name, started = self.started
        self.times.append([name, time.perf_counter() - started])

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['PHPOPS_TASK_TIMES'], 'w') as handle:
            json.dump(self.times, handle)
'''


def playbook():
    plays = []
    for label, module, args in PLAYS:
        plays.append({'name': label, 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
                      'vars': {'ansible_python_interpreter': PYTHON},
                      'tasks': [{'name': '%s %d' % (label, n), module: args} for n in range(TASKS)]})
    return plays


def run_once(work):
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               ANSIBLE_CALLBACK_PLUGINS=work, ANSIBLE_CALLBACKS_ENABLED='phpops_task_timer',
               PHPOPS_TASK_TIMES=os.path.join(work, 'times.json'))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', os.path.join(work, 'play.yml')]
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    if result.returncode != 0:
        sys.exit('failed: %s\n%s%s' % (' '.join(argv), result.stdout.decode()[-3000:], result.stderr.decode()[-2000:]))
    with open(env['PHPOPS_TASK_TIMES']) as handle:
        times = json.load(handle)
    per_play = {}
    for name, seconds in times:
        per_play.setdefault(name.rsplit(' ', 1)[0], []).append(seconds)
    return dict((label, statistics.median(values)) for label, values in per_play.items())


# Runs an AnsiballZ payload in this interpreter; with "once", every source from the zip is compiled
# once (the code object is reused when zipimport compiles the same source again).
RUN_PAYLOAD = '''
import builtins, sys
payload, mode = sys.argv[1], sys.argv[2]
sys.argv = [payload]
compile_source = builtins.compile
compiled = {}

def compile_once(source, filename, *args, **kwargs):
    if '.zip/' not in str(filename) or not isinstance(source, (str, bytes)):
        return compile_source(source, filename, *args, **kwargs)
    key = (str(filename), source)
    if key not in compiled:
        compiled[key] = compile_source(source, filename, *args, **kwargs)
    return compiled[key]

if mode == 'once':
    builtins.compile = compile_once
with open(payload) as handle:
    code = compile_source(handle.read(), payload, 'exec')
try:
    exec(code, {'__name__': '__main__'})
except SystemExit:
    pass
'''


def kept_payloads(work):
    """One task of each play with ANSIBLE_KEEP_REMOTE_FILES: {label: AnsiballZ file}."""
    remote = os.path.join(work, 'remote')
    plays = playbook()
    for play in plays:
        play['tasks'] = play['tasks'][:1]
    path = os.path.join(work, 'one.yml')
    with open(path, 'w') as handle:
        json.dump(plays, handle)
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=remote)
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', path]
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    # one ansible-tmp-* directory per task, in the order of the plays
    tasks = sorted((os.path.join(remote, name) for name in os.listdir(remote)), key=os.path.getmtime)
    payloads = {}
    for (label, dummy_module, dummy_args), directory in zip(PLAYS, tasks):
        payloads[label] = [os.path.join(directory, name) for name in os.listdir(directory) if name.startswith('AnsiballZ_')][0]
    return payloads


def payload_seconds(payload):
    """Median wall time of the payload as Ansible runs it, and with every source compiled once
    (7 runs each, alternating)."""
    walls = {'twice': [], 'once': []}
    for dummy in range(7):
        for mode in walls:
            started = time.perf_counter()
            subprocess.run([PYTHON, '-c', RUN_PAYLOAD, payload, mode], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            walls[mode].append(time.perf_counter() - started)
    return statistics.median(walls['twice']), statistics.median(walls['once'])


def command_cost(argv):
    walls = []
    for dummy in range(5):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def main():
    work = tempfile.mkdtemp(prefix='phpops-per-task-')
    try:
        with open(os.path.join(work, 'phpops_task_timer.py'), 'w') as handle:
            handle.write(CALLBACK)
        with open(os.path.join(work, 'play.yml'), 'w') as handle:
            json.dump(playbook(), handle)  # JSON is YAML
        run_once(work)  # warm caches
        rounds = [run_once(work) for dummy in range(ROUNDS)]
        payloads = kept_payloads(work)
        report(rounds, payloads)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(statistics.median(r[label] / r['ping'] for r in rounds) <= goal for label, goal in GOALS.items()) else 1


def report(rounds, payloads):
    print('per task, %d identical tasks per play in one ansible-playbook run, %d runs (median task time, ratio to ping of the same run)'
          % (TASKS, ROUNDS))
    task_seconds = {}
    for label, dummy_module, dummy_args in PLAYS:
        seconds = task_seconds[label] = statistics.median(r[label] for r in rounds)
        ratio = statistics.median(r[label] / r['ping'] for r in rounds)
        goal = GOALS.get(label)
        verdict = '' if goal is None else ' (goal <= %.2f: %s)' % (goal, 'met' if ratio <= goal else 'NOT met')
        print('  %-26s %7.3f s  ratio %.2f%s' % (label, seconds, ratio, verdict))
    print('where the time goes: on the node (the module\'s AnsiballZ payload run directly: Python, Ansible\'s module_utils and '
          'ours imported from the zip, the work; medians of 7), the second compile of every imported source (zipimport, '
          'python/cpython#141276), and the rest of a task (Ansible: transport, the result back to the controller)')
    for label, dummy_module, dummy_args in PLAYS:
        node, once = payload_seconds(payloads[label])
        print('  %-26s node %6.3f s (compiled once: %6.3f s, the second compile %6.3f s)  rest of the task %6.3f s'
              % (label, node, once, node - once, task_seconds[label] - node))
    for binary, argv in (('php', ['-n', '-v']), ('php-fpm8.2', ['-t'])):
        path = shutil.which(binary, path='/usr/bin:/usr/sbin')
        if path:
            print('  %-26s %7.3f s' % (' '.join([binary] + argv), command_cost([path] + argv)))


if __name__ == '__main__':
    sys.exit(main())
