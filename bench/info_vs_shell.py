#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time `ansible localhost -m phpops.opcache.opcache_info` against the seed incident's own check,
`ansible localhost -m ansible.builtin.shell -a 'php-fpm8.2 -i | grep opcache'`, alternating, in one
run. Prints the medians and their ratio (goal: <= 1.1, while returning attribution the baseline
cannot). Run through bench/run, which installs the collection for Ansible."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '7'))
PYTHON = shutil.which('python3', path='/usr/bin') or 'python3'


def fpm_binary():
    for name in ('php-fpm8.2', 'php-fpm8.3', 'php-fpm8.4', 'php-fpm'):
        path = shutil.which(name, path='/usr/sbin:/usr/bin:/usr/local/sbin')
        if path:
            return path
    sys.exit('no php-fpm binary found')


def ansible_cmd(module, args):
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    return [ansible, 'localhost', '-c', 'local', '-e', 'ansible_python_interpreter=' + PYTHON, '-m', module, '-a', args]


def timed(argv):
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit('failed: %s\n%s%s' % (' '.join(argv), result.stdout.decode()[-2000:], result.stderr.decode()[-2000:]))
    return elapsed


def main():
    ours = ansible_cmd('phpops.opcache.opcache_info', '')
    baseline = ansible_cmd('ansible.builtin.shell', '%s -i | grep opcache' % fpm_binary())
    timed(ours)
    timed(baseline)  # warm both
    ours_times, base_times = [], []
    for dummy in range(ROUNDS):
        ours_times.append(timed(ours))
        base_times.append(timed(baseline))
    ours_median = statistics.median(ours_times)
    base_median = statistics.median(base_times)
    print('opcache_info vs shell "php-fpm -i | grep opcache" (%d rounds, medians)' % ROUNDS)
    print('  %-44s %8.3f s' % ('phpops.opcache.opcache_info (all SAPIs)', ours_median))
    print('  %-44s %8.3f s' % ('ansible.builtin.shell php-fpm -i | grep', base_median))
    print('  ratio %.2f (goal <= 1.10)' % (ours_median / base_median))


if __name__ == '__main__':
    main()
