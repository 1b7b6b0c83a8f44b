# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service names per family, and which service manager acts on them."""

from __future__ import annotations

import os

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import (
    ServiceError,
    act,
    check_fpm_config,
    service_command,
    restart_collateral,
    service_name_for,
    stops_by_executable,
)
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import Master


def host(tmp_path, executables, dirs=()):
    for path in executables:
        local = tmp_path / path.lstrip('/')
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text('#!/bin/sh\n')
        os.chmod(str(local), 0o755)
    for path in dirs:
        (tmp_path / path.lstrip('/')).mkdir(parents=True, exist_ok=True)
    return str(tmp_path)


def test_systemd_when_pid1_is_systemd(tmp_path):
    root = host(tmp_path, ['/usr/bin/systemctl', '/usr/sbin/service'], ['/run/systemd/system'])
    assert service_command('php8.2-fpm', 'reload', root) == ['/usr/bin/systemctl', 'reload', 'php8.2-fpm']


def test_sysv_service_wrapper_without_systemd(tmp_path):
    root = host(tmp_path, ['/usr/bin/systemctl', '/usr/sbin/service'])
    assert service_command('php8.2-fpm', 'restart', root) == ['/usr/sbin/service', 'php8.2-fpm', 'restart']


def test_init_script_then_openrc(tmp_path):
    assert service_command('php-fpm83', 'reload', host(tmp_path / 'a', ['/etc/init.d/php-fpm83'])) == ['/etc/init.d/php-fpm83', 'reload']
    assert service_command('php-fpm83', 'reload', host(tmp_path / 'b', ['/sbin/rc-service'])) == ['/sbin/rc-service', 'php-fpm83', 'reload']


def test_no_service_manager_is_a_clear_error(tmp_path):
    with pytest.raises(ServiceError, match='no service manager found to reload php8.2-fpm'):
        service_command('php8.2-fpm', 'reload', str(tmp_path))


@pytest.mark.parametrize('config, service', [
    ('/etc/php/8.2/fpm/php-fpm.conf', 'php8.2-fpm'),
    ('/etc/opt/remi/php83/php-fpm.conf', 'php83-php-fpm'),
    ('/etc/php83/php-fpm.conf', 'php-fpm83'),
    ('/etc/php-fpm.conf', 'php-fpm'),
    ('/etc/php/php-fpm.conf', 'php-fpm'),
    ('/etc/php-legacy/php-fpm.conf', 'php-legacy-fpm'),
    ('/tmp/test/fpm.conf', None),
])
def test_service_name_for(config, service):
    assert service_name_for(config) == service


def test_unknown_service_cannot_restart():
    with pytest.raises(ServiceError, match='no init service is known'):
        act(lambda argv: (0, '', ''), '/tmp/test/fpm.conf', 'restart', master_pid=None)


DEBIAN_STOP = '''do_stop()
{
\tstart-stop-daemon --stop --quiet --retry=QUIT/$TIMEOUT/TERM/5/KILL/5 --pidfile $PIDFILE --name $NAME
\tRETVAL="$?"
\tstart-stop-daemon --stop --quiet --oknodo --retry=0/30/TERM/5/KILL/5 --exec $DAEMON
}
'''
PIDFILE_ONLY = '''do_stop()
{
\tstart-stop-daemon --stop --quiet --pidfile $PIDFILE --exec $DAEMON
\t# start-stop-daemon --stop --exec $DAEMON   (commented out: not run)
}
'''
OTHER = Master(4321, 1, 'php-fpm: master process (/srv/other/php-fpm.conf)', '/srv/other/php-fpm.conf', '/usr/sbin/php-fpm8.2', False, None, 0, None, {})


def sysv_host(tmp_path, script_text):
    root = host(tmp_path, ['/usr/sbin/service'])
    script = tmp_path / 'etc/init.d/php8.2-fpm'
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(script_text)
    os.chmod(str(script), 0o755)
    return root


def test_stops_by_executable_reads_the_stop_lines():
    assert stops_by_executable(DEBIAN_STOP)
    assert not stops_by_executable(PIDFILE_ONLY)
    assert not stops_by_executable('')


def test_restart_refused_when_the_init_script_would_stop_another_master(tmp_path):
    ran = []
    root = sysv_host(tmp_path, DEBIAN_STOP)
    with pytest.raises(ServiceError) as caught:
        act(lambda argv: ran.append(argv) or (0, '', ''), '/etc/php/8.2/fpm/php-fpm.conf', 'restart', 1000, [OTHER], root=root)
    message = str(caught.value)
    assert 'not restarting' in message and '4321 (/srv/other/php-fpm.conf)' in message and '/usr/sbin/php-fpm8.2' in message
    assert ran == [], 'nothing was run'


@pytest.mark.parametrize('action, script_text, others', [
    ('reload', DEBIAN_STOP, [OTHER]),       # Debian's reload signals the pid file's process only
    ('restart', PIDFILE_ONLY, [OTHER]),     # this script stops by pid file
    ('restart', DEBIAN_STOP, []),           # no other master of the binary
])
def test_restart_or_reload_goes_ahead_when_no_other_master_is_hit(tmp_path, action, script_text, others):
    ran = []
    root = sysv_host(tmp_path, script_text)
    done = act(lambda argv: ran.append(argv) or (0, '', ''), '/etc/php/8.2/fpm/php-fpm.conf', action, 1000, others, root=root,
               binary='/usr/sbin/php-fpm8.2')
    assert ran == [['/usr/sbin/php-fpm8.2', '-t', '-y', '/etc/php/8.2/fpm/php-fpm.conf'], ['/usr/sbin/service', 'php8.2-fpm', action]]
    assert done['method'] == 'service'


FPM_LOG_ERRORS = ("[02-Dec-2026 13:58:47] ERROR: [/etc/php/8.2/fpm/pool.d/www.conf:6] unable to parse value for entry 'pm': invalid process "
                  "manager (static, dynamic or ondemand)\n[02-Dec-2026 13:58:47] ERROR: Unable to include /etc/php/8.2/fpm/pool.d/www.conf "
                  "from /etc/php/8.2/fpm/php-fpm.conf at line 6\n[02-Dec-2026 13:58:47] ERROR: FPM initialization failed\n")


def test_a_configuration_that_fails_the_test_is_not_reloaded(tmp_path):
    """PHP-FPM writes the reason to the configuration's error_log once it has read it: the refusal
    quotes those lines (only the ones this test run added), and the service is never called."""
    conf = tmp_path / 'php-fpm.conf'
    log = tmp_path / 'fpm.log'
    conf.write_text('[global]\nerror_log = %s\ninclude = %s/pool.d/*.conf\n[www]\nerror_log = /elsewhere.log\n' % (log, tmp_path))
    log.write_text('[01-Dec-2026 10:00:00] ERROR: an old error that is not this test\n')
    ran = []

    def run(argv):
        ran.append(argv)
        if '-t' in argv:
            with open(str(log), 'a') as handle:
                handle.write(FPM_LOG_ERRORS)
            return 78, '', ''
        return 0, '', ''

    with pytest.raises(ServiceError) as caught:
        act(run, str(conf), 'reload', 1000, root=sysv_host(tmp_path / 'host', PIDFILE_ONLY), binary='/usr/sbin/php-fpm8.2')
    message = str(caught.value)
    assert ran == [['/usr/sbin/php-fpm8.2', '-t', '-y', str(conf)]], 'only the test ran'
    assert ("invalid process manager (static, dynamic or ondemand); Unable to include /etc/php/8.2/fpm/pool.d/www.conf" in message
            and '[/etc/php/8.2/fpm/pool.d/www.conf:6]' in message), message
    assert 'an old error' not in message and 'the running master is left alone' in message and '/usr/sbin/php-fpm8.2 -t -y %s fails: ' % conf in message
    assert message.startswith('not reloading php-fpm master 1000 (%s)' % conf), message


def test_a_restart_through_the_service_is_refused_with_the_test_output(tmp_path):
    ran = []

    def run(argv):
        ran.append(argv)
        return (78, '', FPM_LOG_ERRORS) if '-t' in argv else (0, '', '')

    with pytest.raises(ServiceError, match=r"^not restarting php-fpm master 1000 \(/etc/php/8.2/fpm/php-fpm.conf\).*invalid process manager"):
        act(run, '/etc/php/8.2/fpm/php-fpm.conf', 'restart', 1000, root=sysv_host(tmp_path, PIDFILE_ONLY), binary='/usr/sbin/php-fpm8.2')
    assert ran == [['/usr/sbin/php-fpm8.2', '-t', '-y', '/etc/php/8.2/fpm/php-fpm.conf']]


def test_check_fpm_config_reads_stderr_and_says_success():
    ok, message = check_fpm_config(lambda argv: (78, '', FPM_LOG_ERRORS), '/usr/sbin/php-fpm8.2', '/nonexistent/php-fpm.conf')
    assert not ok and message == ("[/etc/php/8.2/fpm/pool.d/www.conf:6] unable to parse value for entry 'pm': invalid process manager "
                                  "(static, dynamic or ondemand); Unable to include /etc/php/8.2/fpm/pool.d/www.conf from "
                                  "/etc/php/8.2/fpm/php-fpm.conf at line 6; FPM initialization failed"), message
    ok, message = check_fpm_config(lambda argv: (0, '', '[x] NOTICE: configuration file /c test is successful\n'), '/usr/sbin/php-fpm8.2', '/c')
    assert ok and 'successful' in message
    ok, message = check_fpm_config(lambda argv: (78, '', ''), '/usr/sbin/php-fpm8.2', '/nonexistent/php-fpm.conf')
    assert not ok and message == 'exited 78 without a message', message


def test_an_unknown_binary_is_refused_without_running_anything(tmp_path):
    ran = []
    with pytest.raises(ServiceError, match='binary of the master running /etc/php/8.2/fpm/php-fpm.conf is unknown'):
        act(lambda argv: ran.append(argv) or (0, '', ''), '/etc/php/8.2/fpm/php-fpm.conf', 'reload', 1000,
            root=sysv_host(tmp_path, PIDFILE_ONLY), binary=None)
    assert ran == []


def test_restart_collateral_names_the_command_script_and_masters(tmp_path):
    root = sysv_host(tmp_path, DEBIAN_STOP)
    hit = restart_collateral('/etc/php/8.2/fpm/php-fpm.conf', [OTHER], root)
    assert hit == {'command': ['/usr/sbin/service', 'php8.2-fpm', 'restart'], 'script': '/etc/init.d/php8.2-fpm', 'masters': [OTHER]}
    assert restart_collateral('/etc/php/8.2/fpm/php-fpm.conf', [], root) is None
    assert restart_collateral('/srv/custom/php-fpm.conf', [OTHER], root) is None, 'no known service'
    systemd = host(tmp_path / 'systemd', ['/usr/bin/systemctl'], ['/run/systemd/system'])
    assert restart_collateral('/etc/php/8.2/fpm/php-fpm.conf', [OTHER], systemd) is None, 'systemd stops by cgroup'
