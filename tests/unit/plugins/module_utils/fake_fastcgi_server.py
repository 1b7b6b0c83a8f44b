# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""A scriptable fake FastCGI server for the unit tests of plugins/module_utils/fastcgi.py.

It listens on 127.0.0.1 (ephemeral port) or on a unix socket, serves connections one at a time
in a daemon thread, captures the request records the client sent and then runs a *behaviour*
(a callable ``behaviour(conn, captured)``) that writes whatever the test wants. Everything is
bounded: sockets have timeouts and ``close()`` stops the thread.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

HEADER = struct.Struct('!BBHHBx')

BEGIN_REQUEST = 1
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11


def record(rec_type, content=b'', request_id=1, padding=None, version=1):
    """Encode one record; ``padding`` None pads to a multiple of 8 like PHP-FPM does."""
    if padding is None:
        padding = (-len(content)) % 8
    return HEADER.pack(version, rec_type, request_id, len(content), padding) + content + b'\x00' * padding


def end_request(app_status=0, protocol_status=0, request_id=1):
    return record(END_REQUEST, struct.pack('!IB3x', app_status, protocol_status), request_id)


def stdout_records(data, request_id=1, chunk=65535, padding=None):
    out = []
    for start in range(0, len(data), chunk):
        out.append(record(STDOUT, data[start:start + chunk], request_id, padding))
    out.append(record(STDOUT, b'', request_id))
    return b''.join(out)


def php_response(body=b'', status=None, content_type=b'text/html; charset=UTF-8', stderr=b'', extra_headers=()):
    """The bytes PHP-FPM would send for a script that prints ``body``."""
    head = []
    if status is not None:
        head.append(b'Status: ' + status)
    head.append(b'X-Powered-By: PHP/8.2.0')
    head.extend(extra_headers)
    head.append(b'Content-type: ' + content_type)
    out = b''
    if stderr:
        out += record(STDERR, stderr)
    out += stdout_records(b'\r\n'.join(head) + b'\r\n\r\n' + body)
    return out + end_request()


class Captured:
    """What the client sent on one connection."""

    def __init__(self):
        self.records = []  # (version, type, request_id, content, padding_len)
        self.complete = False

    def stream(self, rec_type):
        return b''.join(r[3] for r in self.records if r[1] == rec_type)

    def of_type(self, rec_type):
        return [r for r in self.records if r[1] == rec_type]


def decode_pairs(data):
    pairs = []
    pos = 0
    while pos < len(data):
        lens = []
        for _dummy in range(2):
            if data[pos] < 128:
                lens.append(data[pos])
                pos += 1
            else:
                lens.append(struct.unpack_from('!I', data, pos)[0] & 0x7fffffff)
                pos += 4
        name = data[pos:pos + lens[0]]
        pos += lens[0]
        value = data[pos:pos + lens[1]]
        pos += lens[1]
        pairs.append((name, value))
    return pairs


def _recv_exact(conn, size):
    data = b''
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_request(conn, captured, timeout=2.0):
    """Read records until the empty STDIN record (or EOF / timeout)."""
    conn.settimeout(timeout)
    try:
        while True:
            head = _recv_exact(conn, 8)
            if head is None:
                return
            version, rec_type, request_id, length, padding = HEADER.unpack(head)
            body = _recv_exact(conn, length + padding) if length + padding else b''
            if body is None:
                return
            captured.records.append((version, rec_type, request_id, body[:length], padding))
            if rec_type == STDIN and length == 0:
                captured.complete = True
                return
    except (socket.timeout, OSError):
        return


def send_bytes(data):
    """Behaviour: answer with exactly ``data`` and close."""
    def behaviour(conn, captured):
        conn.sendall(data)
    return behaviour


def trickle(prefix=b'', interval=0.03, byte=b'x'):
    """Behaviour: send ``prefix`` then one byte every ``interval`` seconds until the client leaves."""
    def behaviour(conn, captured, server=None):
        conn.sendall(prefix)
        while not server.stopping.is_set():
            conn.sendall(byte)
            time.sleep(interval)
    behaviour.wants_server = True
    return behaviour


def silent(conn, captured, server=None):
    """Behaviour: read the request, then say nothing until the client leaves."""
    conn.settimeout(0.05)
    while not server.stopping.is_set():
        try:
            if not conn.recv(1024):
                return
        except socket.timeout:
            continue


silent.wants_server = True


def reset(conn, captured):
    """Behaviour: abort the connection with a RST."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))


class FakeFastCGIServer:
    """``with FakeFastCGIServer(behaviour) as srv: FastCGIClient(srv.address)...``"""

    def __init__(self, behaviour=None, unix_path=None, read_first=True, max_connections=10000):
        self.behaviour = behaviour or send_bytes(php_response(b'ok'))
        self.read_first = read_first
        self.unix_path = unix_path
        self.max_connections = max_connections
        self.captured = []
        self.errors = []
        self.stopping = threading.Event()
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.listen = unix_path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(('127.0.0.1', 0))
            self.port = self.sock.getsockname()[1]
            self.listen = '127.0.0.1:%d' % self.port
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.thread = threading.Thread(target=self._serve, name='fake-fastcgi', daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        try:
            self.sock.close()
        except OSError:
            pass

    @property
    def last(self):
        return self.captured[-1] if self.captured else None

    def _serve(self):
        served = 0
        while not self.stopping.is_set() and served < self.max_connections:
            try:
                conn, _peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            served += 1
            captured = Captured()
            self.captured.append(captured)
            try:
                conn.settimeout(2.0)
                if self.read_first:
                    read_request(conn, captured)
                behaviour = self.behaviour
                if getattr(behaviour, 'wants_server', False):
                    behaviour(conn, captured, server=self)
                else:
                    behaviour(conn, captured)
            except (OSError, socket.timeout) as exc:
                # The client going away mid-answer is expected in many tests.
                self.errors.append(exc)
            finally:
                try:
                    conn.close()
                except OSError:
                    pass
