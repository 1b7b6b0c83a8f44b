# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: plugins/module_utils/fastcgi.py against a REAL, private php-fpm instance.

The fixture starts its own php-fpm (foreground, ``-F``) with a configuration in a temporary
directory: one pool on a unix socket (mode 0666) and one on 127.0.0.1 with a free port, both
running as an unprivileged user when we are root. It never touches the system's FPM.
Set PHPOPS_PHP_FPM to choose the binary (default: php-fpm8.2, then php-fpm).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import (
    FastCGIClient,
    FastCGIError,
    FastCGIProtocolError,
    build_php_params,
    parse_listen,
)

PROBE = r'''<?php
header('Content-Type: application/json');
$input = file_get_contents('php://input');
if (isset($_GET['log'])) {
    error_log('probe-stderr-marker');
}
if (isset($_GET['big'])) {
    echo str_repeat('b', (int) $_GET['big']);
    exit;
}
echo json_encode(array(
    'sapi' => PHP_SAPI,
    'pool' => getenv('PHPOPS_POOL'),
    'method' => $_SERVER['REQUEST_METHOD'],
    'query' => $_GET,
    'input' => $input,
    'script' => $_SERVER['SCRIPT_FILENAME'],
    'server_name' => $_SERVER['SERVER_NAME'],
    'user' => function_exists('posix_geteuid') ? posix_geteuid() : null,
));
'''


def _find_fpm():
    candidates = [os.environ.get('PHPOPS_PHP_FPM'), shutil.which('php-fpm8.2'), '/usr/sbin/php-fpm8.2', shutil.which('php-fpm')]
    candidates.extend(sorted(glob.glob('/usr/sbin/php-fpm*'), reverse=True))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _pool(name, listen, user_lines, extra=''):
    return '''
[{name}]
{user}
listen = {listen}
listen.mode = 0666
pm = static
pm.max_children = 2
ping.path = /ping
ping.response = pong-{name}
pm.status_path = /status
catch_workers_output = yes
clear_env = yes
env[PHPOPS_POOL] = {name}
php_admin_value[opcache.file_update_protection] = 0
{extra}
'''.format(name=name, listen=listen, user=user_lines, extra=extra)


class RealFPM:
    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix='fpm', dir='/tmp')
        os.chmod(self.dir, 0o755)
        self.docroot = os.path.join(self.dir, 'www')
        os.mkdir(self.docroot)
        os.chmod(self.docroot, 0o755)
        self.script = os.path.join(self.docroot, 'probe.php')
        with open(self.script, 'w') as handle:
            handle.write(PROBE)
        os.chmod(self.script, 0o644)
        self.socket_path = os.path.join(self.dir, 'unix.sock')
        self.port = _free_port()
        self.log = os.path.join(self.dir, 'fpm.log')
        user_lines = ''
        if os.geteuid() == 0:
            for candidate in ('www-data', 'nobody'):
                try:
                    entry = pwd.getpwnam(candidate)
                except KeyError:
                    continue
                user_lines = 'user = %s\ngroup = %d' % (candidate, entry.pw_gid)
                break
        self.conf = os.path.join(self.dir, 'php-fpm.conf')
        with open(self.conf, 'w') as handle:
            handle.write('[global]\npid = %s\nerror_log = %s\ndaemonize = no\nlog_level = notice\n' % (
                os.path.join(self.dir, 'fpm.pid'), self.log))
            handle.write(_pool('unixpool', self.socket_path, user_lines))
            handle.write(_pool('tcppool', '127.0.0.1:%d' % self.port, user_lines, 'listen.allowed_clients = 127.0.0.1'))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, '-F', '-y', self.conf, '-p', self.dir],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.proc.stdout.read().decode('utf-8', 'replace')
                raise RuntimeError('php-fpm exited with %s: %s\n%s' % (self.proc.returncode, output, self._log_text()))
            if os.path.exists(self.socket_path) and self._tcp_ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError('php-fpm did not come up within 15 s:\n%s' % (self._log_text(),))

    def _tcp_ready(self):
        try:
            socket.create_connection(('127.0.0.1', self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def _log_text(self):
        try:
            with open(self.log) as handle:
                return handle.read()
        except OSError:
            return ''

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful stop of the master and its workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope='module')
def fpm():
    binary = _find_fpm()
    if binary is None:
        pytest.skip('php-fpm is not installed')
    instance = RealFPM(binary)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


@pytest.fixture(params=['unix', 'tcp'])
def client(request, fpm):
    listen = fpm.socket_path if request.param == 'unix' else '127.0.0.1:%d' % fpm.port
    return FastCGIClient(parse_listen(listen), connect_timeout=3.0, read_timeout=10.0)


def _pool_of(client):
    return 'unixpool' if client.address.family == 'unix' else 'tcppool'


def test_script_returns_json(fpm, client):
    resp = client.request(build_php_params(fpm.script, query_string='a=1&b=two', server_name='oracle.test'))
    assert resp.status == 200, (resp.status, resp.body, resp.stderr)
    assert resp.header('Content-Type').startswith('application/json')
    assert resp.app_status == 0 and resp.protocol_status == 0
    data = json.loads(resp.body)
    assert data['sapi'] == 'fpm-fcgi'
    assert data['pool'] == _pool_of(client)
    assert data['query'] == {'a': '1', 'b': 'two'}
    assert data['script'] == fpm.script and data['server_name'] == 'oracle.test'
    assert resp.elapsed_ms > 0


def test_post_body(fpm, client):
    body = b'x=1&' + b'y' * 150000  # several STDIN records
    resp = client.request(build_php_params(fpm.script, method='POST', body=body), body)
    assert resp.status == 200
    assert json.loads(resp.body)['input'] == body.decode()


def test_big_response_spans_records(fpm, client):
    resp = client.request(build_php_params(fpm.script, query_string='big=300000'))
    assert resp.status == 200 and resp.body == b'b' * 300000


def test_stderr_record(fpm, client):
    resp = client.request(build_php_params(fpm.script, query_string='log=1'))
    assert resp.status == 200
    assert b'probe-stderr-marker' in resp.stderr


def test_missing_script_is_404(fpm, client):
    resp = client.request(build_php_params(os.path.join(fpm.docroot, 'absent.php')))
    assert resp.status == 404
    assert resp.body.strip() == b'File not found.'


def test_wrong_extension_is_403(fpm, client):
    other = os.path.join(fpm.docroot, 'probe.txt')
    if not os.path.exists(other):
        shutil.copy(fpm.script, other)
        os.chmod(other, 0o644)
    resp = client.request(build_php_params(other))
    assert resp.status == 403
    assert resp.body.strip() == b'Access denied.'


def test_ping_and_status(fpm, client):
    ping = client.request(build_php_params(fpm.script, extra={'SCRIPT_NAME': '/ping'}))
    assert ping.status == 200 and ping.body == ('pong-%s' % _pool_of(client)).encode()
    status = client.request(build_php_params(fpm.script, query_string='json', extra={'SCRIPT_NAME': '/status'}))
    assert status.status == 200
    assert json.loads(status.body)['pool'] == _pool_of(client)


def test_oversized_real_response(fpm, client):
    small = FastCGIClient(client.address, connect_timeout=3.0, read_timeout=10.0, max_response_bytes=10000)
    with pytest.raises(FastCGIProtocolError, match='too large'):
        small.request(build_php_params(fpm.script, query_string='big=100000'))


def test_without_request_method_fpm_runs_nothing(fpm, client):
    # Measured on 8.2: FPM answers with headers only (200, empty body) and does not run the script.
    params = build_php_params(fpm.script)
    del params['REQUEST_METHOD']
    resp = client.request(params)
    assert resp.status == 200 and resp.body == b''


def test_without_script_filename_is_404(fpm, client):
    params = build_php_params(fpm.script)
    del params['SCRIPT_FILENAME']
    resp = client.request(params)
    assert resp.status == 404 and resp.body.strip() == b'File not found.'
    assert b'Primary script unknown' in resp.stderr


def test_errors_name_the_address(fpm):
    missing = os.path.join(fpm.dir, 'nope.sock')
    with pytest.raises(FastCGIError, match='socket missing') as info:
        FastCGIClient(missing, connect_timeout=1.0, read_timeout=1.0).request(build_php_params(fpm.script))
    assert missing in str(info.value)
