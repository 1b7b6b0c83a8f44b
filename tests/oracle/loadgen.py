# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Load under which an invalidation is judged, shared by tests/oracle and bench/.

``LoadGenerator``: a bounded closed-loop HTTP load generator. N client threads each send one
request, wait for the whole answer, record it and send the next, until T seconds have passed,
M requests were sent, or ``stop()`` is called. Loopback only (127.0.0.1 / ::1 / localhost). Each
request is recorded as a ``Sample``: start and end (``time.monotonic()``), HTTP status, failure
kind (``connect``, ``reset``, ``timeout``, ``http <status>``, ``body``) and the version string the
app served (``version=<v>``). ``fresh_after`` and ``failures`` turn the samples into "ms from the
action until every subsequent request serves the new version" and "failed requests".

``PhpLab``: a private php-fpmX.Y master (``private_fpm.PrivateFpm``: foreground, a private copy of
the binary, its own php.ini/conf.d/php-fpm.conf, pools ``a`` and ``b`` with ``pm = static``)
behind a private nginx on 127.0.0.1:<free port>, serving an app whose ``index.php`` requires
``version.php`` and sleeps. Everything lives in one temporary
directory; the machine's own php-fpm and nginx are never touched.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter, namedtuple
from urllib.parse import urlsplit

from ansible_collections.phpops.opcache.tests.oracle.private_fpm import FPM_BINARY, PHP_VERSION, FpmError, PrivateFpm, binary_version, free_port, opcache_ini
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import write_file as _write

LOOPBACK = ('127.0.0.1', '::1', 'localhost')
MAX_DURATION = 120.0
MAX_REQUESTS = 1000000
VERSION_RE = re.compile(r'^version=(\S+)\s*$')


class Sample(namedtuple('Sample', 'client start end status error version detail')):
    """One request. ``error`` is None for a 200 whose body named an accepted version; ``detail``
    holds the start of a body that did not (or the OS error text)."""

    __slots__ = ()

    @property
    def ok(self):
        return self.error is None


def _loopback_target(url):
    parts = urlsplit(url)
    if parts.scheme != 'http':
        raise ValueError('only plain http URLs are supported: %r' % (url,))
    host = parts.hostname or ''
    if host not in LOOPBACK:
        raise ValueError('the load generator only talks to loopback (127.0.0.1), not %r' % (host,))
    path = parts.path or '/'
    if parts.query:
        path += '?' + parts.query
    return host, parts.port or 80, path


def http_get(host, port, path, timeout):
    """One HTTP/1.0 GET on a new connection: (status, body bytes). Raises OSError/socket.timeout."""
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((host if host != 'localhost' else '127.0.0.1', port))
        sock.sendall(('GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: phpops-loadgen\r\n\r\n' % (path, host, port)).encode('ascii'))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    raw = b''.join(chunks)
    head, sep, body = raw.partition(b'\r\n\r\n')
    if not sep:
        raise ConnectionResetError(errno.ECONNRESET, 'incomplete HTTP response (%d bytes)' % len(raw))
    status_line = head.split(b'\r\n', 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ConnectionResetError(errno.ECONNRESET, 'bad HTTP status line %r' % head[:60])
    return int(status_line[1]), body


def classify(status, body, accept=None):
    """(error or None, version or None, detail or None) for one answer."""
    text = body.decode('utf-8', 'replace')
    if status != 200:
        return 'http %d' % status, None, text[:80]
    match = VERSION_RE.match(text)
    if not match:
        return 'body', None, text[:80]
    version = match.group(1)
    if accept is not None and version not in accept:
        return 'body', version, text[:80]
    return None, version, None


class LoadGenerator(object):
    """Closed-loop load: ``clients`` threads over ``urls`` (client i uses urls[i % len(urls)]).

    Bounded: stops by itself after ``duration`` seconds or ``max_requests`` requests (both capped),
    each request has a ``timeout``. Use as a context manager or start()/stop()."""

    def __init__(self, urls, clients=16, duration=10.0, max_requests=100000, timeout=5.0, accept=None):
        if isinstance(urls, str):
            urls = [urls]
        if not urls:
            raise ValueError('no URL to load')
        self.targets = [_loopback_target(u) for u in urls]
        self.clients = max(1, int(clients))
        self.duration = min(float(duration), MAX_DURATION)
        self.max_requests = min(int(max_requests), MAX_REQUESTS)
        self.timeout = float(timeout)
        self.accept = set(accept) if accept is not None else None
        self.samples = []
        self.marks = {}
        self._sent = itertools.count()
        self._stop = threading.Event()
        self._threads = []
        self.t0 = None

    # -- running --------------------------------------------------------------------------------
    def start(self):
        self.t0 = time.monotonic()
        self._deadline = self.t0 + self.duration
        for client in range(self.clients):
            thread = threading.Thread(target=self._client, args=(client,), name='loadgen-%d' % client, daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def _client(self, client):
        host, port, path = self.targets[client % len(self.targets)]
        while not self._stop.is_set():
            if time.monotonic() >= self._deadline or next(self._sent) >= self.max_requests:
                return
            start = time.monotonic()
            status, error, version, detail = None, None, None, None
            try:
                status, body = http_get(host, port, path, self.timeout)
                error, version, detail = classify(status, body, self.accept)
            except socket.timeout:
                error = 'timeout'
            except (ConnectionRefusedError, FileNotFoundError) as exc:
                error, detail = 'connect', str(exc)
            except OSError as exc:
                error = 'reset' if exc.errno in (errno.ECONNRESET, errno.EPIPE, None) else 'os %s' % (errno.errorcode.get(exc.errno, exc.errno),)
                detail = str(exc)
            self.samples.append(Sample(client, start, time.monotonic(), status, error, version, detail))
            if error is not None:
                time.sleep(0.002)  # a failing server is not hammered in a tight loop

    def mark(self, name):
        """Record a named instant (monotonic seconds) next to the samples; returns it."""
        self.marks[name] = time.monotonic()
        return self.marks[name]

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 2)
        return self

    def wait(self):
        """Block until the generator stops by itself (duration or request count)."""
        for thread in self._threads:
            thread.join(self.duration + self.timeout + 2)
        return self

    def running(self):
        return any(t.is_alive() for t in self._threads)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- views ----------------------------------------------------------------------------------
    def snapshot(self):
        return sorted(list(self.samples), key=lambda s: s.start)


def between(samples, start=None, end=None):
    """Samples that STARTED in [start, end)."""
    return [s for s in samples if (start is None or s.start >= start) and (end is None or s.start < end)]


def completed_within(samples, start=None, end=None):
    """Samples that started at or after ``start`` and were ANSWERED before ``end``."""
    return [s for s in samples if (start is None or s.start >= start) and (end is None or s.end <= end)]


def failures(samples, start=None, end=None):
    return [s for s in between(samples, start, end) if not s.ok]


def versions(samples, start=None, end=None):
    """Counter of served versions (failures counted under their error kind in brackets)."""
    return Counter(s.version if s.ok else '[%s]' % s.error for s in between(samples, start, end))


def fresh_after(samples, action, new_version):
    """When every request serves ``new_version`` for good, measured from ``action``.

    The answer is the earliest instant T such that every request that started at or after T
    succeeded with ``new_version``; returns ``(T - action) * 1000`` (ms, >= 0), or None when the
    last request still did not (never fresh within the samples)."""
    ordered = sorted(samples, key=lambda s: s.start)
    if not ordered or not (ordered[-1].ok and ordered[-1].version == new_version):
        return None
    fresh_from = ordered[0].start
    for index, sample in enumerate(ordered):
        if not (sample.ok and sample.version == new_version):
            fresh_from = ordered[index + 1].start
    return max(0.0, (fresh_from - action) * 1000.0)


def describe(samples):
    """One line: requests, rate, failures by kind, versions."""
    if not samples:
        return 'no requests'
    span = max(s.end for s in samples) - min(s.start for s in samples)
    kinds = Counter(s.error for s in samples if not s.ok)
    return '%d requests in %.1f s (%.0f/s), %d failed%s, served %s' % (
        len(samples), span, len(samples) / span if span else 0, sum(kinds.values()),
        ' (%s)' % ', '.join('%s: %d' % kv for kv in sorted(kinds.items())) if kinds else '',
        dict(Counter(s.version for s in samples if s.ok)))


# ---------------------------------------------------------------------------------------------
# The private lab: php-fpm + nginx in one temporary directory
# ---------------------------------------------------------------------------------------------

NGINX_BINARY = os.environ.get('PHPOPS_NGINX', '/usr/sbin/nginx')

INDEX_PHP = '''<?php
$version = require __DIR__ . '/version.php';
usleep(%d);
echo 'version=', $version, "\\n";
'''
RESET_PHP = '''<?php
echo 'reset=', var_export(opcache_reset(), true), "\\n";
'''
NGINX_CONF = '''daemon off;
master_process on;
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {base}/nginx-tmp/body;
    fastcgi_temp_path {base}/nginx-tmp/fastcgi;
    proxy_temp_path {base}/nginx-tmp/proxy;
    uwsgi_temp_path {base}/nginx-tmp/uwsgi;
    scgi_temp_path {base}/nginx-tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
'''
NGINX_LOCATION = '''        location /{pool}/ {{
            fastcgi_pass unix:{sock};
            fastcgi_next_upstream off;
            fastcgi_param SCRIPT_FILENAME {app}/index.php;
            fastcgi_param SCRIPT_NAME /index.php;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SERVER_NAME 127.0.0.1;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
        }}
'''


# the lab's errors: a failing php-fpm raises private_fpm.FpmError, caught as LabError as before
LabError = FpmError


class PhpLab(object):
    """Private php-fpm (pools a, b; pm static) + nginx on loopback; the app serves ``version=<v>``."""

    def __init__(self, pools=('a', 'b'), workers=4, sleep_us=20000, process_control_timeout='0', version='v1'):
        for binary in (FPM_BINARY, NGINX_BINARY):
            if not os.access(binary, os.X_OK):
                raise LabError('%s is missing (apt-get install php%s-fpm nginx)' % (binary, PHP_VERSION))
        self.base = tempfile.mkdtemp(prefix='phpops-lab-', dir='/tmp')
        os.chmod(self.base, 0o755)
        self.app = os.path.join(self.base, 'app')
        self.probe_dir = os.path.join(self.base, 'probe')
        self.pools = list(pools)
        self.port = None
        self.nginx = None
        # php-fpm.conf, php.ini, conf.d, fpm.log and the private copy of the binary live in base
        self.fpm = PrivateFpm(FPM_BINARY, directory=self.base,
                              php_ini='; private php.ini of the phpops load lab\nopcache.revalidate_freq = 0\n',
                              conf_d={'10-opcache.ini': opcache_ini([('opcache.enable', 1), ('opcache.enable_cli', 0), ('opcache.memory_consumption', 64),
                                                                     ('opcache.validate_timestamps', 0), ('opcache.file_update_protection', 0)])},
                              global_settings=[('process_control_timeout', process_control_timeout)])
        self.fpm_binary, self.php_ini, self.scan_dir, self.fpm_conf = self.fpm.binary, self.fpm.ini, self.fpm.scan_dir, self.fpm.conf
        # "X.Y" of the binary that runs (PHPOPS_PHP_FPM may name another version than PHP_VERSION)
        self.php_version = '.'.join((binary_version(FPM_BINARY) or PHP_VERSION).split('.')[:2])
        self.sockets = {}
        for pool in self.pools:
            self.sockets[pool] = self.fpm.add_pool(pool, os.path.join(self.base, 'fpm-%s.sock' % pool), user='www-data', group='www-data',
                                                   workers=int(workers), settings=[('listen.backlog', 511)])
        for directory in (self.app, os.path.join(self.base, 'nginx-tmp')):
            os.makedirs(directory)
            os.chmod(directory, 0o755)
        self.fpm.write_config()
        backdated = time.time() - 60
        _write(os.path.join(self.app, 'index.php'), INDEX_PHP % int(sleep_us), mtime=backdated)
        _write(os.path.join(self.app, 'reset.php'), RESET_PHP, mtime=backdated)
        self.deploy(version)

    # -- code -----------------------------------------------------------------------------------
    def deploy(self, version):
        """Atomically replace version.php (write + rename, mtime backdated like a release copy)."""
        target = os.path.join(self.app, 'version.php')
        _write(target + '.new', "<?php\nreturn '%s';\n" % version, mtime=time.time() - 30)
        os.rename(target + '.new', target)

    def url(self, pool):
        return 'http://127.0.0.1:%d/%s/' % (self.port, pool)

    def urls(self):
        return [self.url(p) for p in self.pools]

    def installation(self):
        """The explicit installation for opcache_report.build_report: the master matches it."""
        return {'php_ini': self.php_ini, 'scan_dirs': [self.scan_dir], 'sapi': 'fpm', 'fpm_conf': self.fpm_conf, 'version': self.php_version}

    # -- processes ------------------------------------------------------------------------------
    def start(self):
        try:
            self.start_fpm()
            self.start_nginx()
        except Exception:
            self.close()
            raise
        return self

    def start_fpm(self):
        self.fpm.start()

    def start_nginx(self):
        for dummy_attempt in range(5):
            self.port = free_port()
            locations = ''.join(NGINX_LOCATION.format(pool=p, sock=self.sockets[p], app=self.app) for p in self.pools)
            _write(os.path.join(self.base, 'nginx.conf'), NGINX_CONF.format(base=self.base, port=self.port, locations=locations))
            self.nginx = subprocess.Popen([NGINX_BINARY, '-e', os.path.join(self.base, 'nginx-error.log'), '-p', self.base,
                                           '-c', os.path.join(self.base, 'nginx.conf')],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.nginx.poll() is None:
                try:
                    status, body = http_get('127.0.0.1', self.port, '/%s/' % self.pools[0], 5.0)
                    if status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.02)
            self._end(self.nginx)
            self.nginx = None
        raise LabError('nginx did not serve the app: %s' % self.log('nginx-error.log'))

    @property
    def master_pid(self):
        return self.fpm.master_pid

    def diagnose(self):
        """What the lab looks like now: for error messages when something went wrong."""
        return 'php-fpm master %s (%s), sockets %s, nginx %s; fpm.log tail:\n%s\nnginx-error.log tail:\n%s' % (
            self.fpm.master_pid,
            'running' if self.fpm.running() else 'exited %s' % (self.fpm.proc.returncode if self.fpm.proc else None),
            dict((p, os.path.exists(s)) for p, s in self.sockets.items()),
            'running' if self.nginx and self.nginx.poll() is None else 'not running',
            self.fpm.log_text(1200), self.log('nginx-error.log')[-600:])

    def raw_reset(self, timeout=10.0):
        """``opcache_reset()`` in pool a over FastCGI, once, without verification: the answer body."""
        from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import FastCGIClient, build_php_params
        response = FastCGIClient(self.sockets[self.pools[0]], read_timeout=timeout).request(
            build_php_params(os.path.join(self.app, 'reset.php')))
        return response.body.decode('utf-8', 'replace').strip()

    def reload(self):
        """What the distributions' reload does: SIGUSR2 to the master (pid stays with -F)."""
        self.fpm.reload()

    def restart(self):
        """Stop (SIGTERM, as a systemd stop does) and start the master again."""
        self.fpm.restart()

    def log(self, name):
        try:
            with open(os.path.join(self.base, name)) as handle:
                return handle.read()[-2000:]
        except OSError:
            return ''

    @staticmethod
    def _end(proc, sig=signal.SIGTERM):
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def close(self):
        """nginx with SIGQUIT (graceful), php-fpm with SIGTERM; then the directory is removed."""
        self._end(self.nginx, signal.SIGQUIT)
        self.fpm.cleanup()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
