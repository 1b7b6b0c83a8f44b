# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""A small FastCGI client for talking to PHP-FPM pools (Python standard library only).

One request per connection (no keep-conn, no multiplexing), request id 1, role RESPONDER.
Every failure is raised as :class:`FastCGIError` (or a subclass) whose message is one line
naming the address and the cause: callers never see a raw socket traceback and never wait
longer than ``connect_timeout`` + ``read_timeout``.
"""

from __future__ import annotations

import errno
import os
import posixpath
import socket
import stat
import struct
import time

try:
    import pwd
except ImportError:  # pragma: no cover - non-POSIX platforms
    pwd = None

FCGI_VERSION_1 = 1

FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_DATA = 8
FCGI_GET_VALUES = 9
FCGI_GET_VALUES_RESULT = 10
FCGI_UNKNOWN_TYPE = 11

FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1

FCGI_REQUEST_COMPLETE = 0
FCGI_CANT_MPX_CONN = 1
FCGI_OVERLOADED = 2
FCGI_UNKNOWN_ROLE = 3

FCGI_MAX_CONTENT = 65535
FCGI_HEADER_LEN = 8
REQUEST_ID = 1

PROTOCOL_STATUS_NAMES = {
    FCGI_REQUEST_COMPLETE: 'FCGI_REQUEST_COMPLETE',
    FCGI_CANT_MPX_CONN: 'FCGI_CANT_MPX_CONN',
    FCGI_OVERLOADED: 'FCGI_OVERLOADED',
    FCGI_UNKNOWN_ROLE: 'FCGI_UNKNOWN_ROLE',
}

_HEADER = struct.Struct('!BBHHBx')
_BEGIN_BODY = struct.Struct('!HB5x')
_END_BODY = struct.Struct('!IB3x')
_LEN4 = struct.Struct('!I')

_MAX_PAIR_LENGTH = 0x7fffffff
_RECV_CHUNK = 65536


class FastCGIError(Exception):
    """Any FastCGI failure; ``str(exc)`` is a one-line message naming the address and the cause."""

    def __init__(self, message, address=None):
        super().__init__(message)
        self.message = message
        self.address = address


class FastCGIConnectError(FastCGIError):
    """The connection could not be established (missing socket, permission, refused...)."""


class FastCGITimeout(FastCGIError):
    """Connecting or reading the response took longer than allowed."""


class FastCGIProtocolError(FastCGIError):
    """The peer does not speak FastCGI correctly (bad version, truncated, malformed, oversized)."""


def _one_line(data, limit=80):
    """Render bytes or text as a short, single-line, printable excerpt."""
    if isinstance(data, bytes):
        data = data.decode('latin-1')
    data = str(data)
    out = []
    for char in data[:limit]:
        if char == '\n':
            out.append('\\n')
        elif char == '\r':
            out.append('\\r')
        elif char == '\t':
            out.append('\\t')
        elif ' ' <= char <= '~':
            out.append(char)
        else:
            out.append('\\x%02x' % (ord(char) & 0xff))
    text = ''.join(out)
    if len(data) > limit:
        text += '...'
    return text


# ---------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------

class FastCGIAddress:
    """Where to connect: ``family`` is ``'unix'`` (``path``) or ``'tcp'`` (``host``, ``port``).

    ``listen`` keeps the original FPM ``listen`` value. For a unix socket ``path`` is the path
    that is connected to (with the ``chroot`` prefix applied), ``target_path`` the path as the
    FPM configuration names it.
    """

    def __init__(self, family, path=None, host=None, port=None, listen=None, target_path=None):
        if family not in ('unix', 'tcp'):
            raise ValueError('family must be unix or tcp, not %r' % (family,))
        self.family = family
        self.path = path
        self.host = host
        self.port = port
        self.listen = listen
        self.target_path = target_path if target_path is not None else path

    @classmethod
    def unix(cls, path, listen=None):
        return cls('unix', path=path, listen=listen if listen is not None else path)

    @classmethod
    def tcp(cls, host, port, listen=None):
        return cls('tcp', host=host, port=int(port), listen=listen)

    def __str__(self):
        if self.family == 'unix':
            return 'unix:%s' % (self.path,)
        if ':' in (self.host or ''):
            return 'tcp:[%s]:%d' % (self.host, self.port)
        return 'tcp:%s:%d' % (self.host, self.port)

    def __repr__(self):
        return 'FastCGIAddress(%r)' % (str(self),)

    def __eq__(self, other):
        if not isinstance(other, FastCGIAddress):
            return NotImplemented
        return (self.family, self.path, self.host, self.port) == (other.family, other.path, other.host, other.port)

    def __ne__(self, other):
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    def __hash__(self):
        return hash((self.family, self.path, self.host, self.port))


def _is_ipv4(text):
    try:
        socket.inet_pton(socket.AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


def _is_ipv6(text):
    try:
        socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return False
    return True


def _valid_hostname(text):
    if not text or len(text) > 253:
        return False
    for label in text.rstrip('.').split('.'):
        if not label or len(label) > 63 or label.startswith('-') or label.endswith('-'):
            return False
        for char in label:
            if not (char.isascii() and (char.isalnum() or char in '-_')):
                return False
    return True


def parse_listen(value, chroot=None):
    """Turn a PHP-FPM ``listen`` value into a :class:`FastCGIAddress` to connect to.

    Follows FPM's own parsing (``fpm_sockets.c``): a value starting with ``/`` is a unix socket;
    otherwise the text after the last ``:`` is the port (IPv6 hosts in brackets), and a value that
    is only digits is a port on all interfaces. Wildcard addresses (bare port, ``*``, ``0.0.0.0``)
    are reached through ``127.0.0.1``, ``[::]`` through ``::1``.

    ``chroot`` (for example the ``root`` prefix under which the target's filesystem is mounted) is
    prepended to unix socket paths; ``target_path`` keeps the unprefixed path.
    ``unix:/path`` and ``tcp:host:port`` (what ``str(address)`` prints) are accepted as well.
    """
    if isinstance(value, bytes):
        try:
            value = value.decode('utf-8')
        except UnicodeDecodeError:
            raise FastCGIError('invalid FastCGI listen value %r: not valid UTF-8' % (value,))
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise FastCGIError('invalid FastCGI listen value %r: expected a string' % (value,))
    original = value
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '"\'':
        text = text[1:-1].strip()

    def bad(reason):
        return FastCGIError('invalid FastCGI listen value %r: %s' % (original, reason))

    if text.startswith('unix:'):
        text = text[5:]
        if not text.startswith('/'):
            raise bad('a unix socket path must be absolute')
    elif text.startswith('tcp:'):
        text = text[4:]

    if not text:
        raise bad('empty value')
    if '\x00' in text:
        raise bad('contains a NUL byte')

    if text.startswith('/'):
        path = posixpath.normpath(text)
        if path.startswith('//'):
            path = '/' + path.lstrip('/')
        real = path
        if chroot:
            real = posixpath.join(str(chroot).rstrip('/') or '/', path.lstrip('/'))
        return FastCGIAddress('unix', path=real, listen=original, target_path=path)

    host = None
    if ':' in text:
        host, _sep, port_text = text.rpartition(':')
        if host.startswith('[') and host.endswith(']'):
            host = host[1:-1]
            if not _is_ipv6(host):
                raise bad('%r is not an IPv6 address' % (host,))
        elif host.startswith('[') or host.endswith(']'):
            raise bad('unbalanced brackets around the address')
    else:
        port_text = text

    if not port_text or not port_text.isdigit() or not port_text.isascii():
        raise bad('port %r is not a number (a unix socket path must be absolute)' % (port_text,))
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise bad('port %d is out of range 1-65535' % (port,))

    if host is None or host in ('', '*', '0.0.0.0'):
        connect_host = '127.0.0.1'
    elif _is_ipv6(host):
        connect_host = '::1' if socket.inet_pton(socket.AF_INET6, host) == b'\x00' * 16 else host
    elif _is_ipv4(host):
        connect_host = host
    elif ':' in host:
        raise bad('%r is not an IPv6 address (write IPv6 addresses as [addr]:port)' % (host,))
    elif _valid_hostname(host):
        connect_host = host
    else:
        raise bad('%r is not a valid address or host name' % (host,))
    return FastCGIAddress('tcp', host=connect_host, port=port, listen=original)


# ---------------------------------------------------------------------------
# Name-value pairs and records
# ---------------------------------------------------------------------------

def _to_bytes(value, what):
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, bool):
        value = '1' if value else '0'
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str):
        try:
            return value.encode('utf-8', 'surrogateescape')
        except UnicodeEncodeError:
            raise FastCGIError('FastCGI %s "%s" cannot be encoded as UTF-8' % (what, _one_line(value, 40)))
    raise FastCGIError('FastCGI %s must be text or bytes, not %s' % (what, type(value).__name__))


def encode_length(length):
    """Encode one name or value length: 1 byte below 128, else 4 bytes with the high bit set."""
    if length < 0 or length > _MAX_PAIR_LENGTH:
        raise FastCGIError('FastCGI name/value length %d out of range' % (length,))
    if length < 128:
        return bytes((length,))
    return _LEN4.pack(length | 0x80000000)


def encode_pair(name, value):
    """Encode one FastCGI name-value pair (text is UTF-8 encoded)."""
    name_b = _to_bytes(name, 'parameter name')
    value_b = _to_bytes(value, 'parameter value')
    return encode_length(len(name_b)) + encode_length(len(value_b)) + name_b + value_b


def encode_pairs(params):
    """Encode a mapping (or an iterable of pairs) into one name-value byte stream."""
    items = params.items() if hasattr(params, 'items') else params
    return b''.join(encode_pair(name, value) for name, value in items)


def _decode_length(data, pos):
    if pos >= len(data):
        raise FastCGIProtocolError('malformed name-value pair: truncated length at offset %d' % (pos,))
    first = data[pos]
    if first < 128:
        return first, pos + 1
    if pos + 4 > len(data):
        raise FastCGIProtocolError('malformed name-value pair: truncated 4-byte length at offset %d' % (pos,))
    return _LEN4.unpack_from(data, pos)[0] & 0x7fffffff, pos + 4


def decode_pairs(data):
    """Decode a name-value byte stream into a list of ``(name, value)`` bytes tuples."""
    data = bytes(data)
    pairs = []
    pos = 0
    end = len(data)
    while pos < end:
        name_len, pos = _decode_length(data, pos)
        value_len, pos = _decode_length(data, pos)
        if pos + name_len + value_len > end:
            raise FastCGIProtocolError('malformed name-value pair: %d bytes announced, %d left' % (name_len + value_len, end - pos))
        name = data[pos:pos + name_len]
        pos += name_len
        value = data[pos:pos + value_len]
        pos += value_len
        pairs.append((name, value))
    return pairs


def encode_record(rec_type, content=b'', request_id=REQUEST_ID, pad_to=8):
    """One record: header, content (at most 65535 bytes) and padding to a multiple of ``pad_to``."""
    if len(content) > FCGI_MAX_CONTENT:
        raise FastCGIError('FastCGI record content of %d bytes exceeds %d' % (len(content), FCGI_MAX_CONTENT))
    padding = (-len(content)) % pad_to if pad_to > 1 else 0
    return _HEADER.pack(FCGI_VERSION_1, rec_type, request_id, len(content), padding) + content + b'\x00' * padding


def encode_stream(rec_type, data, request_id=REQUEST_ID):
    """A stream (STDIN, DATA): the data in records of at most 65535 bytes, then an empty record."""
    records = []
    for start in range(0, len(data), FCGI_MAX_CONTENT):
        records.append(encode_record(rec_type, data[start:start + FCGI_MAX_CONTENT], request_id))
    records.append(encode_record(rec_type, b'', request_id))
    return b''.join(records)


def encode_params(params, request_id=REQUEST_ID):
    """PARAMS records followed by the empty PARAMS record that ends the stream.

    Pairs are never split across records: PHP-FPM parses every PARAMS record on its own
    (``fcgi_get_params``), so a pair that does not fit in one record (65535 bytes) is refused here.
    """
    items = params.items() if hasattr(params, 'items') else params
    records = []
    chunk = []
    chunk_len = 0
    for name, value in items:
        pair = encode_pair(name, value)
        if len(pair) > FCGI_MAX_CONTENT:
            raise FastCGIError('FastCGI parameter %s is too large (%d bytes encoded): PHP-FPM needs every name-value pair '
                               'in one record of at most %d bytes' % (_one_line(_to_bytes(name, 'parameter name'), 40),
                                                                      len(pair), FCGI_MAX_CONTENT))
        if chunk_len + len(pair) > FCGI_MAX_CONTENT:
            records.append(encode_record(FCGI_PARAMS, b''.join(chunk), request_id))
            chunk = []
            chunk_len = 0
        chunk.append(pair)
        chunk_len += len(pair)
    if chunk:
        records.append(encode_record(FCGI_PARAMS, b''.join(chunk), request_id))
    records.append(encode_record(FCGI_PARAMS, b'', request_id))
    return b''.join(records)


def encode_begin_request(role=FCGI_RESPONDER, flags=0, request_id=REQUEST_ID):
    return encode_record(FCGI_BEGIN_REQUEST, _BEGIN_BODY.pack(role, flags), request_id)


def build_request(params, stdin=b'', request_id=REQUEST_ID):
    """The whole byte string a client sends for one RESPONDER request (no keep-conn)."""
    return (encode_begin_request(FCGI_RESPONDER, 0, request_id)
            + encode_params(params, request_id)
            + encode_stream(FCGI_STDIN, stdin, request_id))


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------

class FastCGIResponse:
    """A parsed FastCGI/CGI response.

    ``status`` comes from the CGI ``Status:`` header (200 when absent): PHP-FPM always sends
    ``app_status`` 0, so ``app_status`` says nothing about success.
    """

    def __init__(self, status=200, headers=None, body=b'', stderr=b'', app_status=0,
                 protocol_status=FCGI_REQUEST_COMPLETE, elapsed_ms=0.0, reason=''):
        self.status = status
        self.reason = reason
        self.headers = headers if headers is not None else []
        self.body = body
        self.stderr = stderr
        self.app_status = app_status
        self.protocol_status = protocol_status
        self.elapsed_ms = elapsed_ms

    def header(self, name, default=None):
        """First value of header ``name`` (case-insensitive), or ``default``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def get_headers(self, name):
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def content_type(self):
        return self.header('Content-Type')

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def __repr__(self):
        return 'FastCGIResponse(status=%d, body=%d bytes, stderr=%d bytes, elapsed_ms=%.1f)' % (
            self.status, len(self.body), len(self.stderr), self.elapsed_ms)


def parse_cgi_output(stdout, address=None):
    """Split CGI output into ``(status, reason, headers, body)``; raise FastCGIProtocolError if malformed."""
    where = ' from %s' % (address,) if address is not None else ''
    crlf = stdout.find(b'\r\n\r\n')
    lf = stdout.find(b'\n\n')
    if crlf < 0 and lf < 0:
        raise FastCGIProtocolError('malformed CGI response%s: no blank line after the headers (starts with "%s")'
                                   % (where, _one_line(stdout, 60)), address)
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, body = stdout[:crlf], stdout[crlf + 4:]
    else:
        head, body = stdout[:lf], stdout[lf + 2:]
    headers = []
    for raw_line in head.split(b'\n'):
        line = raw_line[:-1] if raw_line.endswith(b'\r') else raw_line
        if not line:
            continue
        text = line.decode('latin-1')
        if text[0] in ' \t' and headers:
            name, value = headers[-1]
            headers[-1] = (name, (value + ' ' + text.strip()).strip())
            continue
        name, sep, value = text.partition(':')
        name = name.strip()
        if not sep or not name or any(c <= ' ' or c > '~' for c in name):
            raise FastCGIProtocolError('malformed CGI header line%s: "%s"' % (where, _one_line(line, 60)), address)
        headers.append((name, value.strip()))
    status = 200
    reason = ''
    for name, value in headers:
        if name.lower() == 'status':
            code, _sep, reason = value.partition(' ')
            if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] == '0':
                raise FastCGIProtocolError('malformed CGI Status header%s: "%s"' % (where, _one_line(value, 60)), address)
            status = int(code)
            reason = reason.strip()
            break
    return status, reason, headers, body


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------

def _whoami():
    uid = os.geteuid()
    name = None
    if pwd is not None:
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = None
    if name:
        return 'user %s (uid %d)' % (name, uid)
    return 'uid %d' % (uid,)


def _as_address(address):
    if isinstance(address, FastCGIAddress):
        return address
    return parse_listen(address)


class _Truncated(Exception):
    pass


class FastCGIClient:
    """Send one FastCGI RESPONDER request per connection and read the whole response.

    ``connect_timeout`` bounds the connection; ``read_timeout`` is a total deadline for sending
    the request and reading the whole response (a peer that trickles bytes still times out);
    ``max_response_bytes`` bounds STDOUT + STDERR.
    """

    def __init__(self, address, connect_timeout=3.0, read_timeout=10.0, max_response_bytes=16 * 1024 * 1024):
        self.address = _as_address(address)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.max_response_bytes = int(max_response_bytes)

    # -- errors -------------------------------------------------------------

    def _fail(self, cls, cause):
        return cls('FastCGI %s: %s' % (self.address, cause), self.address)

    def _connect_error(self, exc):
        err = getattr(exc, 'errno', None)
        addr = self.address
        if isinstance(exc, socket.timeout):
            return self._fail(FastCGITimeout, 'connect timeout after %.1f s' % (self.connect_timeout,))
        if isinstance(exc, socket.gaierror):
            return self._fail(FastCGIConnectError, 'cannot resolve host %r (%s)' % (addr.host, exc.strerror or exc))
        if err in (errno.EACCES, errno.EPERM):
            return self._fail(FastCGIConnectError,
                              'permission denied (running as %s): run as root or as the pool\'s listen.owner/listen.group, '
                              'or widen listen.mode' % (_whoami(),))
        if addr.family == 'unix':
            if err == errno.ENOENT:
                parent = posixpath.dirname(addr.path)
                if parent and not os.path.isdir(parent):
                    return self._fail(FastCGIConnectError, 'socket missing: directory %s does not exist (is php-fpm running?)' % (parent,))
                return self._fail(FastCGIConnectError, 'socket missing: no such file (is php-fpm running, is the listen path right?)')
            if err == errno.ENOTDIR:
                return self._fail(FastCGIConnectError, 'socket missing: a component of the path is not a directory')
            if err == errno.ECONNREFUSED:
                try:
                    is_sock = stat.S_ISSOCK(os.stat(addr.path).st_mode)
                except OSError:
                    is_sock = True
                if not is_sock:
                    return self._fail(FastCGIConnectError, 'connection refused: the path exists but is not a socket')
                return self._fail(FastCGIConnectError, 'connection refused: stale socket, nothing is listening (is php-fpm running?)')
            if err in (errno.EAGAIN, errno.EWOULDBLOCK):
                return self._fail(FastCGIConnectError, 'listen backlog is full (the pool is overloaded)')
        if err == errno.ECONNREFUSED:
            return self._fail(FastCGIConnectError, 'connection refused (is php-fpm listening on this address?)')
        if err in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return self._fail(FastCGIConnectError, 'address unreachable (%s)' % (exc.strerror or exc,))
        return self._fail(FastCGIConnectError, 'cannot connect: %s' % (_one_line(getattr(exc, 'strerror', None) or str(exc) or repr(exc), 200),))

    # -- connection ---------------------------------------------------------

    def _connect(self):
        addr = self.address
        if addr.family == 'unix':
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.connect_timeout)
                sock.connect(addr.path)
            except (OSError, ValueError) as exc:
                sock.close()
                if isinstance(exc, ValueError):
                    raise self._fail(FastCGIConnectError, 'invalid socket path (%s)' % (exc,))
                raise self._connect_error(exc)
            return sock
        try:
            return socket.create_connection((addr.host, addr.port), timeout=self.connect_timeout)
        except (OSError, UnicodeError, OverflowError) as exc:
            if not isinstance(exc, OSError):
                raise self._fail(FastCGIConnectError, 'invalid address (%s)' % (exc,))
            raise self._connect_error(exc)

    # -- request ------------------------------------------------------------

    def request(self, params, stdin=b'', on_stdout=None):
        """Run one request and return a :class:`FastCGIResponse`; raise :class:`FastCGIError` on any failure.

        ``on_stdout(data)``, when given, is called with all STDOUT received so far after every STDOUT
        record, while the request still runs: a script that flushes part of its output and then waits
        can be answered before it goes on (what the verified reset does). An exception it raises
        ends the request (the connection is closed) and reaches the caller."""
        if stdin is None:
            stdin = b''
        stdin = _to_bytes(stdin, 'stdin')
        params = dict(params or {})
        if stdin and not any(str(k) == 'CONTENT_LENGTH' for k in params):
            params['CONTENT_LENGTH'] = str(len(stdin))
        try:
            payload = build_request(params, stdin)
        except FastCGIError as exc:
            raise self._fail(FastCGIError, exc.message)
        started = time.monotonic()
        sock = self._connect()
        try:
            deadline = time.monotonic() + self.read_timeout
            self._send(sock, payload, deadline)
            return self._read_response(sock, deadline, started, on_stdout)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _send(self, sock, payload, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._fail(FastCGITimeout, 'read timeout: no complete response within %.1f s' % (self.read_timeout,))
        try:
            sock.settimeout(remaining)
            sock.sendall(payload)
        except socket.timeout:
            raise self._fail(FastCGITimeout, 'timeout while sending the request (the server is not reading; total deadline %.1f s)'
                             % (self.read_timeout,))
        except OSError as exc:
            # The peer may have answered and closed (e.g. an HTTP server): try to read what it sent.
            if exc.errno in (errno.EPIPE, errno.ECONNRESET):
                return
            raise self._fail(FastCGIError, 'error while sending the request: %s' % (_one_line(exc.strerror or str(exc), 200),))

    def _read_response(self, sock, deadline, started, on_stdout=None):
        buf = bytearray()
        state = {'total': 0}
        raw_limit = 2 * self.max_response_bytes + 4 * (FCGI_MAX_CONTENT + 263)

        def fill(needed):
            """Make sure ``buf`` holds at least ``needed`` bytes; raise _Truncated on EOF."""
            while len(buf) < needed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._fail(FastCGITimeout, 'read timeout: no complete response within %.1f s (received %d bytes)'
                                     % (self.read_timeout, state['total']))
                try:
                    sock.settimeout(remaining)
                    chunk = sock.recv(_RECV_CHUNK)
                except socket.timeout:
                    raise self._fail(FastCGITimeout, 'read timeout: no complete response within %.1f s (received %d bytes)'
                                     % (self.read_timeout, state['total']))
                except OSError as exc:
                    if exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
                        raise _Truncated('connection reset by peer')
                    raise self._fail(FastCGIError, 'error while reading the response: %s' % (_one_line(exc.strerror or str(exc), 200),))
                if not chunk:
                    raise _Truncated('peer closed the connection')
                state['total'] += len(chunk)
                if state['total'] > raw_limit:
                    raise self._fail(FastCGIProtocolError, 'response too large: more than %d bytes received (max_response_bytes=%d)'
                                     % (raw_limit, self.max_response_bytes))
                buf.extend(chunk)

        stdout = bytearray()
        stderr = bytearray()
        records = 0
        while True:
            try:
                fill(FCGI_HEADER_LEN)
            except _Truncated as exc:
                if records == 0 and state['total'] == 0:
                    raise self._fail(FastCGIProtocolError, '%s without sending anything (not a FastCGI server, or the pool '
                                     'refused the client: check listen.allowed_clients)' % (exc,))
                raise self._fail(FastCGIProtocolError, 'response truncated: %s before END_REQUEST (received %d bytes)'
                                 % (exc, state['total']))
            version, rec_type, request_id, content_len, padding_len = _HEADER.unpack_from(buf, 0)
            if version != FCGI_VERSION_1:
                raise self._fail(FastCGIProtocolError, self._not_fastcgi(bytes(buf[:64]), records, version))
            record_len = FCGI_HEADER_LEN + content_len + padding_len
            try:
                fill(record_len)
            except _Truncated as exc:
                raise self._fail(FastCGIProtocolError, 'response truncated: %s in the middle of a record before END_REQUEST '
                                 '(received %d bytes)' % (exc, state['total']))
            content = bytes(buf[FCGI_HEADER_LEN:FCGI_HEADER_LEN + content_len])
            del buf[:record_len]
            records += 1

            if request_id != REQUEST_ID:
                # Management records (request id 0: GET_VALUES_RESULT, UNKNOWN_TYPE) and records of
                # other requests are not ours.
                continue
            if rec_type == FCGI_STDOUT:
                stdout.extend(content)
                if on_stdout is not None and content:
                    on_stdout(bytes(stdout))
            elif rec_type == FCGI_STDERR:
                stderr.extend(content)
            elif rec_type == FCGI_END_REQUEST:
                if content_len < _END_BODY.size:
                    raise self._fail(FastCGIProtocolError, 'malformed END_REQUEST record (%d bytes of content, expected 8)' % (content_len,))
                app_status, protocol_status = _END_BODY.unpack_from(content, 0)
                elapsed_ms = round((time.monotonic() - started) * 1000.0, 3)
                return self._finish(stdout, stderr, app_status, protocol_status, elapsed_ms)
            # Other record types for our id (GET_VALUES_RESULT, UNKNOWN_TYPE, ...) are ignored.
            if len(stdout) + len(stderr) > self.max_response_bytes:
                raise self._fail(FastCGIProtocolError, 'response too large: more than max_response_bytes=%d bytes of output'
                                 % (self.max_response_bytes,))

    def _not_fastcgi(self, head, records, version):
        if records == 0:
            if head.startswith(b'HTTP/'):
                return ('not a FastCGI server: the peer answered with HTTP ("%s"); point the client at the php-fpm listen '
                        'address, not the web server' % (_one_line(head.split(b'\n', 1)[0].rstrip(b'\r'), 60),))
            if head[:1] in (b'\x15', b'\x16') and head[1:2] == b'\x03':
                return 'not a FastCGI server: the peer answered with TLS'
            return 'not a FastCGI server: bad version byte %d in the first record (starts with "%s")' % (version, _one_line(head, 40))
        return 'protocol error: bad version byte %d in record %d (starts with "%s")' % (version, records + 1, _one_line(head, 40))

    def _finish(self, stdout, stderr, app_status, protocol_status, elapsed_ms):
        stdout = bytes(stdout)
        stderr = bytes(stderr)
        if protocol_status != FCGI_REQUEST_COMPLETE:
            name = PROTOCOL_STATUS_NAMES.get(protocol_status, 'unknown protocol status %d' % (protocol_status,))
            raise self._fail(FastCGIProtocolError, 'the server rejected the request: %s' % (name,))
        if not stdout:
            detail = ''
            if stderr:
                detail = ' (stderr: %s)' % (_one_line(stderr, 120),)
            raise self._fail(FastCGIProtocolError, 'empty response: no CGI headers on STDOUT%s' % (detail,))
        try:
            status, reason, headers, body = parse_cgi_output(stdout)
        except FastCGIProtocolError as exc:
            raise self._fail(FastCGIProtocolError, exc.message)
        return FastCGIResponse(status=status, headers=headers, body=body, stderr=stderr, app_status=app_status,
                               protocol_status=protocol_status, elapsed_ms=elapsed_ms, reason=reason)


def build_php_params(script_filename, query_string='', method='GET', server_name='localhost', extra=None, body=None,
                     content_type=None):
    """The FastCGI params PHP-FPM needs to run ``script_filename``.

    ``SCRIPT_NAME`` is ``/<basename>`` and ``DOCUMENT_ROOT`` the script's directory. Pass ``body``
    (bytes) to set ``CONTENT_LENGTH`` (and ``CONTENT_TYPE``, form-encoded unless ``content_type``
    says otherwise). ``extra`` is applied last and overrides anything (for example
    ``{'SCRIPT_NAME': '/status'}`` to reach ``pm.status_path``).
    """
    script_filename = str(script_filename)
    if not posixpath.isabs(script_filename):
        raise FastCGIError('SCRIPT_FILENAME must be an absolute path, not %r' % (script_filename,))
    method = str(method or 'GET').upper()
    query_string = str(query_string or '')
    script_name = '/' + posixpath.basename(script_filename)
    params = {
        'GATEWAY_INTERFACE': 'FastCGI/1.0',
        'REQUEST_METHOD': method,
        'SCRIPT_FILENAME': script_filename,
        'SCRIPT_NAME': script_name,
        'DOCUMENT_ROOT': posixpath.dirname(script_filename) or '/',
        'QUERY_STRING': query_string,
        'REQUEST_URI': script_name + ('?' + query_string if query_string else ''),
        'SERVER_NAME': server_name,
        'SERVER_PORT': '80',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'SERVER_SOFTWARE': 'phpops.opcache',
        'REMOTE_ADDR': '127.0.0.1',
        'REMOTE_PORT': '0',
        'SERVER_ADDR': '127.0.0.1',
    }
    if body is not None:
        params['CONTENT_LENGTH'] = str(len(body))
        params['CONTENT_TYPE'] = content_type or 'application/x-www-form-urlencoded'
    elif content_type:
        params['CONTENT_TYPE'] = content_type
    if extra:
        for key, value in extra.items():
            params[key] = value
    return params
