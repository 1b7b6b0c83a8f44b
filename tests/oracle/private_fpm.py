# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""A private php-fpm master for the oracle tests and the benchmarks.

``PrivateFpm``: one php-fpm master with its own configuration in one directory: ``php-fpm.conf``
(pid ``fpm.pid``, error_log ``fpm.log``), optionally its own ``php.ini`` and ``conf.d`` (passed with
``-c`` and ``PHP_INI_SCAN_DIR``; without them the binary's compiled-in ini is used), pools given as
ready text or built by ``pool_conf``. Runs in the foreground (``-F``, a child of the caller) or
daemonised; ``start`` waits until every pool's unix socket or TCP port is there; ``reload`` is a
SIGUSR2 to the master, ``stop``/``restart``/``cleanup`` end it.

By default the master runs a private COPY of the binary (``<dir>/php-fpm``): Debian's init script
stops phpX.Y-fpm with, after the pid file, ``start-stop-daemon --stop --retry=0/30/TERM/5/KILL/5
--exec /usr/sbin/php-fpmX.Y``, which signals EVERY process of that executable (matched by inode),
private masters included. Tests elsewhere on the machine restart phpX.Y-fpm; a copy is not matched.
The machine's own php-fpm is never touched: only the processes started here are signalled.

The PHP version under test, ``PHP_VERSION`` ("X.Y"), is ``PHPOPS_PHP_VERSION`` (scripts/test exports
it), else the highest installed ``/usr/sbin/php-fpmX.Y``, else the php CLI's, else 8.2. The default
binary ``FPM_BINARY`` is ``PHPOPS_PHP_FPM``, else ``/usr/sbin/php-fpm<PHP_VERSION>``.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def php_version():
    """The PHP-FPM version under test, "X.Y" (see the module docstring)."""
    wanted = os.environ.get('PHPOPS_PHP_VERSION', '').strip()
    if re.match(r'^\d+\.\d+$', wanted):
        return wanted
    installed = [m.group(1) for m in (re.match(r'^php-fpm(\d+\.\d+)$', os.path.basename(p)) for p in glob.glob('/usr/sbin/php-fpm*')) if m]
    if installed:
        return max(installed, key=lambda v: tuple(int(n) for n in v.split('.')))
    php = shutil.which('php')
    if php:
        try:
            out = subprocess.run([php, '-n', '-r', 'echo PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION;'], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=30, check=True).stdout.decode().strip()
        except (OSError, subprocess.SubprocessError):
            out = ''
        if re.match(r'^\d+\.\d+$', out):
            return out
    return '8.2'


PHP_VERSION = php_version()
FPM_BINARY = os.environ.get('PHPOPS_PHP_FPM') or '/usr/sbin/php-fpm%s' % PHP_VERSION


def binary_version(binary):
    """PHP_VERSION of a php or php-fpm binary as -v reports it ("8.2.36", or with the distribution's suffix); None
    when it cannot say."""
    try:
        out = subprocess.run([binary, '-n', '-v'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r'PHP (\d+\.\d+\.\d+\S*) ', out.decode('utf-8', 'replace'))
    return match.group(1) if match else None


class FpmError(RuntimeError):
    """The private php-fpm could not be prepared, did not come up or did not stop."""


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def find_fpm_binary():
    """PHPOPS_PHP_FPM, else php-fpm<PHP_VERSION>, else any php-fpm on the host; None when there is none."""
    candidates = [os.environ.get('PHPOPS_PHP_FPM'), shutil.which('php-fpm' + PHP_VERSION), '/usr/sbin/php-fpm' + PHP_VERSION, shutil.which('php-fpm')]
    candidates.extend(sorted(glob.glob('/usr/sbin/php-fpm*'), reverse=True))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def unprivileged_user():
    """(user, group id) for the pools when we are root (www-data, else nobody); (None, None) otherwise."""
    if os.geteuid() == 0:
        for candidate in ('www-data', 'nobody'):
            try:
                entry = pwd.getpwnam(candidate)
            except KeyError:
                continue
            return candidate, entry.pw_gid
    return None, None


def write_file(path, text, mode=0o644, mtime=None):
    """Write ``text`` (parent directories created), chmod ``mode``, optionally set the mtime."""
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, mode)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _lines(settings):
    """``key = value`` lines of a sequence of pairs or a dict (in its order)."""
    if isinstance(settings, dict):
        settings = settings.items()
    return ''.join('%s = %s\n' % (key, value) for key, value in settings)


def opcache_ini(settings=(('opcache.enable', 1),)):
    """An ini file that loads OPcache (``zend_extension=opcache``) followed by ``settings``, one a line."""
    return 'zend_extension=opcache\n' + _lines(settings)


def pool_conf(name, listen, user=None, group=None, workers=1, listen_mode='0666', settings=(), extra=''):
    """The text of one ``pm = static`` pool section (with ``catch_workers_output``), ``settings`` and
    ``extra`` (raw lines) after the common lines. ``user``/``group`` are left out when None."""
    text = '\n[%s]\n' % name
    if user is not None:
        text += 'user = %s\n' % user
    if group is not None:
        text += 'group = %s\n' % group
    text += 'listen = %s\nlisten.mode = %s\npm = static\npm.max_children = %d\ncatch_workers_output = yes\n' % (listen, listen_mode, int(workers))
    text += _lines(settings)
    if extra:
        text += extra + '\n'
    return text


def _tcp_address(listen):
    """(host, port) of a TCP ``listen`` value (``port``, ``host:port``, ``[v6]:port``)."""
    host, sep, port = listen.rpartition(':')
    if not sep:
        return '127.0.0.1', int(port)
    host = host.strip('[]')
    return ('127.0.0.1' if host in ('', '0.0.0.0', '*') else host), int(port)


class PrivateFpm:
    """One private php-fpm master. Pools are added with ``add_pool`` before the first ``start``.

    ``directory``: where everything lives (created; removed by ``cleanup`` only when it was
    created here, under /tmp with ``prefix``, mode 0755). ``php_ini``/``conf_d`` (text, dict of
    file name -> text): a private ini; when both are None the binary's own ini is used.
    ``global_settings``: extra ``[global]`` lines. ``private_copy``: run a copy of the binary (see
    the module docstring). ``foreground``: ``-F`` (else ``daemonize = yes``, pid from the pid file).
    ``stop_signal``: what ``stop`` sends (SIGTERM like systemd; SIGQUIT is the graceful stop).
    ``capture_output``: keep the foreground master's stdout/stderr for the error message.
    ``connect_unix``: a unix socket is ready when it accepts a connection (else: when it exists).
    """

    def __init__(self, binary=None, directory=None, prefix='phpops-fpm-', php_ini=None, conf_d=None, global_settings=(),
                 private_copy=True, foreground=True, stop_signal=signal.SIGTERM, capture_output=False, connect_unix=True):
        self.source_binary = binary or FPM_BINARY
        if not (os.path.isfile(self.source_binary) and os.access(self.source_binary, os.X_OK)):
            raise FpmError('%s is missing (apt-get install php%s-fpm)' % (self.source_binary, PHP_VERSION))
        self.owned = directory is None
        if directory is None:
            directory = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
            os.chmod(directory, 0o755)
        else:
            os.makedirs(directory, exist_ok=True)
        self.dir = directory
        self.conf = os.path.join(self.dir, 'php-fpm.conf')
        self.pid_path = os.path.join(self.dir, 'fpm.pid')
        self.log_path = os.path.join(self.dir, 'fpm.log')
        private_ini = php_ini is not None or conf_d is not None
        self.ini = os.path.join(self.dir, 'php.ini') if private_ini else None
        self.scan_dir = os.path.join(self.dir, 'conf.d') if private_ini else None
        self.php_ini_text = php_ini if php_ini is not None else '; private php.ini\n'
        self.conf_d = dict(conf_d) if conf_d is not None else {'10-opcache.ini': opcache_ini()}
        self.global_settings = global_settings
        self.foreground = foreground
        self.stop_signal = stop_signal
        self.capture_output = capture_output and foreground
        self.connect_unix = connect_unix
        self.listens = {}
        self.pool_texts = []
        self.proc = None
        self.written = False
        self.binary = self.source_binary
        if private_copy:
            self.binary = os.path.join(self.dir, 'php-fpm')
            shutil.copy2(self.source_binary, self.binary)

    # -- configuration --------------------------------------------------------------------------
    def add_pool(self, name, listen, text=None, **params):
        """A pool listening on ``listen`` (unix socket path or [host:]port): the ready ``text`` of its
        section, or the one ``pool_conf(name, listen, **params)`` builds. Returns ``listen``."""
        self.listens[name] = listen
        self.pool_texts.append(text if text is not None else pool_conf(name, listen, **params))
        return listen

    def write_config(self):
        """Write php-fpm.conf (and the private php.ini and conf.d): once, before the first start."""
        text = '[global]\npid = %s\nerror_log = %s\ndaemonize = %s\n' % (self.pid_path, self.log_path, 'no' if self.foreground else 'yes')
        text += _lines(self.global_settings)
        write_file(self.conf, text + ''.join(self.pool_texts))
        if self.ini is not None:
            write_file(self.ini, self.php_ini_text)
            os.makedirs(self.scan_dir, exist_ok=True)
            os.chmod(self.scan_dir, 0o755)
            for name, content in sorted(self.conf_d.items()):
                write_file(os.path.join(self.scan_dir, name), content)
        self.written = True

    # -- processes ------------------------------------------------------------------------------
    def argv(self):
        argv = [self.binary]
        if self.foreground:
            argv.append('-F')
        if self.ini is not None:
            argv.extend(['-c', self.ini])
        return argv + ['-y', self.conf, '-p', self.dir]

    def environment(self):
        if self.ini is None:
            return None
        env = dict(os.environ, PHP_INI_SCAN_DIR=self.scan_dir)
        env.pop('PHPRC', None)
        return env

    def start(self, timeout=15.0):
        """Start the master and wait until every pool listens; FpmError when it does not."""
        if not self.written:
            self.write_config()
        output = subprocess.PIPE if self.capture_output else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.argv(), env=self.environment(), stdin=subprocess.DEVNULL, stdout=output,
                                     stderr=subprocess.STDOUT if self.capture_output else subprocess.DEVNULL)
        if not self.foreground:
            # the launcher exits once the daemonised master is up (non-zero when it failed)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            if self.proc.returncode != 0:
                raise FpmError('php-fpm exited with %s: %s' % (self.proc.returncode, self.log_text(2000)))
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.foreground and self.proc.poll() is not None:
                output = self.proc.stdout.read().decode('utf-8', 'replace') if self.capture_output else ''
                raise FpmError('php-fpm exited with %s: %s\n%s' % (self.proc.returncode, output, self.log_text(2000)))
            if all(self.listening(listen) for listen in self.listens.values()):
                return
            time.sleep(0.01)
        self.stop()
        raise FpmError('php-fpm did not listen within %.0f s: %s' % (timeout, self.log_text(2000)))

    def listening(self, listen):
        """Is the pool address ``listen`` ready (see ``connect_unix``)?"""
        if listen.startswith('/'):
            if not self.connect_unix:
                return os.path.exists(listen)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address = listen
        else:
            address = _tcp_address(listen)
            sock = socket.socket(socket.AF_INET6 if ':' in address[0] else socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(1.0)
        try:
            sock.connect(address)
            return True
        except OSError:
            return False
        finally:
            sock.close()

    @property
    def master_pid(self):
        """The master's pid: the child itself with -F, else the pid file's (None when not known)."""
        if self.foreground:
            return self.proc.pid if self.proc is not None else None
        try:
            with open(self.pid_path, encoding='utf-8') as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        return pid if self._ours(pid) else None

    def _ours(self, pid):
        """Is ``pid`` a php-fpm master of OUR configuration (never signal anything else)?"""
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                title = handle.read().decode('utf-8', 'replace')
        except OSError:
            return False
        return 'master process (%s)' % self.conf in title

    def running(self):
        if self.foreground:
            return self.proc is not None and self.proc.poll() is None
        return self.master_pid is not None

    def reload(self, timeout=15.0):
        """What the distributions' reload does: SIGUSR2 to the master. With -F the pid stays; a
        daemonised master re-executes and daemonises again (measured on 8.2): this waits for the pid
        file to name the new master."""
        pid = self.master_pid
        os.kill(pid, signal.SIGUSR2)
        if self.foreground:
            return
        deadline = time.monotonic() + timeout
        while self.master_pid in (None, pid):
            if time.monotonic() >= deadline:
                raise FpmError('php-fpm master %d did not come back from the reload: %s' % (pid, self.log_text(2000)))
            time.sleep(0.02)

    def stop(self, sig=None, timeout=10.0):
        """Signal the master (``stop_signal`` unless ``sig``), wait, SIGKILL after ``timeout`` s."""
        sig = self.stop_signal if sig is None else sig
        if self.foreground:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(sig)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            if self.proc is not None and self.proc.stdout:
                self.proc.stdout.close()
            return
        pid = self.master_pid
        if pid is None:
            return
        os.kill(pid, sig)
        for wait, last in ((timeout, signal.SIGKILL), (5.0, None)):
            deadline = time.monotonic() + wait
            while self._ours(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not self._ours(pid):
                return
            if last is not None:
                os.kill(pid, last)
        raise FpmError('php-fpm master %d did not stop' % pid)

    def restart(self, timeout=15.0):
        """Stop (``stop_signal``) and start the master again."""
        self.stop()
        return self.start(timeout)

    def cleanup(self):
        """Stop the master; remove the directory when it was created here."""
        self.stop()
        if self.owned:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self, tail=None):
        """fpm.log (its last ``tail`` characters); '' when there is none."""
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as handle:
                text = handle.read()
        except OSError:
            return ''
        return text[-tail:] if tail else text

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
