#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the live audit grows on one host: the work of `opcache_info live=true` (the on-disk report,
build_report, then the live view, live_report) for one PRIVATE php-fpm master with 1, 10 and 50
pools (20 ini files), and with 20, 200 and 1000 ini files in its scan directory (1 pool). Prints
the median of BENCH_ROUNDS (default 5) per point, split into disk, live and exit (what
AnsibleModule.exit_json adds for the live part of the result: remove_values and the JSON, both
growing with the result, which holds every directive of every pool), and the ratio of each point
to the first of its series (goal: 50 pools <= 2x one pool, for the whole task on the node).

Runs the module's own code in this process (module_utils on the collection path, as the module
calls them), with an explicit installation (php_ini, scan_dirs, fpm_conf of the private master) and
only the private master probed, so the machine's php-fpm, /etc/php and other engineers' masters
neither count nor are touched. Python start-up and Ansible's shipping are left out: they do not
grow with pools or files (bench/per_task.py measures them). `php-fpm -t` is not run (run_command
None). The private php-fpm (tests/oracle/private_fpm.py) is a copy of the binary in a temporary
directory, stopped and removed at the end. Run through bench/run.
"""

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
PYTHON = shutil.which('python3', path='/usr/bin') or 'python3'
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POOLS = (1, 10, 50)
INI_FILES = (20, 200, 1000)


def _importable():
    """The collections root (ANSIBLE_COLLECTIONS_PATH), made importable with tests/oracle."""
    for root in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
        if root and os.path.isdir(os.path.join(root, 'ansible_collections', 'phpops', 'opcache')):
            sys.path.insert(0, root)
            sys.path.insert(0, os.path.join(REPO, 'tests', 'oracle'))
            return root
    sys.exit('run through bench/run (ANSIBLE_COLLECTIONS_PATH must hold ansible_collections/phpops/opcache)')


COLLECTIONS = _importable()

# pylint: disable=wrong-import-position
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import MAX_CONCURRENT_PROBES  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.live.report import live_report  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report  # noqa: E402
from private_fpm import PHP_VERSION, PrivateFpm, opcache_ini, unprivileged_user  # noqa: E402


def conf_d(files):
    """``files`` ini files: 10-opcache.ini loads OPcache, the others set a directive each (as a real
    conf.d does: one extension or tweak a file)."""
    texts = {'10-opcache.ini': opcache_ini((('opcache.enable', 1), ('opcache.validate_timestamps', 1)))}
    for index in range(1, files):
        texts['%02d-bench-%04d.ini' % (20 + index % 80, index)] = '; bench file %d\nopcache.revalidate_freq=%d\n' % (index, index % 7)
    return texts


def module_run(explicit):
    """Seconds of one run of the whole module on this node, live=false (python start-up, imports, the
    on-disk report): the fixed part a real task adds to the live view measured in-process."""
    import ansible  # the controller's ansible-core: the module_utils a task ships

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COLLECTIONS, os.path.dirname(os.path.dirname(ansible.__file__))]))
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': {'installations': explicit, 'live': 'false'}}, handle)
    try:
        code = ('import sys; sys.argv = ["m", %r]; from ansible_collections.phpops.opcache.plugins.modules import opcache_info; '
                'opcache_info.main()' % handle.name)
        started = time.perf_counter()
        done = subprocess.run([PYTHON, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False)
        elapsed = time.perf_counter() - started
    finally:
        os.unlink(handle.name)
    if done.returncode != 0 or b'"failed": true' in done.stdout:
        sys.exit('opcache_info live=false failed: %s%s' % (done.stdout.decode()[-2000:], done.stderr.decode()[-2000:]))
    return elapsed


def exit_cost(report):
    """Seconds of what AnsibleModule.exit_json does with the module's result: remove_values (no_log)
    over all of it, then the JSON. It grows with the result, which has every directive of every pool."""
    from ansible.module_utils.common.parameters import remove_values
    from ansible.module_utils.common.text.converters import jsonify

    started = time.perf_counter()
    jsonify(remove_values(report.as_dict(), set()))
    return time.perf_counter() - started


def measure(pools, files):
    """(disk, live, module, exit) seconds, medians over ROUNDS, for one private master with ``pools`` pools and
    ``files`` ini files; exits when a pool did not answer."""
    user, gid = unprivileged_user()
    group = None if gid is None else user
    fpm = PrivateFpm(prefix='phpops-bench-scale-', php_ini='; private php.ini\n', conf_d=conf_d(files))
    try:
        for index in range(pools):
            fpm.add_pool('pool%02d' % index, os.path.join(fpm.dir, 'pool%02d.sock' % index), user=user, group=group)
        fpm.start(timeout=60)
        # right after the start, a worker just forked still carries the master's title ("php-fpm:
        # master process (conf)") until it renames itself: wait until one master remains
        masters = []
        deadline = time.monotonic() + 30
        while len(masters) != 1 and time.monotonic() < deadline:
            masters = [m for m in find_fpm_masters() if m.config == fpm.conf]
            time.sleep(0 if len(masters) == 1 else 0.2)
        if len(masters) != 1:
            sys.exit('the private php-fpm master (%s): %d processes with its title in /proc' % (fpm.conf, len(masters)))
        fs = HostFS('/')
        explicit = [{'php_ini': fpm.ini, 'scan_dirs': [fpm.scan_dir], 'sapi': 'fpm', 'fpm_conf': fpm.conf, 'version': PHP_VERSION, 'binary': None}]
        disk, live, module, exits, answered = [], [], [], [], set()
        for dummy in range(ROUNDS + 1):  # the first round only warms up
            started = time.perf_counter()
            report = build_report(fs, None, explicit)
            built = time.perf_counter()
            result = live_report(fs, report, masters=masters, probe_dir=os.path.join(fpm.dir, 'probe'))
            done = time.perf_counter()
            disk.append(built - started)
            live.append(done - built)
            module.append(module_run(explicit))
            without_live = exit_cost(report)
            report.add_findings([f.as_dict() for f in result.findings])  # as info_module does
            report.live = result
            exits.append(exit_cost(report) - without_live)
            answered.add(sum(1 for m in result.masters for p in m.pools if p.ok))
        if answered != {pools}:
            sys.exit('%d pool(s), %d ini files: the live view answered %s pool(s): %s'
                     % (pools, files, sorted(answered), [p.error for m in result.masters for p in m.pools if not p.ok][:5]))
        return statistics.median(disk[1:]), statistics.median(live[1:]), statistics.median(module[1:]), statistics.median(exits[1:])
    finally:
        fpm.cleanup()


def series(title, points):
    """Print each point; return [(whole, live)] per point (whole: module + live + exit)."""
    print(title)
    first = first_module = None
    rows = []
    for label, pools, files in points:
        disk, live, module, exit_extra = measure(pools, files)
        total, whole = disk + live, module + live + exit_extra
        first, first_module = first or total, first_module or whole
        rows.append((whole, live))
        print('  %-11s disk %6.3f s  live %6.3f s (%4.1f ms a pool)  exit +%5.3f s  work x%5.2f  |  module %6.3f s x%.2f'
              % (label, disk, live, live * 1000 / pools, exit_extra, total / first, whole, whole / first_module))
    return rows


def main():
    print('live audit on one host, private php-fpm %s, medians of %d rounds; work = build_report (disk) + live_report (live) in-process;'
          % (PHP_VERSION, ROUNDS))
    print('exit = what exit_json (remove_values and JSON) adds for the live part of the result; module = a whole opcache_info live=false '
          'run on this node (python, imports, disk, its exit_json) + live + exit: what an opcache_info live=true task costs on the node')
    rows = series('pools (20 ini files):', [('%d pool(s)' % n, n, 20) for n in POOLS])
    series('ini files in the scan directory (1 pool):', [('%d files' % n, 1, n) for n in INI_FILES])
    (one, one_live), (fifty, fifty_live) = rows[0], rows[-1]
    print('  ratio 50 pools / 1 pool: module %.2f, live view alone %.2f; the pools of a master are asked at once (live.probe.probe_pools, '
          'at most %d at a time)' % (fifty / one, fifty_live / one_live, MAX_CONCURRENT_PROBES))
    print('  goal: 50 pools <= 2x 1 pool (module): %s' % ('met' if fifty / one <= 2.0 else 'NOT met'))


if __name__ == '__main__':
    main()
