#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection on a fleet: the lab's hosts (tests/lab/lab, over SSH from its switch namespace),
the same inventory and forks (ANSIBLE_FORKS, default 10) for both sides of each ratio:

  audit  `ansible-playbook playbooks/audit.yml -e opcache_audit_report_dir=<tmp>` (live auto: every
         host's running PHP-FPM is asked) vs `ansible all -m ping`             (goal <= 1.5)
  facts  a play with gather_facts: true and
         ANSIBLE_FACTS_MODULES=ansible.builtin.setup,phpops.opcache.opcache_facts vs the same play
         with ansible.builtin.setup alone, both with ansible_facts_parallel=false (the modules one
         after the other, as Ansible runs a single one)                        (goal <= 1.3)

Median of BENCH_ROUNDS (default 3) runs each, interleaved, after one warm-up round (SSH
connections, the controller's caches). Prints the medians, every run and the ratios.

    bench/fleet.py INVENTORY       (bench/run fleet starts the lab, writes the inventory, tears it down)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '3'))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, 'tests', 'lab', 'lab')
BIN = os.path.dirname(sys.executable)
PLAY = '- name: Gather facts\n  hosts: all\n  gather_facts: true\n  tasks: []\n'
SETUP = 'ansible.builtin.setup'
FACTS = 'ansible.builtin.setup,phpops.opcache.opcache_facts'


def timed(argv, **env):
    environment = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_DEPRECATION_WARNINGS='False',
                       ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_FORKS=os.environ.get('ANSIBLE_FORKS', '10'), **env)
    start = time.perf_counter()
    result = subprocess.run([LAB, 'run'] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment, check=False, timeout=900)
    elapsed = time.perf_counter() - start
    out = result.stdout.decode('utf-8', 'replace')
    if result.returncode != 0:
        sys.exit('failed (exit %d): %s\n%s' % (result.returncode, ' '.join(argv), out[-3000:]))
    return elapsed, out


def hosts_ok(out):
    """How many hosts the PLAY RECAP / ad-hoc output says were reached without failure."""
    recap = [line for line in out.splitlines() if ' : ok=' in line]
    if recap:
        return sum(1 for line in recap if 'failed=0' in line and 'unreachable=0' in line)
    return out.count('| SUCCESS')


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: bench/fleet.py INVENTORY')
    inventory = sys.argv[1]
    with open(inventory) as handle:
        count = sum(1 for line in handle if line.startswith('host'))
    work = tempfile.mkdtemp(prefix='phpops-bench-fleet-')
    try:
        play = os.path.join(work, 'facts.yml')
        with open(play, 'w') as handle:
            handle.write(PLAY)
        runs = {
            'audit': [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, os.path.join(REPO, 'playbooks', 'audit.yml'),
                      '-e', 'opcache_audit_report_dir=%s' % os.path.join(work, 'report'), '-e', 'opcache_audit_fail_on=none'],
            'ping': [os.path.join(BIN, 'ansible'), 'all', '-i', inventory, '-m', 'ansible.builtin.ping'],
            # serial: the cost of each module adds up (Ansible's default with two facts modules is to
            # run them in parallel as async jobs; on the lab hosts those ended in "Timeout exceeded")
            'facts': [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, play, '-e', 'ansible_facts_parallel=false'],
        }
        order = (('audit', 'audit', {}), ('ping', 'ping', {}),
                 ('setup+opcache_facts', 'facts', {'ANSIBLE_FACTS_MODULES': FACTS}), ('setup', 'facts', {'ANSIBLE_FACTS_MODULES': SETUP}))
        times = dict((label, []) for label, dummy_r, dummy_e in order)
        for round_no in range(ROUNDS + 1):  # round 0 only warms up
            for label, run, env in order:
                elapsed, out = timed(runs[run], **env)
                if hosts_ok(out) != count:
                    sys.exit('%s: %d of %d hosts ok\n%s' % (label, hosts_ok(out), count, out[-3000:]))
                if label == 'setup+opcache_facts' and round_no == 0:
                    # the play prints no facts: check once that both modules ran and what they return
                    dummy_t, facts = timed([os.path.join(BIN, 'ansible'), 'host1', '-i', inventory, '-m', 'ansible.builtin.gather_facts',
                                            '-e', 'ansible_facts_parallel=false'], ANSIBLE_FACTS_MODULES=FACTS)
                    if '"opcache"' not in facts or '"ansible_hostname"' not in facts:
                        sys.exit('gather_facts with %s returned no opcache or no setup facts:\n%s' % (FACTS, facts[-3000:]))
                if round_no:
                    times[label].append(elapsed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = dict((label, statistics.median(values)) for label, values in times.items())
    print('the collection on a fleet: %d lab hosts over SSH, forks %s, medians of %d interleaved runs (after a warm-up round)'
          % (count, os.environ.get('ANSIBLE_FORKS', '10'), ROUNDS))
    for label, dummy_r, dummy_e in order:
        print('  %-66s %8.2f s  [%s]' % ({'audit': 'ansible-playbook playbooks/audit.yml (live auto)', 'ping': 'ansible all -m ansible.builtin.ping',
                                          'setup+opcache_facts': 'gather_facts: ' + FACTS, 'setup': 'gather_facts: ' + SETUP}[label],
                                         median[label], ' '.join('%.2f' % t for t in times[label])))
    print('  audit / ping        %.2f (goal <= 1.5)' % (median['audit'] / median['ping']))
    print('  facts / setup alone %.2f (goal <= 1.3)' % (median['setup+opcache_facts'] / median['setup']))


if __name__ == '__main__':
    main()
