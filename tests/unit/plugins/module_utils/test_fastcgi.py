# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Unit tests for plugins/module_utils/fastcgi.py (no php-fpm needed: a fake server plays FPM)."""

from __future__ import annotations

import os
import pickle
import socket
import struct
import tempfile
import threading
import time

import pytest

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import (
    FCGI_MAX_CONTENT,
    FastCGIAddress,
    FastCGIClient,
    FastCGIConnectError,
    FastCGIError,
    FastCGIProtocolError,
    FastCGIResponse,
    FastCGITimeout,
    build_php_params,
    build_request,
    decode_pairs,
    encode_length,
    encode_pair,
    encode_pairs,
    encode_params,
    encode_stream,
    parse_cgi_output,
    parse_listen,
)
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils import fake_fastcgi_server as fake
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.fake_fastcgi_server import (
    FakeFastCGIServer,
    end_request,
    php_response,
    record,
    send_bytes,
)

FAST = {'connect_timeout': 0.5, 'read_timeout': 0.5}
PARAMS = {'REQUEST_METHOD': 'GET', 'SCRIPT_FILENAME': '/srv/www/probe.php'}


@pytest.fixture
def tmpdir_short():
    # unix socket paths are limited to ~107 bytes: keep them short and world-searchable
    path = tempfile.mkdtemp(prefix='fcgi', dir='/tmp')
    os.chmod(path, 0o755)
    yield path
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


def serve(behaviour, **kwargs):
    return FakeFastCGIServer(behaviour, **kwargs)


def assert_one_line(exc, address):
    message = str(exc)
    assert '\n' not in message and '\r' not in message
    assert str(address) in message
    assert 'Traceback' not in message
    return message


# ---------------------------------------------------------------------------
# name-value pairs
# ---------------------------------------------------------------------------

LENGTHS = st.one_of(st.integers(0, 300), st.sampled_from([127, 128, 255, 256, 65535, 65536, 70000]))
BIG_BYTES = st.builds(lambda n, b: bytes([b]) * n, LENGTHS, st.integers(0, 255))
ANY_BYTES = st.one_of(st.binary(max_size=200), BIG_BYTES)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ANY_BYTES, ANY_BYTES), max_size=5))
def test_pairs_round_trip(pairs):
    data = encode_pairs(pairs)
    assert decode_pairs(data) == pairs
    # and the independent decoder of the fake server agrees
    assert fake.decode_pairs(data) == pairs


@given(st.integers(0, 0x7fffffff))
def test_length_encoding(length):
    encoded = encode_length(length)
    if length < 128:
        assert encoded == bytes([length])
    else:
        assert len(encoded) == 4 and encoded[0] & 0x80
        assert struct.unpack('!I', encoded)[0] & 0x7fffffff == length


def test_length_encoding_boundaries():
    assert encode_length(127) == b'\x7f'
    assert encode_length(128) == b'\x80\x00\x00\x80'
    assert encode_pair('A', 'b' * 200)[:6] == b'\x01\x80\x00\x00\xc8A'
    with pytest.raises(FastCGIError):
        encode_length(0x80000000)


@given(st.text(max_size=50), st.text(max_size=200))
def test_text_pairs_are_utf8(name, value):
    assert decode_pairs(encode_pair(name, value)) == [(name.encode('utf-8'), value.encode('utf-8'))]


@given(st.binary(max_size=64))
def test_decode_pairs_never_crashes(data):
    try:
        pairs = decode_pairs(data)
    except FastCGIProtocolError:
        return
    assert encode_pairs(pairs) == data


def test_params_records_hold_whole_pairs_and_fit():
    params = dict(('VAR_%d' % i, 'v' * 20000) for i in range(10))
    data = encode_params(params)
    pos = 0
    contents = []
    while pos < len(data):
        version, rec_type, req_id, length, padding = fake.HEADER.unpack_from(data, pos)
        assert (version, rec_type, req_id) == (1, 4, 1)
        assert length <= FCGI_MAX_CONTENT
        contents.append(data[pos + 8:pos + 8 + length])
        pos += 8 + length + padding
    assert contents[-1] == b'' and all(contents[:-1])
    assert len(contents) > 3
    decoded = []
    for content in contents[:-1]:
        decoded.extend(decode_pairs(content))  # each record decodes on its own, as FPM requires
    assert decoded == [(k.encode(), v.encode()) for k, v in params.items()]


def test_oversized_pair_refused_before_connecting():
    client = FastCGIClient('127.0.0.1:1', **FAST)
    with pytest.raises(FastCGIError, match='too large'):
        client.request({'REQUEST_METHOD': 'GET', 'HUGE': 'x' * 70000})


def test_stdin_stream_split():
    data = encode_stream(5, b'a' * 140000)
    pos = 0
    lengths = []
    while pos < len(data):
        _v, _t, _i, length, padding = fake.HEADER.unpack_from(data, pos)
        lengths.append(length)
        pos += 8 + length + padding
    assert lengths == [65535, 65535, 140000 - 2 * 65535, 0]


def test_build_request_shape():
    data = build_request({'A': 'b'}, b'xyz')
    assert data[:16] == record(1, struct.pack('!HB5x', 1, 0))  # BEGIN_REQUEST, RESPONDER, no keep-conn


# ---------------------------------------------------------------------------
# parse_listen
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('value, family, host, port, path, text', [
    ('/run/php/php8.2-fpm.sock', 'unix', None, None, '/run/php/php8.2-fpm.sock', 'unix:/run/php/php8.2-fpm.sock'),
    ('  /run/php//x.sock ', 'unix', None, None, '/run/php/x.sock', 'unix:/run/php/x.sock'),
    ('"/run/php/x.sock"', 'unix', None, None, '/run/php/x.sock', 'unix:/run/php/x.sock'),
    ('unix:/run/php/x.sock', 'unix', None, None, '/run/php/x.sock', 'unix:/run/php/x.sock'),
    ('127.0.0.1:9000', 'tcp', '127.0.0.1', 9000, None, 'tcp:127.0.0.1:9000'),
    ('tcp:127.0.0.1:9000', 'tcp', '127.0.0.1', 9000, None, 'tcp:127.0.0.1:9000'),
    ('10.1.2.3:9001', 'tcp', '10.1.2.3', 9001, None, 'tcp:10.1.2.3:9001'),
    ('[::1]:9000', 'tcp', '::1', 9000, None, 'tcp:[::1]:9000'),
    ('[::]:9000', 'tcp', '::1', 9000, None, 'tcp:[::1]:9000'),
    ('[fe80::1]:9000', 'tcp', 'fe80::1', 9000, None, 'tcp:[fe80::1]:9000'),
    ('localhost:9000', 'tcp', 'localhost', 9000, None, 'tcp:localhost:9000'),
    ('php.internal:9000', 'tcp', 'php.internal', 9000, None, 'tcp:php.internal:9000'),
    ('9000', 'tcp', '127.0.0.1', 9000, None, 'tcp:127.0.0.1:9000'),
    (9000, 'tcp', '127.0.0.1', 9000, None, 'tcp:127.0.0.1:9000'),
    ('*:9000', 'tcp', '127.0.0.1', 9000, None, 'tcp:127.0.0.1:9000'),
    ('0.0.0.0:9000', 'tcp', '127.0.0.1', 9000, None, 'tcp:127.0.0.1:9000'),
    ('65535', 'tcp', '127.0.0.1', 65535, None, 'tcp:127.0.0.1:65535'),
])
def test_parse_listen(value, family, host, port, path, text):
    address = parse_listen(value)
    assert (address.family, address.host, address.port, address.path) == (family, host, port, path)
    assert str(address) == text
    assert parse_listen(str(address)) == address


def test_parse_listen_chroot():
    address = parse_listen('/run/php/fpm.sock', chroot='/srv/hosts/web1/')
    assert address.path == '/srv/hosts/web1/run/php/fpm.sock'
    assert address.target_path == '/run/php/fpm.sock'
    assert parse_listen('127.0.0.1:9000', chroot='/srv/x').host == '127.0.0.1'
    assert parse_listen('/run/php/fpm.sock', chroot='/').path == '/run/php/fpm.sock'
    assert parse_listen('/run/php/fpm.sock', chroot='///').path == '/run/php/fpm.sock'


@pytest.mark.parametrize('value', [
    '', '   ', 'php.sock', 'run/php/fpm.sock', '127.0.0.1', '127.0.0.1:', ':', '127.0.0.1:abc', '127.0.0.1:0',
    '127.0.0.1:65536', '0', '99999', '[::1:9000', '[nothost]:9000', 'fe80::zz:9000', 'bad host:9000', '-9000',
    'unix:relative.sock', '/run/\x00x', None, b'\xff', 1.5, True, '٩٠٠٠',
])
def test_parse_listen_rejects(value):
    with pytest.raises(FastCGIError) as info:
        parse_listen(value)
    assert repr(value) in str(info.value) or repr(str(value)) in str(info.value) or 'listen value' in str(info.value)
    assert '\n' not in str(info.value)


def test_address_equality_and_repr():
    assert parse_listen('9000') == parse_listen('127.0.0.1:9000')
    assert parse_listen('9000') != parse_listen('9001')
    assert len({parse_listen('9000'), parse_listen('*:9000')}) == 1
    assert 'tcp:127.0.0.1:9000' in repr(parse_listen('9000'))
    assert FastCGIAddress.unix('/x.sock').path == '/x.sock'


# ---------------------------------------------------------------------------
# CGI output and params helpers
# ---------------------------------------------------------------------------

def test_parse_cgi_output_variants():
    assert parse_cgi_output(b'Content-type: text/plain\r\n\r\nhi')[::2] == (200, [('Content-type', 'text/plain')])
    status, reason, headers, body = parse_cgi_output(b'Status: 404 Not Found\nContent-type: text/html\n\nFile not found.\n')
    assert (status, reason, body) == (404, 'Not Found', b'File not found.\n')
    assert headers[0] == ('Status', '404 Not Found')
    assert parse_cgi_output(b'X-A: 1\r\n\r\nbody\r\n\r\nmore')[3] == b'body\r\n\r\nmore'
    for bad in (b'no blank line', b'NoColon\r\n\r\n', b'Status: abc\r\n\r\n', b'Status: 20\r\n\r\n', b'Bad Name: x\r\n\r\n'):
        with pytest.raises(FastCGIProtocolError):
            parse_cgi_output(bad)


@pytest.mark.parametrize('stdout, expected', [
    # an empty header block: no header, status 200, everything after the blank line is the body
    (b'\r\n\r\nbody', (200, '', [], b'body')),
    (b'\n\nbody\n', (200, '', [], b'body\n')),
    (b'\r\n\r\n', (200, '', [], b'')),
    # the first blank line ends the headers, CRLF or LF, whichever comes first
    (b'A: 1\n\nB: 2\r\n\r\nrest', (200, '', [('A', '1')], b'B: 2\r\n\r\nrest')),
    (b'A: 1\r\n\r\nx\n\ny', (200, '', [('A', '1')], b'x\n\ny')),
    # folded (continued) header lines join their header; blank lines inside are skipped
    (b'X-Long: a\r\n\tb\r\n  c\r\nY:z\r\n\r\n', (200, '', [('X-Long', 'a b c'), ('Y', 'z')], b'')),
    (b'X-Empty:\r\n\tb\r\n\r\n', (200, '', [('X-Empty', 'b')], b'')),
    # Status anywhere, any case; the reason is optional; only the first one counts
    (b'Content-type: text/html\r\nstatus: 302\r\nLocation: /x\r\n\r\n',
     (302, '', [('Content-type', 'text/html'), ('status', '302'), ('Location', '/x')], b'')),
    (b'Status: 503 Service  Unavailable \r\nStatus: 200 OK\r\n\r\n',
     (503, 'Service  Unavailable', [('Status', '503 Service  Unavailable'), ('Status', '200 OK')], b'')),
    (b'Name:  spaced value  \n\n', (200, '', [('Name', 'spaced value')], b'')),
    (b'X-Bin: \xe9\r\n\r\n\xff', (200, '', [('X-Bin', '\xe9')], b'\xff')),
])
def test_parse_cgi_output_whole_result(stdout, expected):
    assert parse_cgi_output(stdout) == expected


@pytest.mark.parametrize('stdout, message', [
    (b'no blank line', 'malformed CGI response from tcp:127.0.0.1:9000: no blank line after the headers (starts with "no blank line")'),
    (b'\tfolded first\r\n\r\n', 'malformed CGI header line from tcp:127.0.0.1:9000: "\\tfolded first"'),
    (b'NoColon\r\n\r\n', 'malformed CGI header line from tcp:127.0.0.1:9000: "NoColon"'),
    (b': no name\r\n\r\n', 'malformed CGI header line from tcp:127.0.0.1:9000: ": no name"'),
    (b'Bad Name: x\r\n\r\n', 'malformed CGI header line from tcp:127.0.0.1:9000: "Bad Name: x"'),
    (b'Caf\xe9: x\r\n\r\n', 'malformed CGI header line from tcp:127.0.0.1:9000: "Caf\\xe9: x"'),
    (b'Status: abc\r\n\r\n', 'malformed CGI Status header from tcp:127.0.0.1:9000: "abc"'),
    (b'Status: 20\r\n\r\n', 'malformed CGI Status header from tcp:127.0.0.1:9000: "20"'),
    (b'Status: 2000 Big\r\n\r\n', 'malformed CGI Status header from tcp:127.0.0.1:9000: "2000 Big"'),
    (b'Status: 099 Low\r\n\r\n', 'malformed CGI Status header from tcp:127.0.0.1:9000: "099 Low"'),
    (b'Status:\r\n\r\n', 'malformed CGI Status header from tcp:127.0.0.1:9000: ""'),
])
def test_parse_cgi_output_rejects_with_a_message(stdout, message):
    with pytest.raises(FastCGIProtocolError) as info:
        parse_cgi_output(stdout, parse_listen('9000'))
    assert str(info.value) == message
    assert info.value.address == parse_listen('9000')


def test_parse_cgi_output_without_address_names_none():
    with pytest.raises(FastCGIProtocolError) as info:
        parse_cgi_output(b'NoColon\n\n')
    assert str(info.value) == 'malformed CGI header line: "NoColon"'


@pytest.mark.parametrize('value, message', [
    ('fe80::zz:9000', "'fe80::zz' is not an IPv6 address (write IPv6 addresses as [addr]:port)"),
    ('-web.internal:9000', "'-web.internal' is not a valid address or host name"),
    ('web-.internal:9000', "'web-.internal' is not a valid address or host name"),
    ('a..b:9000', "'a..b' is not a valid address or host name"),
    ('%s.org:9000' % ('x' * 64), "'%s.org' is not a valid address or host name" % ('x' * 64)),
    ('h\xe9.org:9000', "'h\xe9.org' is not a valid address or host name"),
])
def test_parse_listen_rejects_hosts_with_the_reason(value, message):
    with pytest.raises(FastCGIError) as info:
        parse_listen(value)
    assert message in str(info.value)


@pytest.mark.parametrize('value, host', [
    ('web_1.internal:9000', 'web_1.internal'), ('::1:9000', '::1'), ('web-1.internal.:9000', 'web-1.internal.'),
    ('%s.org:9000' % ('x' * 63), 'x' * 63 + '.org'),
])
def test_parse_listen_accepts_host_names(value, host):
    # (like FPM, '::1:9000' is host ::1 port 9000: the port is after the last ':')
    assert (parse_listen(value).host, parse_listen(value).port) == (host, 9000)


def test_address_keeps_the_listen_value():
    assert FastCGIAddress.unix('/x.sock').listen == '/x.sock'
    assert FastCGIAddress.unix('/x.sock', listen='unix:/x.sock').listen == 'unix:/x.sock'
    assert parse_listen('unix:/run/php/x.sock').listen == 'unix:/run/php/x.sock'
    assert parse_listen('[::]:9000').listen == '[::]:9000'


def test_build_php_params_whole():
    assert build_php_params('/srv/www/probe.php') == {
        'GATEWAY_INTERFACE': 'FastCGI/1.0', 'REQUEST_METHOD': 'GET', 'SCRIPT_FILENAME': '/srv/www/probe.php', 'SCRIPT_NAME': '/probe.php',
        'DOCUMENT_ROOT': '/srv/www', 'QUERY_STRING': '', 'REQUEST_URI': '/probe.php', 'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'SERVER_SOFTWARE': 'phpops.opcache', 'REMOTE_ADDR': '127.0.0.1', 'REMOTE_PORT': '0',
        'SERVER_ADDR': '127.0.0.1'}
    assert build_php_params('/probe.php', content_type='text/plain')['DOCUMENT_ROOT'] == '/'
    assert build_php_params('/probe.php', content_type='text/plain')['CONTENT_TYPE'] == 'text/plain'


def test_response_text_replaces_invalid_utf8():
    assert FastCGIResponse(body=b'ok \xff').text == u'ok \ufffd'


def test_parse_listen_normalises_a_leading_double_slash():
    # posixpath.normpath keeps a leading '//' (POSIX leaves its meaning open); FPM's path has one '/'
    assert parse_listen('//run/php//x.sock').path == '/run/php/x.sock'
    assert str(parse_listen('//run/php/x.sock')) == 'unix:/run/php/x.sock'


@pytest.mark.parametrize('value', ['::1]:9000', 'host]:9000', '[::1:9000', '[host:9000'])
def test_parse_listen_unbalanced_brackets(value):
    with pytest.raises(FastCGIError) as info:
        parse_listen(value)
    assert str(info.value) == 'invalid FastCGI listen value %r: unbalanced brackets around the address' % (value,)


def test_pairs_encode_booleans_and_numbers_as_php_reads_them():
    assert decode_pairs(encode_pairs({'A': True, 'B': False, 'C': 3, 'D': 1.5})) == [(b'A', b'1'), (b'B', b'0'), (b'C', b'3'), (b'D', b'1.5')]


def test_response_defaults():
    response = FastCGIResponse()
    assert (response.status, response.reason, response.headers, response.body, response.stderr, response.app_status) == (200, '', [], b'', b'', 0)


def test_build_php_params():
    params = build_php_params('/srv/www/probe.php', query_string='a=1', server_name='web1')
    assert params['REQUEST_METHOD'] == 'GET'
    assert params['SCRIPT_FILENAME'] == '/srv/www/probe.php'
    assert params['SCRIPT_NAME'] == '/probe.php'
    assert params['DOCUMENT_ROOT'] == '/srv/www'
    assert params['QUERY_STRING'] == 'a=1'
    assert params['REQUEST_URI'] == '/probe.php?a=1'
    assert params['SERVER_NAME'] == 'web1'
    assert params['SERVER_PROTOCOL'] == 'HTTP/1.1'
    assert params['GATEWAY_INTERFACE'] == 'FastCGI/1.0'
    assert params['REMOTE_ADDR'] == '127.0.0.1'
    assert params['SERVER_SOFTWARE'] == 'phpops.opcache'
    assert 'CONTENT_LENGTH' not in params
    post = build_php_params('/x/y.php', method='post', body=b'abc', extra={'SCRIPT_NAME': '/status', 'X': '1'})
    assert post['REQUEST_METHOD'] == 'POST' and post['CONTENT_LENGTH'] == '3'
    assert post['SCRIPT_NAME'] == '/status' and post['X'] == '1'
    assert post['CONTENT_TYPE'] == 'application/x-www-form-urlencoded'
    with pytest.raises(FastCGIError):
        build_php_params('relative.php')


def test_response_helpers():
    resp = FastCGIResponse(status=200, headers=[('Content-type', 'text/plain'), ('X-A', '1'), ('x-a', '2')], body=b'\xc3\xa9')
    assert resp.header('content-type') == 'text/plain' and resp.content_type == 'text/plain'
    assert resp.get_headers('X-A') == ['1', '2'] and resp.header('nope', 'd') == 'd'
    assert resp.text == u'\xe9' and 'status=200' in repr(resp)


def test_error_pickles_and_carries_address():
    exc = FastCGIConnectError('FastCGI tcp:127.0.0.1:1: connection refused', parse_listen('1'))
    assert isinstance(exc, FastCGIError) and exc.address == parse_listen('1')
    assert str(pickle.loads(pickle.dumps(FastCGIError('x')))) == 'x'


# ---------------------------------------------------------------------------
# against a fake server
# ---------------------------------------------------------------------------

def test_normal_response_and_request_shape():
    body = b'{"ok": true}'
    with serve(send_bytes(php_response(body, content_type=b'application/json'))) as srv:
        params = build_php_params('/srv/www/probe.php', query_string='x=1')
        resp = FastCGIClient(srv.listen, **FAST).request(params)
        captured = srv.last
    assert resp.status == 200 and resp.body == body and resp.stderr == b''
    assert resp.header('Content-Type') == 'application/json'
    assert resp.app_status == 0 and resp.protocol_status == 0 and resp.elapsed_ms >= 0
    assert captured.complete
    begin = captured.records[0]
    assert begin[1] == 1 and begin[2] == 1 and begin[3] == struct.pack('!HB5x', 1, 0)
    assert all(r[2] == 1 and r[0] == 1 for r in captured.records)
    sent = dict(decode_pairs(captured.stream(4)))
    assert sent[b'SCRIPT_FILENAME'] == b'/srv/www/probe.php' and sent[b'QUERY_STRING'] == b'x=1'
    assert captured.of_type(4)[-1][3] == b'' and captured.of_type(5)[-1][3] == b''


def _held(answered, wait=2.0):
    """Behaviour: like a script that flushes 'first', waits (bounded) for ``answered`` to be set by
    the client, then prints 'answered' or 'not answered' and ends."""
    def behaviour(conn, captured):
        conn.sendall(record(fake.STDOUT, b'Content-type: text/plain\r\n\r\nfirst;'))
        got = answered.wait(wait)
        conn.sendall(record(fake.STDOUT, b'answered' if got else b'not answered') + record(fake.STDOUT, b'') + end_request())
    return behaviour


def test_on_stdout_sees_partial_output_while_the_request_runs():
    answered = threading.Event()
    seen = []

    def on_stdout(data):
        seen.append(data)
        if data.endswith(b'first;'):
            answered.set()

    with serve(_held(answered)) as srv:
        resp = FastCGIClient(srv.listen, connect_timeout=0.5, read_timeout=3.0).request(PARAMS, on_stdout=on_stdout)
    assert resp.body == b'first;answered'
    assert seen[0].endswith(b'first;') and seen[-1].endswith(b'first;answered')


def test_on_stdout_error_ends_the_request_and_reaches_the_caller():
    class Refused(Exception):
        pass

    def on_stdout(data):
        raise Refused('no')

    with serve(_held(threading.Event(), wait=0.2)) as srv:
        with pytest.raises(Refused):
            FastCGIClient(srv.listen, connect_timeout=0.5, read_timeout=3.0).request(PARAMS, on_stdout=on_stdout)


def test_large_params_and_stdin_reach_server():
    params = dict(PARAMS, **dict(('V%d' % i, 'p' * 30000) for i in range(5)))
    stdin = os.urandom(200000)
    with serve(send_bytes(php_response(b'ok', status=b'201 Created'))) as srv:
        resp = FastCGIClient(srv.listen, **FAST).request(params, stdin)
        captured = srv.last
    assert resp.status == 201 and resp.reason == 'Created'
    assert captured.stream(5) == stdin
    assert all(len(r[3]) <= FCGI_MAX_CONTENT for r in captured.records)
    decoded = []
    for rec in captured.of_type(4):
        decoded.extend(decode_pairs(rec[3]))
    sent = dict(decoded)
    assert sent[b'V4'] == b'p' * 30000 and sent[b'CONTENT_LENGTH'] == b'200000'


def test_status_header_and_stderr():
    with serve(send_bytes(php_response(b'File not found.\n', status=b'404 Not Found', stderr=b'Primary script unknown'))) as srv:
        resp = FastCGIClient(srv.listen, **FAST).request(PARAMS)
    assert resp.status == 404 and resp.body == b'File not found.\n'
    assert resp.stderr == b'Primary script unknown'


def test_padding_other_ids_and_management_records():
    head = b'Content-type: text/plain\r\n\r\n'
    stream = (record(fake.GET_VALUES_RESULT, encode_pair('FCGI_MPXS_CONNS', '0'), request_id=0, padding=3)
              + record(fake.UNKNOWN_TYPE, bytes([42]) + b'\x00' * 7, request_id=0)
              + record(fake.STDOUT, b'WRONG REQUEST', request_id=2, padding=255)
              + record(fake.STDOUT, head + b'par', padding=255)
              + record(fake.UNKNOWN_TYPE, b'\x00' * 8, request_id=1)
              + record(fake.STDERR, b'warn', padding=0)
              + record(fake.STDOUT, b'', request_id=2)
              + record(fake.STDOUT, b'ted', padding=7)
              + record(fake.END_REQUEST, struct.pack('!IB3x', 9, 0), request_id=2)
              + record(fake.STDOUT, b'')
              + end_request(app_status=0))
    with serve(send_bytes(stream)) as srv:
        resp = FastCGIClient(srv.listen, **FAST).request(PARAMS)
    assert resp.body == b'parted' and resp.stderr == b'warn' and resp.status == 200


def test_response_split_into_many_small_sends():
    data = php_response(b'y' * 5000)

    def dribble(conn, captured):
        for i in range(0, len(data), 97):
            conn.sendall(data[i:i + 97])

    with serve(dribble) as srv:
        resp = FastCGIClient(srv.listen, **FAST).request(PARAMS)
    assert resp.body == b'y' * 5000


def test_big_response_in_many_records():
    body = os.urandom(300000)
    with serve(send_bytes(php_response(body))) as srv:
        resp = FastCGIClient(srv.listen, connect_timeout=1, read_timeout=3).request(PARAMS)
    assert resp.body == body


def test_unix_socket(tmpdir_short):
    path = os.path.join(tmpdir_short, 'fpm.sock')
    with serve(send_bytes(php_response(b'via unix')), unix_path=path) as srv:
        client = FastCGIClient(path, **FAST)
        assert str(client.address) == 'unix:' + path
        resp = client.request(PARAMS)
        assert srv.last.complete
    assert resp.body == b'via unix'


@pytest.mark.parametrize('stream, pattern', [
    (record(fake.STDOUT, b'Content-type: text/plain\r\n\r\nhal'), r'truncated.*before END_REQUEST'),
    (record(fake.STDOUT, b'Content-type: text/plain\r\n\r\nhalf a record')[:20], r'truncated.*middle of a record'),
    (record(fake.STDOUT, b'x')[:5], r'truncated'),
    (b'HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n', r'answered with HTTP \("HTTP/1.1 400 Bad Request"\)'),
    (b'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', r'not a FastCGI server: bad version byte 83'),
    (b'\x16\x03\x01\x00\x05hello', r'TLS'),
    (php_response(b'x')[:-16] + b'\x02' + b'\x00' * 15, r'bad version byte 2 in record'),
    (record(fake.STDOUT, b'no blank line at all') + end_request(), r'malformed CGI response'),
    (record(fake.STDOUT, b'Status: 2xx\r\n\r\n') + end_request(), r'malformed CGI Status'),
    (record(fake.STDOUT, b'Just text\r\n\r\n') + end_request(), r'malformed CGI header line'),
    (record(fake.END_REQUEST, b'\x00' * 4), r'malformed END_REQUEST'),
    (end_request(), r'empty response'),
    (record(fake.STDERR, b'PHP Fatal error') + end_request(), r'empty response.*PHP Fatal error'),
    (php_response(b'x')[:-16] + end_request(protocol_status=2), r'rejected the request: FCGI_OVERLOADED'),
    (php_response(b'x')[:-16] + end_request(protocol_status=3), r'FCGI_UNKNOWN_ROLE'),
    (php_response(b'x')[:-16] + end_request(protocol_status=77), r'unknown protocol status 77'),
])
def test_bad_responses(stream, pattern):
    with serve(send_bytes(stream)) as srv:
        with pytest.raises(FastCGIProtocolError, match=pattern) as info:
            FastCGIClient(srv.listen, **FAST).request(PARAMS)
        assert_one_line(info.value, srv.listen)


def test_bad_version_in_a_later_record_names_the_record_and_its_bytes():
    bad = record(fake.STDOUT, b'y' * 60, version=2)
    stream = record(fake.STDOUT, b'Content-type: text/plain\r\n\r\n') + record(fake.STDERR, b'warn') + bad + end_request()
    with serve(send_bytes(stream)) as srv:
        with pytest.raises(FastCGIProtocolError) as info:
            FastCGIClient(srv.listen, **FAST).request(PARAMS)
    shown = ''.join('\\x%02x' % b if b < 32 or b > 126 else chr(b) for b in bad[:40]) + '...'
    assert str(info.value) == 'FastCGI %s: protocol error: bad version byte 2 in record 3 (starts with "%s")' % (parse_listen(srv.listen), shown)


def test_immediately_closed_without_reading():
    with serve(lambda conn, captured: None, read_first=False) as srv:
        with pytest.raises(FastCGIProtocolError, match='without sending anything') as info:
            FastCGIClient(srv.listen, **FAST).request(PARAMS)
        assert_one_line(info.value, srv.listen)


def test_connection_reset():
    with serve(fake.reset) as srv:
        with pytest.raises(FastCGIProtocolError, match='reset|closed') as info:
            FastCGIClient(srv.listen, **FAST).request(PARAMS)
        assert_one_line(info.value, srv.listen)


def test_silent_server_times_out():
    with serve(fake.silent) as srv:
        started = time.monotonic()
        with pytest.raises(FastCGITimeout, match='read timeout') as info:
            FastCGIClient(srv.listen, connect_timeout=0.5, read_timeout=0.4).request(PARAMS)
        assert time.monotonic() - started < 1.5
        assert_one_line(info.value, srv.listen)


def test_trickling_server_hits_total_deadline():
    prefix = fake.HEADER.pack(1, fake.STDOUT, 1, 60000, 0) + b'Content-type: text/plain\r\n\r\n'
    with serve(fake.trickle(prefix, interval=0.02)) as srv:
        started = time.monotonic()
        with pytest.raises(FastCGITimeout, match='read timeout.*received') as info:
            FastCGIClient(srv.listen, connect_timeout=0.5, read_timeout=0.5).request(PARAMS)
        elapsed = time.monotonic() - started
        assert_one_line(info.value, srv.listen)
    assert 0.45 <= elapsed < 1.5


def test_oversized_stdout():
    with serve(send_bytes(php_response(b'z' * 50000))) as srv:
        with pytest.raises(FastCGIProtocolError, match='too large') as info:
            FastCGIClient(srv.listen, max_response_bytes=10000, **FAST).request(PARAMS)
        assert_one_line(info.value, srv.listen)


def test_oversized_flood_of_foreign_records():
    chunk = record(fake.STDOUT, b'f' * 60000, request_id=7)

    def flood(conn, captured):
        for _dummy in range(100):
            conn.sendall(chunk)

    with serve(flood) as srv:
        with pytest.raises(FastCGIProtocolError, match='too large'):
            FastCGIClient(srv.listen, max_response_bytes=10000, **FAST).request(PARAMS)


def test_connection_refused():
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(('127.0.0.1', 0))  # bound, never listening: connections are refused
    try:
        listen = '127.0.0.1:%d' % blocker.getsockname()[1]
        with pytest.raises(FastCGIConnectError, match='connection refused') as info:
            FastCGIClient(listen, **FAST).request(PARAMS)
        assert_one_line(info.value, listen)
    finally:
        blocker.close()


def test_connect_timeout():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(('127.0.0.1', 0))
    server.listen(0)
    fillers = []
    try:
        listen = '127.0.0.1:%d' % server.getsockname()[1]
        for _dummy in range(8):  # fill the accept queue so that further SYNs are dropped
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(('127.0.0.1', server.getsockname()[1]))
            except socket.timeout:
                break
        else:
            pytest.skip('the kernel accepted every connection: cannot provoke a connect timeout here')
        started = time.monotonic()
        with pytest.raises(FastCGITimeout, match='connect timeout') as info:
            FastCGIClient(listen, connect_timeout=0.3, read_timeout=0.3).request(PARAMS)
        assert time.monotonic() - started < 1.5
        assert_one_line(info.value, listen)
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_missing_socket(tmpdir_short):
    path = os.path.join(tmpdir_short, 'absent.sock')
    with pytest.raises(FastCGIConnectError, match='socket missing') as info:
        FastCGIClient(path, **FAST).request(PARAMS)
    assert_one_line(info.value, path)
    path = os.path.join(tmpdir_short, 'no-dir', 'absent.sock')
    with pytest.raises(FastCGIConnectError, match='directory .* does not exist'):
        FastCGIClient(path, **FAST).request(PARAMS)


def test_stale_socket_and_not_a_socket(tmpdir_short):
    stale = os.path.join(tmpdir_short, 'stale.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(stale)
    sock.close()
    with pytest.raises(FastCGIConnectError, match='connection refused: stale socket'):
        FastCGIClient(stale, **FAST).request(PARAMS)
    regular = os.path.join(tmpdir_short, 'regular')
    with open(regular, 'w') as handle:
        handle.write('x')
    with pytest.raises(FastCGIConnectError, match='not a socket'):
        FastCGIClient(regular, **FAST).request(PARAMS)


def _connect_as_nobody(path):
    """Fork, drop to nobody and try to connect; return the child's error message."""
    import pwd
    nobody = pwd.getpwnam('nobody')
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            try:
                FastCGIClient(path, **FAST).request(PARAMS)
                message = 'NO ERROR'
            except FastCGIConnectError as exc:
                message = 'FastCGIConnectError: ' + str(exc)
            except FastCGIError as exc:
                message = 'FastCGIError: ' + str(exc)
            os.write(write_fd, message.encode('utf-8'))
            code = 0
        finally:
            os._exit(code)  # pylint: disable=protected-access
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return b''.join(chunks).decode('utf-8')


def test_permission_denied(tmpdir_short):
    path = os.path.join(tmpdir_short, 'locked.sock')
    with serve(send_bytes(php_response(b'secret')), unix_path=path):
        os.chmod(path, 0o600 if os.geteuid() == 0 else 0o000)
        if os.geteuid() == 0:
            # root bypasses file modes: try as nobody in a forked child instead
            message = _connect_as_nobody(path)
            assert message.startswith('FastCGIConnectError: '), message
            assert 'user nobody' in message
        else:
            with pytest.raises(FastCGIConnectError) as info:
                FastCGIClient(path, **FAST).request(PARAMS)
            message = str(info.value)
    assert 'permission denied' in message and 'listen.owner' in message and path in message
    assert '\n' not in message


def test_unresolvable_host():
    with pytest.raises(FastCGIConnectError) as info:
        FastCGIClient('does-not-exist.invalid:9000', **FAST).request(PARAMS)
    assert_one_line(info.value, 'tcp:does-not-exist.invalid:9000')


# ---------------------------------------------------------------------------
# fuzzing the record parser
# ---------------------------------------------------------------------------

CONTENTS = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b'Content-type: text/plain\r\n\r\nok', b'Status: 404 Nope\n\nx', b'X-A: 1\r\n', b'\r\nbody',
                     b'\x00' * 8, b'\x00\x00\x00\x00\x02\x00\x00\x00']),
)


def _record_strategy(versions, types, ids):
    return st.builds(
        lambda version, rec_type, req_id, content, padding: fake.HEADER.pack(version, rec_type, req_id, len(content), padding)
        + content + b'\x00' * padding,
        versions, types, ids, CONTENTS, st.integers(0, 9))


ANY_RECORD = _record_strategy(st.sampled_from([1, 1, 1, 0, 2, 255]), st.integers(0, 255), st.sampled_from([1, 1, 0, 2, 65535]))
GOOD_RECORD = _record_strategy(st.just(1), st.sampled_from([6, 6, 6, 7, 3, 10, 11, 1, 2]), st.sampled_from([1, 1, 1, 1, 0, 2]))


def _flip(data, position, value):
    if not data:
        return data
    position %= len(data)
    return data[:position] + bytes([value]) + data[position + 1:]


STREAMS = st.one_of(
    st.binary(max_size=300),
    st.lists(ANY_RECORD, max_size=8).map(b''.join),
    st.lists(GOOD_RECORD, max_size=8).map(lambda recs: b''.join(recs) + end_request()),
    st.tuples(st.lists(GOOD_RECORD, max_size=6).map(b''.join), st.integers(0, 300)).map(lambda t: t[0][:t[1]]),
    st.tuples(st.lists(GOOD_RECORD, max_size=6).map(lambda recs: b''.join(recs) + end_request()),
              st.integers(0, 1000), st.integers(0, 255)).map(lambda t: _flip(*t)),
)


@pytest.fixture(scope='module')
def fuzz_server():
    srv = FakeFastCGIServer(send_bytes(b''))
    with srv:
        yield srv


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stream=STREAMS)
def test_fuzz_record_parser(fuzz_server, stream):
    fuzz_server.behaviour = send_bytes(stream)
    started = time.monotonic()
    try:
        resp = FastCGIClient(fuzz_server.listen, connect_timeout=1.0, read_timeout=1.0, max_response_bytes=4096).request(PARAMS)
    except FastCGIError as exc:
        assert_one_line(exc, fuzz_server.listen)
    else:
        assert isinstance(resp, FastCGIResponse) and isinstance(resp.status, int)
        assert isinstance(resp.body, bytes) and isinstance(resp.stderr, bytes)
    assert time.monotonic() - started < 1.5
