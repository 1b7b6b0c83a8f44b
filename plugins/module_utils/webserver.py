# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Follow a URL through the web server's configuration to the FastCGI address that serves it.

nginx: the output of ``nginx -T`` (every configuration file, as nginx read it) is parsed into
directive trees, ``include`` is expanded from the dumped files, and the URL is routed the way nginx
does it (listen port, server_name, location: exact, longest prefix, ``^~``, regular expressions in
order, ``try_files`` fallbacks and ``index``) to ``fastcgi_pass`` (through an ``upstream`` when named).
Apache: the configuration files are read (``Include``/``IncludeOptional``), and ``proxy_fcgi``
handlers (``SetHandler "proxy:unix:...|fcgi://..."`` inside ``<FilesMatch>``, ``ProxyPassMatch``)
are matched against the URL's virtual host and path.

Everything here is pure except :func:`run_nginx_dump`, which runs ``nginx -T`` (read-only), and
:func:`fpm_document_roots` / :func:`live_document_roots`, which run it (when nginx exists, with a
time limit) and read Apache's files to find the document roots of a host's pools for the live view."""

from __future__ import annotations

import fnmatch
import glob
import os
import posixpath
import re

from urllib.parse import urlsplit

DUMP_HEADER = re.compile(r'^# configuration file (.+):$')
MAX_INTERNAL_REDIRECTS = 5


class WebServerError(Exception):
    """The web server's configuration cannot be read or parsed (the message names the file)."""


# ---------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------

def run_nginx_dump(run, binary='nginx', conf=None):
    """Run ``nginx -T`` (tests and prints the configuration; changes nothing). ``run(argv)`` returns
    ``(rc, stdout, stderr)``. Returns stdout, or raises WebServerError with nginx's own complaint."""
    argv = [binary, '-T'] + (['-c', conf] if conf else [])
    try:
        rc, out, err = run(argv)
    except (OSError, IOError) as error:
        raise WebServerError('cannot run %s: %s' % (' '.join(argv), error))
    if rc != 0:
        lines = [line for line in (err or '').splitlines() if line.strip()]
        raise WebServerError('%s failed (exit %s): %s' % (' '.join(argv), rc, lines[-1] if lines else 'no message'))
    return out


def split_nginx_dump(text):
    """``{path: text}`` and the order of the files in ``nginx -T`` output (the main file first)."""
    files = {}
    order = []
    current = None
    lines = []
    for line in text.splitlines():
        match = DUMP_HEADER.match(line)
        if match:
            if current is not None:
                files[current] = '\n'.join(lines)
            current = match.group(1)
            order.append(current)
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        files[current] = '\n'.join(lines)
    if not order:
        raise WebServerError('the nginx -T output holds no "# configuration file" section')
    return files, order


def _unescape(char):
    """nginx keeps a backslash except before a quote or a backslash (t, r and n become controls)."""
    if char in '"\'\\':
        return char
    return {'t': '\t', 'r': '\r', 'n': '\n'}.get(char, '\\' + char)


def tokenize_nginx(text, path):
    """Tokens ``(kind, value, line)``: kind ``word`` (quotes removed), ``;``, ``{`` or ``}``."""
    tokens = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == '\n':
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == '#':
            while i < n and text[i] != '\n':
                i += 1
        elif c in ';{}':
            tokens.append((c, c, line))
            i += 1
        elif c in '"\'':
            start_line = line
            j = i + 1
            value = []
            while j < n and text[j] != c:
                if text[j] == '\\' and j + 1 < n:
                    value.append(_unescape(text[j + 1]))
                    j += 2
                    continue
                if text[j] == '\n':
                    line += 1
                value.append(text[j])
                j += 1
            if j >= n:
                raise WebServerError('%s:%d: unterminated quoted string' % (path, start_line))
            tokens.append(('word', ''.join(value), start_line))
            i = j + 1
        else:
            j = i
            value = []
            while j < n and not text[j].isspace() and text[j] not in ';{}':
                if text[j] == '\\' and j + 1 < n:
                    value.append(_unescape(text[j + 1]))
                    j += 2
                    continue
                if text[j] in '"\'' and j == i:
                    break
                value.append(text[j])
                j += 1
            tokens.append(('word', ''.join(value), line))
            i = j
    return tokens


def parse_nginx(text, path):
    """Directive tree of one file: ``[{'name', 'args', 'file', 'line', 'block': None|[...]}]``."""
    tokens = tokenize_nginx(text, path)
    root = []
    stack = [root]
    words = []
    for kind, value, line in tokens:
        if kind == 'word':
            words.append((value, line))
        elif kind in ';{':
            if not words:
                if kind == ';':
                    continue
                raise WebServerError('%s:%d: a block without a directive name' % (path, line))
            directive = {'name': words[0][0], 'args': [w for w, _l in words[1:]], 'file': path, 'line': words[0][1],
                         'block': [] if kind == '{' else None}
            stack[-1].append(directive)
            if kind == '{':
                stack.append(directive['block'])
            words = []
        else:
            if words or len(stack) == 1:
                raise WebServerError('%s:%d: unexpected "}"' % (path, line))
            stack.pop()
    if words or len(stack) != 1:
        raise WebServerError('%s: unexpected end of file (a "}" or ";" is missing)' % path)
    return root


def nginx_tree(dump):
    """The main file's directives with every ``include`` replaced by the directives of the files it
    names (as dumped by ``nginx -T``; relative names are relative to the main file's directory)."""
    files, order = split_nginx_dump(dump)
    parsed = dict((path, parse_nginx(text, path)) for path, text in files.items())
    prefix = posixpath.dirname(order[0])

    def expand(directives, depth):
        out = []
        for d in directives:
            if d['name'] == 'include' and d['args'] and d['block'] is None:
                pattern = d['args'][0]
                if not pattern.startswith('/'):
                    pattern = posixpath.join(prefix, pattern)
                names = sorted(p for p in files if fnmatch.fnmatchcase(p, pattern)) if glob.has_magic(pattern) else (
                    [pattern] if pattern in files else [])
                if depth < 10:
                    for name in names:
                        out.extend(expand(parsed[name], depth + 1))
                continue
            if d['block'] is not None:
                d = dict(d, block=expand(d['block'], depth))
            out.append(d)
        return out

    return expand(parsed[order[0]], 0)


def _children(block, name):
    return [d for d in block or [] if d['name'] == name]


def _first(block, name):
    found = _children(block, name)
    return found[-1] if found else None


def parse_listen(arg):
    """``(host, port)`` of an nginx ``listen`` value (``host`` None for every address; ``unix:`` kept)."""
    if arg.startswith('unix:'):
        return (arg, None)
    if arg.startswith('['):
        host, _sep, rest = arg[1:].partition(']')
        return (None if host in ('::', '') else host, int(rest[1:]) if rest.startswith(':') and rest[1:].isdigit() else 80)
    if arg.isdigit():
        return (None, int(arg))
    host, sep, port = arg.rpartition(':')
    if sep and port.isdigit():
        return (None if host in ('*', '0.0.0.0') else host, int(port))
    return (None if arg == '*' else arg, 80)


def nginx_servers(tree):
    """The ``server`` blocks of ``http``, each ``{'file', 'line', 'listen': [{'host', 'port',
    'default', 'ssl'}], 'names': [...], 'directives': [...]}``; and the upstreams by name."""
    servers = []
    upstreams = {}
    for http in _children(tree, 'http'):
        for d in http['block']:
            if d['name'] == 'upstream' and d['args']:
                upstreams[d['args'][0]] = [{'address': s['args'][0], 'file': s['file'], 'line': s['line']}
                                           for s in _children(d['block'], 'server') if s['args']]
        for server in _children(http['block'], 'server'):
            listens = []
            for listen in _children(server['block'], 'listen'):
                if not listen['args']:
                    continue
                host, port = parse_listen(listen['args'][0])
                listens.append({'host': host, 'port': port, 'default': 'default_server' in listen['args'] or 'default' in listen['args'],
                                'ssl': 'ssl' in listen['args'], 'file': listen['file'], 'line': listen['line']})
            if not listens:
                listens.append({'host': None, 'port': 80, 'default': False, 'ssl': False, 'file': server['file'], 'line': server['line']})
            names = []
            for d in _children(server['block'], 'server_name'):
                names.extend(d['args'])
            servers.append({'file': server['file'], 'line': server['line'], 'listen': listens, 'names': names or [''],
                            'directives': server['block'], 'http': http['block']})
    return servers, upstreams


def _name_matches(pattern, host):
    pattern = pattern.lower()
    if pattern.startswith('~'):
        try:
            return re.search(pattern[1:], host) is not None, 3
        except re.error:
            return False, 3
    if pattern == host:
        return True, 0
    if pattern.startswith('.') and (host == pattern[1:] or host.endswith(pattern)):
        return True, 1
    if pattern.startswith('*.') and host.endswith(pattern[1:]):
        return True, 1
    if pattern.endswith('.*') and host.startswith(pattern[:-1]):
        return True, 2
    return False, 9


def select_server(servers, host, port):
    """The server block nginx picks for ``host``:``port`` (exact name, leading wildcard, trailing
    wildcard, regex in order; else the port's default_server, else its first server), with why."""
    on_port = [s for s in servers if any(l['port'] == port for l in s['listen'])]
    if not on_port:
        return None, 'no server block listens on port %s' % port
    best = None
    for index, server in enumerate(on_port):
        for name in server['names']:
            ok, kind = _name_matches(name, host)
            if ok and (best is None or (kind, index if kind == 3 else 0) < best[0]):
                best = ((kind, index if kind == 3 else 0), server, name)
    if best:
        return best[1], 'server_name %s matches %s' % (best[2], host)
    for server in on_port:
        if any(l['port'] == port and l['default'] for l in server['listen']):
            return server, 'no server_name matches %s: default_server of port %s' % (host, port)
    return on_port[0], 'no server_name matches %s: first server of port %s' % (host, port)


def _location_kind(args):
    if len(args) >= 2 and args[0] in ('=', '~', '~*', '^~'):
        return args[0], args[1]
    if args and args[0].startswith('='):
        return '=', args[0][1:]
    return '', args[0] if args else ''


def select_location(block, path):
    """The location of ``block`` (server or location) nginx uses for ``path``, nested ones followed."""
    locations = [d for d in _children(block, 'location') if d['args']]
    prefix_best = None
    for loc in locations:
        kind, pattern = _location_kind(loc['args'])
        if kind == '=' and path == pattern:
            return loc
        if kind in ('', '^~') and path.startswith(pattern):
            if prefix_best is None or len(pattern) > len(_location_kind(prefix_best['args'])[1]):
                prefix_best = loc
    if prefix_best is not None and _location_kind(prefix_best['args'])[0] == '^~':
        return select_location(prefix_best['block'], path) or prefix_best
    if prefix_best is not None:
        nested = select_location(prefix_best['block'], path)
        if nested is not None:
            return nested
    for loc in locations:
        kind, pattern = _location_kind(loc['args'])
        if kind in ('~', '~*'):
            try:
                if re.search(pattern, path, re.IGNORECASE if kind == '~*' else 0):
                    return select_location(loc['block'], path) or loc
            except re.error:
                continue
    return prefix_best


def _inherited(name, *blocks):
    """A directive from the innermost block that has it (nginx's inheritance of array directives)."""
    for block in blocks:
        found = _children(block, name)
        if found:
            return found
    return []


def _fastcgi_address(address):
    if address.startswith('unix:'):
        return {'type': 'unix', 'path': address[5:]}
    host, sep, port = address.rpartition(':')
    if sep and port.isdigit():
        return {'type': 'tcp', 'host': host.strip('[]'), 'port': int(port)}
    return {'type': 'tcp', 'host': address, 'port': None}


def split_url(url):
    """``(host, port, path)`` of an absolute http(s) URL, or WebServerError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise WebServerError('url %r: %s' % (url, error))
    if not parts.scheme or not parts.hostname:
        raise WebServerError('url %r is not an absolute http(s) URL' % url)
    return parts.hostname.lower(), port or (443 if parts.scheme == 'https' else 80), parts.path or '/'


def route_nginx(dump, url):
    """Route ``url`` through ``nginx -T`` output: ``{'server': 'nginx', 'found': bool, 'steps': [...],
    'fastcgi': [{'type', 'path'|'host'/'port', 'raw', 'evidence'}], 'script_filename', 'root', ...}``."""
    host, port, path = split_url(url)
    tree = nginx_tree(dump)
    servers, upstreams = nginx_servers(tree)
    result = {'server': 'nginx', 'url': url, 'found': False, 'steps': [], 'fastcgi': [], 'script_filename': None, 'root': None,
              'server_block': None, 'location': None}
    server, why = select_server(servers, host, port)
    if server is None:
        result['steps'].append(why)
        return result
    result['server_block'] = '%s:%d' % (server['file'], server['line'])
    result['steps'].append('%s:%d: server block (%s)' % (server['file'], server['line'], why))
    seen = []
    uri = path
    while len(seen) <= MAX_INTERNAL_REDIRECTS:
        seen.append(uri)
        loc = select_location(server['directives'], uri)
        scope = [loc['block']] if loc else []
        if loc is None:
            result['steps'].append('no location matches %s' % uri)
        else:
            result['steps'].append('%s:%d: location %s matches %s' % (loc['file'], loc['line'], ' '.join(loc['args']), uri))
            result['location'] = '%s:%d' % (loc['file'], loc['line'])
        root = _first(scope[0] if scope else [], 'root') or _first(server['directives'], 'root') or _first(server['http'], 'root')
        if root:
            result['root'] = root['args'][0] if root['args'] else None
        passes = _children(scope[0], 'fastcgi_pass') if scope else []
        if passes:
            target = passes[-1]
            raw = target['args'][0] if target['args'] else ''
            addresses = upstreams.get(raw)
            if addresses is None:
                addresses = [{'address': raw, 'file': target['file'], 'line': target['line']}]
            else:
                result['steps'].append('%s:%d: fastcgi_pass %s (upstream)' % (target['file'], target['line'], raw))
            for item in addresses:
                entry = _fastcgi_address(item['address'])
                entry['raw'] = item['address']
                entry['evidence'] = '%s:%d' % (item['file'], item['line'])
                result['fastcgi'].append(entry)
                result['steps'].append('%s: fastcgi_pass %s' % (entry['evidence'], item['address']))
            for param in _inherited('fastcgi_param', scope[0], server['directives'], server['http']):
                if param['args'] and param['args'][0] == 'SCRIPT_FILENAME' and len(param['args']) > 1:
                    result['script_filename'] = {'value': param['args'][1], 'evidence': '%s:%d' % (param['file'], param['line'])}
            result['found'] = True
            return result
        next_uri = _internal_redirect(scope[0] if scope else [], server, uri)
        if next_uri is None or next_uri in seen:
            break
        result['steps'].append('internal redirect to %s' % next_uri)
        uri = next_uri
    result['steps'].append('no fastcgi_pass reached for %s' % path)
    return result


def _internal_redirect(block, server, uri):
    """Where nginx goes next without fastcgi_pass: try_files' last URI or index (a PHP front controller)."""
    try_files = _first(block, 'try_files') or _first(server['directives'], 'try_files')
    if try_files and try_files['args']:
        last = try_files['args'][-1]
        if last.startswith('/'):
            return last.split('?', 1)[0].replace('$uri', uri)
    if uri.endswith('/'):
        index = _inherited('index', block, server['directives'], server['http'])
        names = [a for d in index for a in d['args']]
        for name in names:
            if name.endswith('.php'):
                return uri + name
    return None


def _fastcgi_locations(block, inherited_root):
    """``(root directive, fastcgi_pass directive)`` of every location (nested ones too) of ``block``
    that passes to FastCGI, with the root it serves from (nginx inherits root downwards)."""
    found = []
    for loc in _children(block, 'location'):
        root = _first(loc['block'], 'root') or inherited_root
        for target in _children(loc['block'], 'fastcgi_pass')[-1:]:
            found.append((root, target))
        found.extend(_fastcgi_locations(loc['block'], root))
    return found


def nginx_fastcgi_roots(dump):
    """The document roots nginx passes PHP requests from: ``[{'root', 'fastcgi': [address...],
    'evidence'}]``, one per server block location with ``fastcgi_pass`` whose ``root`` has no
    variable (``$document_root`` style roots cannot be known without a request)."""
    tree = nginx_tree(dump)
    servers, upstreams = nginx_servers(tree)
    roots = []
    for server in servers:
        server_root = _first(server['directives'], 'root') or _first(server['http'], 'root')
        pairs = _fastcgi_locations(server['directives'], server_root)
        pairs.extend((server_root, target) for target in _children(server['directives'], 'fastcgi_pass')[-1:])
        for root, target in pairs:
            if not root or not root['args'] or '$' in root['args'][0] or not target['args']:
                continue
            raw = target['args'][0]
            addresses = [_fastcgi_address(item['address']) for item in upstreams.get(raw) or [{'address': raw}]]
            entry = {'root': root['args'][0], 'fastcgi': addresses, 'evidence': '%s:%d' % (root['file'], root['line'])}
            if entry not in roots:
                roots.append(entry)
    return roots


# ---------------------------------------------------------------------------
# Apache (mod_proxy_fcgi)
# ---------------------------------------------------------------------------

APACHE_MAIN_FILES = ('/etc/apache2/apache2.conf', '/etc/httpd/conf/httpd.conf', '/etc/apache2/httpd.conf')


def _apache_lines(text):
    """Logical lines ``(line_number, words)`` (backslash continuations joined, comments dropped)."""
    out = []
    pending = ''
    start = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if start is None:
            start = number
        if line.endswith('\\'):
            pending += line[:-1] + ' '
            continue
        line = (pending + line).strip()
        pending = ''
        first = start
        start = None
        if not line or line.startswith('#'):
            continue
        out.append((first, _apache_words(line)))
    return out


def _apache_words(line):
    words = []
    for match in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\S+)', line):
        words.append(match.group(1) if match.group(1) is not None else match.group(2))
    return words


def read_apache(read, main, server_root=None):
    """Directives of ``main`` with ``Include``/``IncludeOptional`` expanded, in order:
    ``[{'name' (lower case), 'args', 'file', 'line', 'section': [open sections as (name, args, file, line)]}]``.
    ``read(path)`` returns the text or raises IOError/OSError; Include globs are expanded on this host."""
    server_root = server_root or posixpath.dirname(main)
    directives = []

    def walk(path, depth, stack, optional):
        try:
            text = read(path)
        except (IOError, OSError) as error:
            if optional:
                return
            raise WebServerError('cannot read Apache configuration %s: %s' % (path, error))
        for line, words in _apache_lines(text):
            head = words[0]
            if head.startswith('</'):
                if stack:
                    stack.pop()
                continue
            if head.startswith('<'):
                name = head[1:].rstrip('>').lower()
                args = [w.rstrip('>') for w in words[1:]]
                stack.append((name, [a for a in args if a], path, line))
                continue
            name = head.lower()
            if name in ('include', 'includeoptional') and len(words) > 1 and depth < 20:
                pattern = words[1]
                if not pattern.startswith('/'):
                    pattern = posixpath.join(server_root, pattern)
                matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
                for match in matches:
                    if os.path.isdir(match):
                        for sub in sorted(glob.glob(posixpath.join(match, '*'))):
                            walk(sub, depth + 1, stack, True)
                    else:
                        walk(match, depth + 1, stack, name == 'includeoptional' or glob.has_magic(pattern))
                continue
            directives.append({'name': name, 'args': words[1:], 'file': path, 'line': line, 'section': list(stack)})

    walk(main, 0, [], False)
    return directives


def _handler_address(target):
    """``proxy:unix:/run/php.sock|fcgi://localhost`` / ``fcgi://127.0.0.1:9000/...`` to an address."""
    if target.startswith('proxy:'):
        target = target[6:]
    if target.startswith('unix:'):
        return {'type': 'unix', 'path': target[5:].split('|', 1)[0]}
    match = re.match(r'fcgi://([^/:]+|\[[^\]]+\])(?::(\d+))?', target)
    if match:
        return {'type': 'tcp', 'host': match.group(1).strip('[]'), 'port': int(match.group(2) or 9000)}
    return None


def apache_handlers(directives):
    """Every proxy_fcgi handler: ``{'kind', 'pattern', 'address', 'vhost': None|{'listen', 'names'},
    'evidence'}`` (SetHandler/AddHandler inside FilesMatch, ProxyPassMatch, ProxyPass)."""
    vhosts = {}
    for d in directives:
        for name, args, path, line in d['section']:
            if name == 'virtualhost':
                vhost = vhosts.setdefault((path, line), {'listen': args, 'names': [], 'evidence': '%s:%d' % (path, line)})
                if d['name'] in ('servername', 'serveralias'):
                    vhost['names'].extend(a.lower() for a in d['args'])
    handlers = []
    for d in directives:
        vhost = None
        pattern = None
        for name, args, path, line in d['section']:
            if name == 'virtualhost':
                vhost = vhosts[(path, line)]
            if name in ('filesmatch', 'files', 'locationmatch', 'location') and args:
                pattern = (name if args[0] != '~' else {'files': 'filesmatch', 'location': 'locationmatch'}.get(name, name), args[-1])
        if d['name'] in ('sethandler', 'addhandler') and d['args'] and 'fcgi' in d['args'][0]:
            address = _handler_address(d['args'][0])
            if address:
                handlers.append({'kind': d['name'], 'pattern': pattern, 'address': address, 'raw': d['args'][0], 'vhost': vhost,
                                 'evidence': '%s:%d' % (d['file'], d['line'])})
        elif d['name'] in ('proxypassmatch', 'proxypass') and len(d['args']) >= 2 and 'fcgi://' in d['args'][1]:
            address = _handler_address(d['args'][1])
            if address:
                kind = 'location' if d['name'] == 'proxypass' else 'locationmatch'
                handlers.append({'kind': d['name'], 'pattern': (kind, d['args'][0]), 'address': address, 'raw': d['args'][1], 'vhost': vhost,
                                 'evidence': '%s:%d' % (d['file'], d['line'])})
    return handlers


def _vhost_port(listen):
    port = []
    for item in listen:
        _host, sep, value = item.rpartition(':')
        port.append(int(value) if sep and value.isdigit() else None)
    return port


def _pattern_matches(pattern, path):
    if pattern is None:
        return True
    kind, value = pattern
    try:
        if kind == 'filesmatch':
            return re.search(value, posixpath.basename(path) or path) is not None
        if kind == 'files':
            return fnmatch.fnmatchcase(posixpath.basename(path), value)
        if kind == 'locationmatch':
            return re.search(value, path) is not None
        return path.startswith(value)
    except re.error:
        return False


def route_apache(directives, url):
    """Route ``url`` through Apache's proxy_fcgi handlers (virtual host by port and ServerName/
    ServerAlias, else the port's first; handlers of the server config apply everywhere)."""
    host, port, path = split_url(url)
    result = {'server': 'apache', 'url': url, 'found': False, 'steps': [], 'fastcgi': [], 'script_filename': None, 'root': None}
    handlers = apache_handlers(directives)
    vhosts = []
    for h in handlers:
        if h['vhost'] is not None and h['vhost'] not in vhosts:
            vhosts.append(h['vhost'])
    on_port = [v for v in vhosts if port in _vhost_port(v['listen']) or None in _vhost_port(v['listen'])]
    chosen = next((v for v in on_port if host in v['names']), None) or (on_port[0] if on_port else None)
    if chosen:
        result['steps'].append('virtual host %s (%s)' % (' '.join(chosen['listen']), ', '.join(chosen['names']) or 'no ServerName'))
    candidates = [h for h in handlers if h['vhost'] is chosen] + [h for h in handlers if h['vhost'] is None]
    paths = [path] + ([path + 'index.php'] if path.endswith('/') else [])
    for candidate_path in paths:
        for h in candidates:
            if _pattern_matches(h['pattern'], candidate_path):
                entry = dict(h['address'], raw=h['raw'], evidence=h['evidence'])
                result['fastcgi'].append(entry)
                result['steps'].append('%s: %s %s matches %s' % (h['evidence'], h['kind'], h['raw'], candidate_path))
                result['found'] = True
                return result
    result['steps'].append('no proxy_fcgi handler matches %s' % path)
    return result


def apache_fastcgi_roots(directives):
    """The ``DocumentRoot`` of every virtual host (or of the server, for handlers outside one) that
    has a proxy_fcgi handler: ``[{'root', 'fastcgi': [address...], 'evidence'}]``."""
    handlers = apache_handlers(directives)
    roots = []
    for d in directives:
        if d['name'] != 'documentroot' or not d['args']:
            continue
        vhost = None
        for name, args, path, line in d['section']:
            if name == 'virtualhost':
                vhost = (path, line)
        addresses = [h['address'] for h in handlers
                     if h['vhost'] is None or (vhost is not None and h['vhost']['evidence'] == '%s:%d' % vhost)]
        if addresses and '$' not in d['args'][0]:
            roots.append({'root': d['args'][0], 'fastcgi': addresses, 'evidence': '%s:%d' % (d['file'], d['line'])})
    return roots


# ---------------------------------------------------------------------------
# FastCGI address -> PHP-FPM pool
# ---------------------------------------------------------------------------

LOOPBACK = ('127.0.0.1', 'localhost', '::1')


def listen_matches(address, listen, realpath=None):
    """Whether a FastCGI ``address`` (from :func:`route_nginx` / :func:`route_apache`) reaches a pool's
    ``listen`` value (a socket path, ``port``, ``host:port``, ``[::]:port``)."""
    if not listen:
        return False
    realpath = realpath or (lambda p: p)
    if address['type'] == 'unix':
        return listen.startswith('/') and (listen == address['path'] or realpath(listen) == realpath(address['path']))
    if listen.startswith('/'):
        return False
    host, port = parse_listen(listen)
    if port != address.get('port'):
        return False
    if host is None or host == address.get('host'):
        return True
    return host in LOOPBACK and address.get('host') in LOOPBACK


def describe_address(address):
    if address['type'] == 'unix':
        return 'unix:%s' % address['path']
    return '%s:%s' % (address.get('host'), address.get('port'))


# ---------------------------------------------------------------------------
# Document roots of a host's PHP-FPM pools (for the live view)
# ---------------------------------------------------------------------------

NGINX_DIRS = ('/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/usr/bin')
ROOTS_TIMEOUT = 3.0


def _run_with_timeout(timeout):
    def run(argv):
        import subprocess  # only when nginx exists
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return 124, '', '%s did not answer within %.0f s' % (' '.join(argv), timeout)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')
    return run


def fpm_document_roots(listens, run=None, timeout=ROOTS_TIMEOUT, nginx_binary=None, apache_main=None, read=None):
    """Document roots the web server passes to the PHP-FPM pools listening on ``listens`` (their
    ``listen`` values): ``(roots, notes)``, ``roots`` as :func:`nginx_fastcgi_roots` plus ``'server'``.
    nginx is asked (``nginx -T``, at most ``timeout`` seconds) only when its binary exists; Apache's
    configuration is read only when its main file exists. Never raises: problems are ``notes``."""
    roots, notes = [], []
    listens = [l for l in listens or () if l]
    if not listens:
        return roots, notes
    binary = nginx_binary
    if binary is None:
        binary = next((posixpath.join(d, 'nginx') for d in NGINX_DIRS if os.access(posixpath.join(d, 'nginx'), os.X_OK)), None)
    found = []
    if binary:
        try:
            found.extend(dict(r, server='nginx') for r in nginx_fastcgi_roots(run_nginx_dump(run or _run_with_timeout(timeout), binary)))
        except WebServerError as error:
            notes.append('nginx: %s' % error)
    main = apache_main if apache_main is not None else next((p for p in APACHE_MAIN_FILES if os.path.isfile(p)), None)
    if main:
        try:
            found.extend(dict(r, server='apache') for r in apache_fastcgi_roots(read_apache(read or read_local_text, main)))
        except WebServerError as error:
            notes.append('apache: %s' % error)
    for entry in found:
        if any(listen_matches(a, l, os.path.realpath) for a in entry['fastcgi'] for l in listens) and entry['root'] not in [r['root'] for r in roots]:
            roots.append(entry)
    return roots, notes


def read_local_text(path):
    """A web server configuration file's text (read_apache's ``read`` on the target itself)."""
    with open(path, 'r', errors='replace') as handle:
        return handle.read()


def live_document_roots(fs, report, masters, **kwargs):
    """The document roots (paths) the web server passes to the pools of the running ``masters``
    (live.masters.Master records; their pools from ``report`` (opcache_report.Report) or read from
    their php-fpm.conf), for the live view when the user gave no ``verify_paths``. See
    :func:`fpm_document_roots` for ``kwargs``; never raises."""
    from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config  # only with masters
    from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError

    listens = []
    for master in masters or ():
        found = report.fpm_sapi_for(master.config) if report is not None else None
        fpm = found[1].fpm if found else None
        if fpm is None:
            try:
                fpm = read_fpm_config(fs, master.config)
            except (HostFSError, OSError, ValueError):  # an unreadable configuration has no roots
                continue
        listens.extend(pool.get('listen') for pool in fpm.pools)
    return [entry['root'] for entry in fpm_document_roots(listens, **kwargs)[0]]
