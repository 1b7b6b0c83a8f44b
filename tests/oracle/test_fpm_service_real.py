# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: a restart through Debian's init script must not take other masters down with it.

Debian's (and Ubuntu's) ``/etc/init.d/phpX.Y-fpm stop`` ends with ``start-stop-daemon --stop
--exec /usr/sbin/php-fpmX.Y``: it kills EVERY process of that binary, so ``service phpX.Y-fpm
restart`` would also stop a second master that runs the same binary with its own configuration.
Here a second master runs the machine's own binary (not a private copy), and the verified
invalidation is asked to restart the machine's php-fpm: it must refuse, name the other master, and
leave both masters running. Needs the machine's php-fpm started by its init script (scripts/test
starts it) and no systemd (there, systemctl stops by cgroup and the guard does not apply).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live.report import live_report
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import init_script_of, service_command, service_name_for
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import InvalidationError, MasterInvalidation
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import FPM_BINARY, PrivateFpm


def _run_command(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=120)
    return result.returncode, result.stdout.decode('utf-8', 'replace'), result.stderr.decode('utf-8', 'replace')


def _machine_master():
    found = [m for m in find_fpm_masters() if m.config.startswith('/etc/') and m.binary == FPM_BINARY]
    assert len(found) == 1, 'the machine php-fpm (%s) must run once (scripts/test starts it): %r' % (FPM_BINARY, found)
    return found[0]


@pytest.fixture
def second_master(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    fpm = PrivateFpm(directory=str(tmp_path / 'fpm'), private_copy=False)
    fpm.add_pool('other', str(tmp_path / 'fpm' / 'other.sock'), user='www-data', group='www-data')
    fpm.start()
    try:
        yield fpm
    finally:
        fpm.stop()


def test_restart_is_refused_when_the_init_script_would_stop_another_master(second_master):
    machine = _machine_master()
    argv = service_command(service_name_for(machine.config), 'restart')
    assert init_script_of(argv), 'this test needs a SysV init script, not %s' % ' '.join(argv)
    other = [m for m in find_fpm_masters() if m.config == second_master.conf]
    assert len(other) == 1 and other[0].binary == machine.binary, 'the second master runs the same binary'

    report = build_report(HostFS('/'), _run_command, sapis=['fpm'])
    params = {'strategy': 'restart', 'wait': 5.0, 'timeout': 5.0}
    job = MasterInvalidation(HostFS('/'), machine, report, params, _run_command)
    with pytest.raises(InvalidationError) as caught:
        job.run('restart', params['wait'])
    message = str(caught.value)
    assert 'not restarting' in message and second_master.conf in message and 'start-stop-daemon --exec' in message, message

    # both masters still run, unchanged: nothing was restarted
    assert _machine_master().pid == machine.pid
    assert [m.pid for m in find_fpm_masters() if m.config == second_master.conf] == [other[0].pid]


def test_the_live_view_warns_that_a_restart_would_stop_the_other_master(second_master):
    machine = _machine_master()
    report = build_report(HostFS('/'), _run_command, sapis=['fpm'])
    live = live_report(HostFS('/'), report, probe_dir=None, timeout=5.0).as_dict()
    hits = [f for f in live['findings'] if f['code'] == 'LIVE_RESTART_STOPS_OTHER_MASTERS']
    assert len(hits) >= 1, [f['code'] for f in live['findings']]
    about_machine = [f for f in hits if machine.config in f['message'].split(' is not contained')[0]]
    assert len(about_machine) == 1, hits
    assert second_master.conf in about_machine[0]['message'] and second_master.conf in about_machine[0]['evidence']
    assert about_machine[0]['installation'] == 'debian:' + machine.config.rsplit('/fpm/', 1)[0]
