# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: plugins/module_utils/fastcgi.py against a REAL, private php-fpm instance.

The fixture starts its own php-fpm (foreground, ``-F``; private_fpm.PrivateFpm, a private copy of
the binary) with a configuration in a temporary directory: one pool on a unix socket (mode 0666)
and one on 127.0.0.1 with a free port, both running as an unprivileged user when we are root. It
never touches the system's FPM. Set PHPOPS_PHP_FPM to choose the binary (default: php-fpmX.Y of
PHPOPS_PHP_VERSION or the installed PHP-FPM, then php-fpm).
"""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import (
    FastCGIClient,
    FastCGIError,
    FastCGIProtocolError,
    build_php_params,
    parse_listen,
)
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import (
    PrivateFpm,
    find_fpm_binary,
    free_port,
    unprivileged_user,
    write_file,
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


def _pool_settings(name):
    return [('ping.path', '/ping'), ('ping.response', 'pong-%s' % name), ('pm.status_path', '/status'), ('clear_env', 'yes'),
            ('env[PHPOPS_POOL]', name), ('php_admin_value[opcache.file_update_protection]', 0)]


class RealFPM(PrivateFpm):
    """Pools unixpool (unix socket) and tcppool (127.0.0.1:<free port>); the probe script in www/."""

    def __init__(self, binary):
        super().__init__(binary, prefix='fpm', global_settings=[('log_level', 'notice')], stop_signal=signal.SIGQUIT,
                         capture_output=True, connect_unix=False)
        self.docroot = os.path.join(self.dir, 'www')
        os.mkdir(self.docroot)
        os.chmod(self.docroot, 0o755)
        self.script = os.path.join(self.docroot, 'probe.php')
        write_file(self.script, PROBE)
        self.socket_path = os.path.join(self.dir, 'unix.sock')
        self.port = free_port()
        user, group = unprivileged_user()
        self.add_pool('unixpool', self.socket_path, user=user, group=group, workers=2, settings=_pool_settings('unixpool'))
        self.add_pool('tcppool', '127.0.0.1:%d' % self.port, user=user, group=group, workers=2, settings=_pool_settings('tcppool'),
                      extra='listen.allowed_clients = 127.0.0.1')


@pytest.fixture(scope='module')
def fpm():
    binary = find_fpm_binary()
    if binary is None:
        pytest.skip('php-fpm is not installed')
    instance = RealFPM(binary)
    try:
        instance.start()
        yield instance
    finally:
        instance.cleanup()


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
