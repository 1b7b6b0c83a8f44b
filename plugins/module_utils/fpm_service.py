# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reload or restart a PHP-FPM master through the host's service manager.

systemd when PID 1 is systemd, else the SysV ``service`` wrapper or ``/etc/init.d`` script, else
OpenRC's ``rc-service``. The service name follows from the master's configuration path, per
distribution family. As a last resort a reload is SIGUSR2 to the master (what the distributions'
units do); a restart needs the service manager.

Before any reload or restart the configuration the master will load is tested with that master's own
binary (``<binary> -t -y <conf>``): a master re-executed with a configuration it cannot load does not
come back (``pm = bogus`` in a pool file takes the whole site down), so a failing test refuses the
action with PHP-FPM's own message and leaves the running master alone.
"""

from __future__ import annotations

import os
import re
import signal

SERVICE_ACTIONS = ('reload', 'restart')
# php-fpm's log prefix, "[02-Dec-2026 16:03:19] " (microseconds when configured): the same message
# printed a second later must read the same
_LOG_TIME_RE = re.compile(r'^\[\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?\]\s*')
_LOG_ERROR_RE = re.compile(r'^(?:ERROR|ALERT): (.*)$')
_ERROR_LOG_RE = re.compile(r'^[ \t]*error_log[ \t]*=[ \t]*(.*?)[ \t]*$')
_SECTION_RE = re.compile(r'^[ \t]*\[([^\]]*)\]')


class ServiceError(Exception):
    """The service could not be acted on; the message says which and why."""


def service_name_for(config_path):
    """The init service that runs the FPM master using ``config_path``, or None."""
    if not config_path:
        return None
    match = re.match(r'^/etc/php/(\d+\.\d+)/fpm/', config_path)
    if match:
        return 'php%s-fpm' % match.group(1)
    match = re.match(r'^/etc/opt/remi/(php\d+)/', config_path)
    if match:
        return '%s-php-fpm' % match.group(1)
    match = re.match(r'^/etc/php(\d+)/', config_path)
    if match:
        return 'php-fpm%s' % match.group(1)
    if config_path.startswith('/etc/php-legacy/'):
        return 'php-legacy-fpm'
    if config_path in ('/etc/php-fpm.conf', '/etc/php/php-fpm.conf'):
        return 'php-fpm'
    return None


def _which(name, root='/', paths=('/usr/sbin', '/usr/bin', '/sbin', '/bin')):
    """The target path of an executable ``name`` (looked up under ``root``), or None."""
    for directory in paths:
        candidate = os.path.join(directory, name)
        if os.access(os.path.join(root, candidate.lstrip('/')), os.X_OK):
            return candidate
    return None


def service_command(service, action, root='/'):
    """The argv that performs ``action`` on ``service`` with this host's service manager:
    systemctl when PID 1 is systemd, else the SysV ``service`` wrapper, the init script itself, or
    OpenRC's rc-service. ``root`` only serves tests (a fake host tree)."""
    if action not in SERVICE_ACTIONS:
        raise ServiceError('unknown service action %s' % action)
    systemctl = _which('systemctl', root)
    if os.path.isdir(os.path.join(root, 'run/systemd/system')) and systemctl:
        return [systemctl, action, service]
    wrapper = _which('service', root)
    if wrapper:
        return [wrapper, service, action]
    script = '/etc/init.d/' + service
    if os.access(os.path.join(root, script.lstrip('/')), os.X_OK):
        return [script, action]
    rc_service = _which('rc-service', root)
    if rc_service:
        return [rc_service, service, action]
    raise ServiceError('no service manager found to %s %s (no systemctl, service, /etc/init.d script or rc-service)' % (action, service))


def init_script_of(argv):
    """The init script a SysV service command runs (``service NAME ...`` or the script itself), else None."""
    if len(argv) >= 3 and os.path.basename(argv[0]) == 'service':
        return '/etc/init.d/' + argv[1]
    if argv and argv[0].startswith('/etc/init.d/'):
        return argv[0]
    return None


def stops_by_executable(script_text):
    """True when an init script's stop also kills by executable: ``start-stop-daemon --stop ...
    --exec $DAEMON`` without ``--pidfile`` (Debian's and Ubuntu's php*-fpm scripts do this after
    the pid-file stop). That stops EVERY process of the binary, including other masters."""
    for line in script_text.splitlines():
        line = line.split('#', 1)[0]
        if 'start-stop-daemon' in line and '--stop' in line and '--exec' in line and '--pidfile' not in line:
            return True
    return False


def restart_collateral(config_path, same_binary, root='/'):
    """What a restart of the service for ``config_path`` would stop besides its own master:
    ``{'command', 'script', 'masters'}`` when the init script stops by executable and other masters
    (``same_binary``: the other running masters of this binary) exist; None otherwise."""
    service = service_name_for(config_path)
    if not service or not same_binary:
        return None
    try:
        argv = service_command(service, 'restart', root)
    except ServiceError:
        return None
    script = init_script_of(argv)
    if not script:
        return None
    try:
        with open(os.path.join(root, script.lstrip('/'))) as handle:
            text = handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None
    if not stops_by_executable(text):
        return None
    return {'command': argv, 'script': script, 'masters': list(same_binary)}


def describe_collateral(collateral):
    """One sentence: which command stops which other masters, and why."""
    return '%s also stops master %s: the stop in %s kills every process of %s (start-stop-daemon --exec)' % (
        ' '.join(collateral['command']), ', '.join('%d (%s)' % (m.pid, m.config) for m in collateral['masters']),
        collateral['script'], collateral['masters'][0].binary)


def _error_log_of(conf_path):
    """The absolute ``error_log`` file of ``conf_path``'s [global] section, else None (not set, syslog,
    relative to an unknown prefix, or unreadable configuration)."""
    try:
        with open(conf_path, 'rb') as handle:
            lines = handle.read().decode('utf-8', 'replace').splitlines()
    except (IOError, OSError):
        return None
    section, found = 'global', None
    for line in lines:
        header = _SECTION_RE.match(line)
        if header:
            section = header.group(1).strip()
            continue
        match = _ERROR_LOG_RE.match(line)
        if match and section == 'global':
            found = match.group(1).strip('"\'')
    return found if found and found.startswith('/') else None


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _new_log_text(path, offset):
    """What was appended to ``path`` after ``offset`` (all of it when the file was replaced or shrank)."""
    try:
        with open(path, 'rb') as handle:
            if _size(path) >= offset:
                handle.seek(offset)
            return handle.read(65536).decode('utf-8', 'replace')
    except (IOError, OSError):
        return ''


def without_log_time(line):
    """``line`` without php-fpm's leading timestamp (unchanged when it has none)."""
    return _LOG_TIME_RE.sub('', line)


def _fpm_errors(text):
    """PHP-FPM's ERROR/ALERT lines without their timestamps, in order."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        rest = without_log_time(line)
        match = _LOG_ERROR_RE.match(rest) if rest != line else None
        if match:
            found.append(match.group(1).strip())
    return found


def check_fpm_config(run_command, binary, conf_path):
    """Test the configuration a master would load on reload or restart: ``<binary> -t -y <conf_path>``.

    Returns ``(ok, message)``: PHP-FPM's own words (its ERROR lines, from stderr or, where PHP-FPM
    writes them once it knows it, from the configuration's ``error_log``), or the success notice."""
    if not binary:
        return False, 'the php-fpm binary of the master running %s is unknown (run as root), so its configuration cannot be tested' % conf_path
    log = _error_log_of(conf_path)
    offset = _size(log) if log else 0
    argv = [binary, '-t', '-y', conf_path]
    try:
        rc, out, err = run_command(argv)
    except (IOError, OSError) as error:
        return False, '%s failed to run: %s' % (' '.join(argv), error)
    said = (err or '') + '\n' + (out or '')
    if rc == 0:
        return True, 'configuration file %s test is successful' % conf_path
    errors = _fpm_errors(said) or (_fpm_errors(_new_log_text(log, offset)) if log else [])
    if errors:
        return False, '; '.join(errors)
    if said.strip():
        return False, said.strip().splitlines()[-1]
    return False, 'exited %d without a message%s' % (rc, ' (see %s)' % log if log else '')


def act(run_command, config_path, action, master_pid=None, same_binary=(), root='/', binary=None):
    """Reload or restart the master using ``config_path``. Returns a dict saying what was done.

    ``binary``: the master's php-fpm executable. The configuration is tested with it first
    (check_fpm_config); when the test fails, nothing is done and ServiceError carries PHP-FPM's message.
    ``same_binary``: the other running masters of this master's binary. A restart through an init
    script that stops by executable would stop them too, so it is refused with the reason."""
    service = service_name_for(config_path)
    if service:
        argv = service_command(service, action, root)
        collateral = restart_collateral(config_path, same_binary, root) if action == 'restart' else None
        if collateral:
            raise ServiceError('not restarting: %s; restart this master yourself when that is acceptable, or run the other master '
                               'from a binary or service of its own' % describe_collateral(collateral))
    elif action == 'reload' and master_pid:
        argv = ['kill', '-USR2', str(master_pid)]
    else:
        raise ServiceError('no init service is known for the FPM master using %s; cannot %s it' % (config_path, action))
    ok, message = check_fpm_config(run_command, binary, config_path)
    if not ok and binary:
        message = '%s -t -y %s fails: %s' % (binary, config_path, message)
    if not ok:
        raise ServiceError('not %s php-fpm master %s (%s): the configuration it would load fails the test, so the master would not come back: '
                           '%s; the running master is left alone; fix the configuration and run again'
                           % ('reloading' if action == 'reload' else 'restarting', master_pid or '-', config_path, message))
    if service:
        rc, out, err = run_command(argv)
        if rc != 0:
            raise ServiceError('%s failed (rc=%d): %s' % (' '.join(argv), rc, (err or out).strip().splitlines()[-1:] or ''))
        return {'method': 'service', 'command': argv}
    try:
        os.kill(master_pid, signal.SIGUSR2)
    except OSError as error:
        raise ServiceError('cannot send SIGUSR2 to FPM master %d: %s' % (master_pid, error.strerror))
    return {'method': 'signal', 'command': argv}
