#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time one live query of all PHP-FPM pools,
`ansible localhost -m phpops.opcache.opcache_info -a 'live=true sapis=fpm'`, against the hand-made
equivalent, a shell task that sends `opcache_get_status(false)` to every pool of the machine's FPM
with cgi-fcgi (libfcgi-bin): `SCRIPT_FILENAME=<php file> REQUEST_METHOD=GET cgi-fcgi -bind -connect
<socket>`. Both through Ansible, same run, alternating; prints medians and their ratio (goal <= 1.0).
Also times `opcache_info live=false` and `ansible.builtin.ping` in the same rounds, to split the
difference into the live query itself and what Ansible costs to ship and start a larger module.

Uses the machine's php-fpm READ-ONLY (requests only; never reloads or restarts it). The baseline's
php file lives in a temporary directory of its own (readable by the pool user) and is removed
afterwards. Run through bench/run, which installs the collection for Ansible (BENCH_ROUNDS, default 7).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get('BENCH_ROUNDS', '7'))
PYTHON = shutil.which('python3', path='/usr/bin') or 'python3'
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATUS_PHP = '<?php\necho json_encode(opcache_get_status(false)), "\\n";\n'


def _importable():
    for root in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
        if root and os.path.isdir(os.path.join(root, 'ansible_collections', 'phpops', 'opcache')):
            sys.path.insert(0, root)
            return
    sys.exit('run through bench/run (ANSIBLE_COLLECTIONS_PATH must hold ansible_collections/phpops/opcache)')


_importable()

# pylint: disable=wrong-import-position
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters  # noqa: E402
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS  # noqa: E402


def system_pools():
    """(config, [(pool, listen)]) of the machine's own FPM master (the /etc/php one)."""
    deadline = time.monotonic() + 30  # other tests may be restarting it right now: wait, never start it
    masters = []
    while not masters and time.monotonic() < deadline:
        masters = [m for m in find_fpm_masters() if m.config.startswith('/etc/')]
        if not masters:
            time.sleep(0.5)
    if not masters:
        sys.exit('the machine php-fpm is not running (bench/run starts it)')
    config = masters[0].config
    fpm = read_fpm_config(HostFS('/'), config)
    return config, [(p.name, p.get('listen')) for p in fpm.pools]


def ansible_cmd(module, args):
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    return [ansible, 'localhost', '-c', 'local', '-e', 'ansible_python_interpreter=' + PYTHON, '-m', module, '-a', args]


class RunFailed(Exception):
    pass


def timed(argv):
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_NOCOLOR='1')
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False, timeout=300)
    elapsed = time.perf_counter() - start
    out = result.stdout.decode('utf-8', 'replace')
    if result.returncode != 0:
        raise RunFailed('failed: %s\n%s%s' % (' '.join(argv), out[-2000:], result.stderr.decode()[-2000:]))
    return elapsed, out


def module_result(out):
    """The result dict of an ad-hoc module run ("localhost | SUCCESS => {...}"), else {}."""
    try:
        return json.loads(out[out.index('{'):])
    except ValueError:
        return {}


def ours_answered(data):
    """(masters, pools probed, pools answered) of one opcache_info live result."""
    masters = (data.get('live') or {}).get('masters') or []
    pools = [p for m in masters for p in m.get('pools') or []]
    return len(masters), len(pools), sum(1 for p in pools if p.get('ok'))


def main():
    config, pools = system_pools()
    work = tempfile.mkdtemp(prefix='phpops-cgifcgi-', dir='/tmp')
    try:
        os.chmod(work, 0o755)
        script = os.path.join(work, 'status.php')
        with open(script, 'w') as handle:
            handle.write(STATUS_PHP)
        os.chmod(script, 0o644)
        shell = ' && '.join('SCRIPT_FILENAME=%s REQUEST_METHOD=GET cgi-fcgi -bind -connect %s' % (shlex.quote(script), shlex.quote(listen))
                            for dummy, listen in pools)
        ours = ansible_cmd('phpops.opcache.opcache_info', 'live=true sapis=fpm')
        baseline = ansible_cmd('ansible.builtin.shell', shell)
        # where the difference comes from: the same module without the live query, and Ansible's floor
        ours_disk_only = ansible_cmd('phpops.opcache.opcache_info', 'live=false sapis=fpm')
        floor = ansible_cmd('ansible.builtin.ping', '')
        ours_times, base_times, disk_times, floor_times, seen, retried = [], [], [], [], set(), []
        while len(ours_times) < ROUNDS + 1:  # the first round only warms up
            try:
                ours_elapsed, out = timed(ours)
                base_elapsed, base = timed(baseline)
                disk_elapsed, dummy_out = timed(ours_disk_only)
                floor_elapsed, dummy_out = timed(floor)
            except RunFailed as error:
                # the machine's FPM is shared with tests that restart it: retry the pair, a few times
                retried.append(str(error).splitlines()[0])
                if len(retried) > 3:
                    sys.exit('too many failed runs:\n%s' % error)
                time.sleep(2)
                continue
            if base.count('"opcache_enabled"') != len(pools):
                sys.exit('the cgi-fcgi baseline did not return opcache_get_status() for every pool: %r' % base[:300])
            if ours_answered(module_result(out))[2] == 0:
                sys.exit('opcache_info answered no live pool: %s' % out[:300])
            if ours_times:  # not for the warm-up pair
                seen.add(ours_answered(module_result(out)))
            ours_times.append(ours_elapsed)
            base_times.append(base_elapsed)
            disk_times.append(disk_elapsed)
            floor_times.append(floor_elapsed)
        ours_times, base_times, disk_times, floor_times = ours_times[1:], base_times[1:], disk_times[1:], floor_times[1:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours_median = statistics.median(ours_times)
    base_median = statistics.median(base_times)
    print('live query of all PHP-FPM pools: opcache_info live=true vs shell cgi-fcgi (%d rounds, alternating, medians)' % ROUNDS)
    print('  machine FPM %s, pools %s' % (config, ', '.join('%s (%s)' % p for p in pools)))
    print('  %-58s %8.3f s  [%s]' % ('phpops.opcache.opcache_info live=true sapis=fpm', ours_median, ' '.join('%.2f' % t for t in ours_times)))
    print('  %-58s %8.3f s  [%s]' % ('ansible.builtin.shell cgi-fcgi opcache_get_status(false)', base_median, ' '.join('%.2f' % t for t in base_times)))
    print('  opcache_info probed (masters, pools, pools answered): %s; the baseline asks %d pool(s) of one master'
          % (', '.join(str(s) for s in sorted(seen)), len(pools)))
    if retried:
        print('  pairs retried because a run failed (the machine FPM was being restarted by someone else): %d' % len(retried))
    print('  ratio %.2f (goal <= 1.0)' % (ours_median / base_median))
    disk_median, floor_median = statistics.median(disk_times), statistics.median(floor_times)
    print('  where the difference comes from (medians of the same rounds):')
    print('    %-56s %8.3f s' % ('ansible.builtin.ping (what any module costs)', floor_median))
    print('    %-56s %+8.3f s' % ('the live query itself: opcache_info live=true - live=false', ours_median - disk_median))
    print('    %-56s %+8.3f s' % ('the cgi-fcgi request itself: shell cgi-fcgi - ping', base_median - floor_median))
    print('    %-56s %+8.3f s' % ('opcache_info without live - ping (module size, on-disk report)', disk_median - floor_median))


if __name__ == '__main__':
    main()
