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

Then where the time goes, on this node: the module run directly (no Ansible transport) with
``python3 -X importtime`` (our module_utils' import time, the live view's included or not) and the
PHP commands a run starts (``php -n -v``, ``php-fpm -t``). Run through bench/run, which installs the
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


def node_costs(collections):
    """The modules run directly on this node: wall time, and the import time of our module_utils
    (the sum of their own import times, ``python3 -X importtime``)."""
    rows = []
    env = dict(os.environ, PYTHONPATH=collections + os.pathsep + _ansible_site())
    for label, module, args in PLAYS:
        if module == 'ansible.builtin.ping':
            code = 'from ansible.modules import ping; ping.main()'
        else:
            code = 'from ansible_collections.phpops.opcache.plugins.modules import opcache_info; opcache_info.main()'
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
        walls, ours = [], []
        for dummy in range(5):
            started = time.perf_counter()
            done = subprocess.run([PYTHON, '-X', 'importtime', '-c', 'import sys; sys.argv = ["m", %r]; %s' % (handle.name, code)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
            walls.append(time.perf_counter() - started)
            ours.append(sum(int(line.split('|')[0].split(':')[1]) for line in done.stderr.decode().splitlines()
                            if line.startswith('import time:') and 'phpops.opcache.plugins.module_utils' in line) / 1e6)
        os.unlink(handle.name)
        rows.append((label, statistics.median(walls), statistics.median(ours)))
    return rows


def _ansible_site():
    import ansible  # the controller's ansible-core: the same module_utils a task ships

    return os.path.dirname(os.path.dirname(ansible.__file__))


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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('per task, %d identical tasks per play in one ansible-playbook run, %d runs (median task time, ratio to ping of the same run)'
          % (TASKS, ROUNDS))
    ok = True
    task_seconds = {}
    for label, dummy_module, dummy_args in PLAYS:
        seconds = task_seconds[label] = statistics.median(r[label] for r in rounds)
        ratio = statistics.median(r[label] / r['ping'] for r in rounds)
        goal = GOALS.get(label)
        verdict = '' if goal is None else ' (goal <= %.2f: %s)' % (goal, 'met' if ratio <= goal else 'NOT met')
        ok = ok and (goal is None or ratio <= goal)
        print('  %-26s %7.3f s  ratio %.2f%s' % (label, seconds, ratio, verdict))
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep)[0]
    if collections:
        print('where the time goes: on the node (the module run directly: python, imports from .pyc, the work), and the rest of a task '
              '(Ansible: AnsiballZ payload, transport, its own module_utils compiled from the zip, the result back to the controller)')
        for label, wall, ours in node_costs(collections):
            print('  %-26s node %6.3f s (importing phpops module_utils %.3f s)  rest of the task %6.3f s'
                  % (label, wall, ours, task_seconds[label] - wall))
    for binary, argv in (('php', ['-n', '-v']), ('php-fpm8.2', ['-t'])):
        path = shutil.which(binary, path='/usr/bin:/usr/sbin')
        if path:
            print('  %-26s %7.3f s' % (' '.join([binary] + argv), command_cost([path] + argv)))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
