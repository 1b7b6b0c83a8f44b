# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Following a URL through the web server configuration: real ``nginx -T`` output of configurations
written at test time (nginx must be installed), and Apache proxy_fcgi files."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.webserver import (
    WebServerError,
    apache_fastcgi_roots,
    describe_address as describe,
    fpm_document_roots,
    listen_matches,
    nginx_fastcgi_roots,
    parse_listen,
    read_apache,
    route_apache,
    route_nginx,
    run_nginx_dump,
    split_nginx_dump,
    tokenize_nginx,
)

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'

FASTCGI_PARAMS = '''fastcgi_param  SCRIPT_FILENAME    $document_root$fastcgi_script_name;
fastcgi_param  QUERY_STRING       $query_string;
'''

SHOP = r'''server {
    listen 8080;
    server_name shop.example www.shop.example;
    root /srv/shop/current/public;
    index index.php index.html;
    location / {
        try_files $uri $uri/ /index.php?$query_string;
    }
    location ~ \.php$ {
        include snippets/fcgi.conf;
        fastcgi_pass unix:/run/php/php8.4-fpm.sock;
    }
    location ^~ /legacy/ {
        location ~ \.php$ {
            fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
            fastcgi_pass legacy_backend;
        }
    }
    location = /status.php {
        fastcgi_pass 127.0.0.1:9001;
    }
}
'''

DEFAULT = r'''server {
    listen 8080 default_server;
    listen [::]:8080 default_server;
    server_name _;
    root /var/www/html;
    location ~* \.PHP$ {
        include snippets/fcgi.conf;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
server {
    listen 127.0.0.1:8081;
    server_name "~^api\d+\.example$";
    location / {
        fastcgi_pass 127.0.0.1:9000;
    }
}
server {
    listen 8082;
    server_name static.example;
    location / { try_files $uri =404; }
}
'''


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def nginx_dump(tmp_path, sites, extra_http=''):
    """Write an nginx configuration under tmp_path and return the real ``nginx -T`` output."""
    if not os.access(NGINX, os.X_OK):
        pytest.fail('nginx is not installed (apt-get install nginx): the web server tests need real nginx -T output', pytrace=False)
    conf = tmp_path / 'nginx.conf'
    (tmp_path / 'sites').mkdir()
    (tmp_path / 'snippets').mkdir()
    (tmp_path / 'snippets' / 'fcgi.conf').write_text(FASTCGI_PARAMS)
    for name, text in sites.items():
        (tmp_path / 'sites' / name).write_text(text)
    conf.write_text('pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n    access_log off;\n'
                    '    upstream legacy_backend { server unix:/run/php/php7.4-fpm.sock; server 127.0.0.1:9074; }\n%s'
                    '    include sites/*.conf;\n}\n' % (tmp_path, tmp_path, extra_http))
    return run_nginx_dump(_run, NGINX, str(conf))


@pytest.fixture
def dump(tmp_path):
    return nginx_dump(tmp_path, {'10-default.conf': DEFAULT, '20-shop.conf': SHOP})


def test_dump_lists_every_file_main_first(dump, tmp_path):
    files, order = split_nginx_dump(dump)
    assert order[0] == str(tmp_path / 'nginx.conf')
    assert set(order) == set([str(tmp_path / 'nginx.conf'), str(tmp_path / 'sites/10-default.conf'), str(tmp_path / 'sites/20-shop.conf'),
                              str(tmp_path / 'snippets/fcgi.conf')])
    assert 'fastcgi_pass unix:/run/php/php8.4-fpm.sock;' in files[str(tmp_path / 'sites/20-shop.conf')]


@pytest.mark.parametrize('url, socket, location_line, via', [
    # the front controller: location / -> try_files -> /index.php -> the regex location
    ('http://shop.example:8080/checkout', 'unix:/run/php/php8.4-fpm.sock', 9, 'internal redirect to /index.php'),
    ('http://www.shop.example:8080/', 'unix:/run/php/php8.4-fpm.sock', 9, 'internal redirect to /index.php'),
    ('http://shop.example:8080/x/y.php', 'unix:/run/php/php8.4-fpm.sock', 9, None),
    # exact match wins over the regex
    ('http://shop.example:8080/status.php', '127.0.0.1:9001', 19, None),
    # ^~ stops the regexes of the server; its nested regex location applies (through an upstream)
    ('http://shop.example:8080/legacy/old.php', 'unix:/run/php/php7.4-fpm.sock', 14, 'legacy_backend (upstream)'),
    # unknown host on the port: the default_server; ~* is case-insensitive
    ('http://unknown.example:8080/INDEX.PHP', 'unix:/run/php/php8.2-fpm.sock', 6, 'default_server of port 8080'),
    # regex server_name
    ('http://api12.example:8081/v1/users', '127.0.0.1:9000', 14, 'server_name ~^api\\d+\\.example$ matches'),
])
def test_route_reaches_the_fastcgi_address(dump, tmp_path, url, socket, location_line, via):
    route = route_nginx(dump, url)
    assert route['found'], route['steps']
    assert route['fastcgi'][0]['raw'] == socket
    assert route['location'].endswith(':%d' % location_line), route['steps']
    if via:
        assert any(via in step for step in route['steps']), route['steps']


def test_route_names_file_and_line_of_each_step(dump, tmp_path):
    route = route_nginx(dump, 'http://shop.example:8080/checkout')
    shop = str(tmp_path / 'sites/20-shop.conf')
    assert route['server_block'] == shop + ':1'
    assert route['fastcgi'] == [{'type': 'unix', 'path': '/run/php/php8.4-fpm.sock', 'raw': 'unix:/run/php/php8.4-fpm.sock',
                                 'evidence': shop + ':11'}]
    assert route['script_filename'] == {'value': '$document_root$fastcgi_script_name', 'evidence': str(tmp_path / 'snippets/fcgi.conf') + ':1'}
    assert route['root'] == '/srv/shop/current/public'


def test_upstream_lists_every_server(dump):
    route = route_nginx(dump, 'http://shop.example:8080/legacy/a.php')
    assert [a['raw'] for a in route['fastcgi']] == ['unix:/run/php/php7.4-fpm.sock', '127.0.0.1:9074']
    assert route['fastcgi'][1] == dict(route['fastcgi'][1], type='tcp', host='127.0.0.1', port=9074)
    assert route['script_filename']['value'].startswith('$realpath_root')


@pytest.mark.parametrize('url, reason', [
    ('http://static.example:8082/a.php', 'no fastcgi_pass reached'),
    ('http://shop.example:9999/', 'no server block listens on port 9999'),
])
def test_route_without_fastcgi(dump, url, reason):
    route = route_nginx(dump, url)
    assert not route['found']
    assert any(reason in step for step in route['steps']), route['steps']


def test_nginx_failure_names_the_problem(tmp_path):
    with pytest.raises(WebServerError) as error:
        nginx_dump(tmp_path, {'bad.conf': 'server { listen 8080; location / { fastcgi_pass ; } }\n'})
    assert 'nginx' in str(error.value) and 'exit' in str(error.value)


@pytest.mark.parametrize('url, message', [('shop.example/checkout', 'not an absolute'), ('http://shop.example:99999/', 'Port out of range')])
def test_bad_url_is_refused(dump, url, message):
    with pytest.raises(WebServerError, match=message):
        route_nginx(dump, url)


@pytest.mark.parametrize('text, words', [
    (r'location ~ \.php$ { }', ['location', '~', r'\.php$', '{', '}']),
    ('server_name "a b" \'c\';  # comment', ['server_name', 'a b', 'c', ';']),
    (r'return 200 "say \"hi\"";', ['return', '200', 'say "hi"', ';']),
])
def test_tokenizer_keeps_what_nginx_keeps(text, words):
    assert [v for _k, v, _l in tokenize_nginx(text, 'x.conf')] == words


def test_tokenizer_reports_unterminated_quotes():
    with pytest.raises(WebServerError, match='x.conf:2: unterminated'):
        tokenize_nginx('a;\nb "c;\n', 'x.conf')


@pytest.mark.parametrize('listen, expected', [
    ('9000', (None, 9000)), ('127.0.0.1:9000', ('127.0.0.1', 9000)), ('[::]:9000', (None, 9000)), ('[::1]:9000', ('::1', 9000)),
    ('0.0.0.0:9000', (None, 9000)), ('localhost', ('localhost', 80)),
])
def test_parse_listen(listen, expected):
    assert parse_listen(listen) == expected


@pytest.mark.parametrize('address, listen, expected', [
    ({'type': 'unix', 'path': '/run/php/php8.2-fpm.sock'}, '/run/php/php8.2-fpm.sock', True),
    ({'type': 'unix', 'path': '/run/php/php8.4-fpm.sock'}, '/run/php/php8.2-fpm.sock', False),
    ({'type': 'unix', 'path': '/run/php/php8.2-fpm.sock'}, '127.0.0.1:9000', False),
    ({'type': 'tcp', 'host': '127.0.0.1', 'port': 9000}, '9000', True),
    ({'type': 'tcp', 'host': '127.0.0.1', 'port': 9000}, 'localhost:9000', True),
    ({'type': 'tcp', 'host': '127.0.0.1', 'port': 9000}, '127.0.0.1:9001', False),
    ({'type': 'tcp', 'host': '10.0.0.5', 'port': 9000}, '127.0.0.1:9000', False),
    ({'type': 'tcp', 'host': '127.0.0.1', 'port': 9000}, None, False),
])
def test_listen_matches(address, listen, expected):
    assert listen_matches(address, listen) is expected


# ---------------------------------------------------------------------------
# Apache
# ---------------------------------------------------------------------------

APACHE = {
    'apache2.conf': 'ServerRoot "/etc/apache2"\nIncludeOptional conf-enabled/*.conf\nIncludeOptional sites-enabled/*.conf\n',
    'conf-enabled/php8.2-fpm.conf': (
        '# Debian\'s php8.2-fpm.conf\n<FilesMatch ".+\\.ph(?:ar|p|tml)$">\n'
        '    SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"\n</FilesMatch>\n'),
    'sites-enabled/shop.conf': (
        '<VirtualHost *:80>\n    ServerName shop.example\n    ServerAlias www.shop.example\n'
        '    <FilesMatch \\.php$>\n        SetHandler "proxy:unix:/run/php/php8.4-fpm.sock|fcgi://localhost"\n    </FilesMatch>\n'
        '</VirtualHost>\n'
        '<VirtualHost *:80>\n    ServerName api.example\n'
        '    ProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:9000/srv/api/$1\n</VirtualHost>\n'),
}


@pytest.fixture
def apache(tmp_path):
    for name, text in APACHE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def read(path):
        with open(path) as handle:
            return handle.read()
    return read_apache(read, str(tmp_path / 'apache2.conf'), str(tmp_path))


@pytest.mark.parametrize('url, raw, line_file', [
    ('http://shop.example/index.php', 'proxy:unix:/run/php/php8.4-fpm.sock|fcgi://localhost', 'sites-enabled/shop.conf:5'),
    ('http://www.shop.example/', 'proxy:unix:/run/php/php8.4-fpm.sock|fcgi://localhost', 'sites-enabled/shop.conf:5'),
    ('http://api.example/v1/users.php', 'fcgi://127.0.0.1:9000/srv/api/$1', 'sites-enabled/shop.conf:10'),
])
def test_apache_vhost_handlers(apache, tmp_path, url, raw, line_file):
    route = route_apache(apache, url)
    assert route['found'], route['steps']
    assert route['fastcgi'][0]['raw'] == raw
    assert route['fastcgi'][0]['evidence'] == '%s/%s' % (tmp_path, line_file)


def test_apache_server_wide_handler_applies_without_vhost(tmp_path):
    for name in ('apache2.conf', 'conf-enabled/php8.2-fpm.conf'):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(APACHE[name])
    directives = read_apache(lambda p: open(p).read(), str(tmp_path / 'apache2.conf'), str(tmp_path))
    route = route_apache(directives, 'http://any.example/info.php')
    assert route['fastcgi'][0] == dict(route['fastcgi'][0], type='unix', path='/run/php/php8.2-fpm.sock')
    assert not route_apache(directives, 'http://any.example/style.css')['found']


def test_apache_missing_main_file_is_named(tmp_path):
    with pytest.raises(WebServerError, match='apache2.conf'):
        read_apache(lambda p: open(p).read(), str(tmp_path / 'apache2.conf'))


# ---------------------------------------------------------------------------
# Document roots of the pools (the live view's roots when no verify_paths is given)
# ---------------------------------------------------------------------------

def test_nginx_fastcgi_roots(dump, tmp_path):
    roots = nginx_fastcgi_roots(dump)
    got = [(r['root'], [describe(a) for a in r['fastcgi']], r['evidence'].replace(str(tmp_path) + '/', '')) for r in roots]
    # the default server's root (line 5) for its PHP location; the shop's server root (line 4) for each
    # of its three FastCGI locations, the upstream's two servers included; no root, no entry (api)
    assert got == [
        ('/var/www/html', ['unix:/run/php/php8.2-fpm.sock'], 'sites/10-default.conf:5'),
        ('/srv/shop/current/public', ['unix:/run/php/php8.4-fpm.sock'], 'sites/20-shop.conf:4'),
        ('/srv/shop/current/public', ['unix:/run/php/php7.4-fpm.sock', '127.0.0.1:9074'], 'sites/20-shop.conf:4'),
        ('/srv/shop/current/public', ['127.0.0.1:9001'], 'sites/20-shop.conf:4'),
    ]


def test_nginx_location_root_and_variable_roots(tmp_path):
    site = r'''server {
    listen 8080;
    server_name app.example;
    root $app_root;
    location ~ \.php$ {
        root /srv/app/current/public;
        fastcgi_pass unix:/run/php/app.sock;
    }
    location /dyn/ {
        fastcgi_pass unix:/run/php/dyn.sock;
    }
}
'''
    roots = nginx_fastcgi_roots(nginx_dump(tmp_path, {'app.conf': site}, extra_http='    map $host $app_root { default /srv/x; }\n'))
    # the location's own root wins; a root made of variables is unknown without a request
    assert [(r['root'], r['evidence'].rsplit('/', 1)[1]) for r in roots] == [('/srv/app/current/public', 'app.conf:6')]


def test_apache_fastcgi_roots(tmp_path):
    files = dict(APACHE)
    files['sites-enabled/shop.conf'] = files['sites-enabled/shop.conf'].replace(
        '    ServerAlias www.shop.example\n', '    ServerAlias www.shop.example\n    DocumentRoot /srv/shop/current/public\n')
    files['sites-enabled/static.conf'] = '<VirtualHost *:80>\n    ServerName static.example\n    DocumentRoot /srv/static\n</VirtualHost>\n'
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    roots = apache_fastcgi_roots(read_apache(lambda p: open(p).read(), str(tmp_path / 'apache2.conf'), str(tmp_path)))
    # the shop's vhost handler and the server-wide php8.2-fpm handler both reach its root; static.example
    # has no handler of its own but the server-wide one applies there too
    assert [(r['root'], sorted(describe(a) for a in r['fastcgi'])) for r in roots] == [
        ('/srv/shop/current/public', ['unix:/run/php/php8.2-fpm.sock', 'unix:/run/php/php8.4-fpm.sock']),
        ('/srv/static', ['unix:/run/php/php8.2-fpm.sock']),
    ]


def test_fpm_document_roots_keeps_the_roots_of_the_given_pools(tmp_path):
    conf = tmp_path / 'nginx.conf'
    nginx_dump(tmp_path, {'10-default.conf': DEFAULT, '20-shop.conf': SHOP})
    calls = []

    def run(argv):
        calls.append(argv)
        return _run(argv + ['-c', str(conf)])
    roots, notes = fpm_document_roots(['/run/php/php8.4-fpm.sock', '127.0.0.1:9000'], run=run, nginx_binary=NGINX, apache_main='')
    assert ([r['root'] for r in roots], notes, calls) == (['/srv/shop/current/public'], [], [[NGINX, '-T']])
    # no pools: nothing is run; no nginx and no Apache: nothing found, nothing run
    assert fpm_document_roots([], run=run) == ([], [])
    assert fpm_document_roots(['/run/php/php8.4-fpm.sock'], run=run, nginx_binary='', apache_main='') == ([], [])
    assert len(calls) == 1


def test_fpm_document_roots_reports_a_failing_or_slow_nginx(tmp_path):
    roots, notes = fpm_document_roots(['/run/php/php8.2-fpm.sock'], run=lambda argv: (1, '', 'nginx: [emerg] unknown directive "x"'),
                                      nginx_binary=NGINX, apache_main='')
    assert roots == [] and notes == ['nginx: %s -T failed (exit 1): nginx: [emerg] unknown directive "x"' % NGINX]
    slow = tmp_path / 'slow-nginx'
    slow.write_text('#!/bin/sh\nsleep 5\n')
    slow.chmod(0o755)
    started = time.time()
    roots, notes = fpm_document_roots(['/run/php/php8.2-fpm.sock'], timeout=0.5, nginx_binary=str(slow), apache_main='')
    assert time.time() - started < 3
    assert roots == [] and 'did not answer within' in notes[0]


def test_live_document_roots_of_the_running_masters_pools(tmp_path):
    # the pools of a master the report knows (Debian's layout) and of one it does not (its own php-fpm.conf,
    # read here): nginx roots reaching either are kept, a root passed to no running pool is not
    from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
    from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import Master
    from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
    from ansible_collections.phpops.opcache.plugins.module_utils.webserver import live_document_roots
    from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.test_diagnose import BASE
    from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import build_tree

    layout = dict(BASE, **{'/etc/php/8.2/shop/php-fpm.conf': '[global]\n[shop]\nlisten = /run/php/shop.sock\n'})
    fs = HostFS(build_tree(tmp_path / 'root', layout))
    report = build_report(fs)
    shop = SHOP.replace('unix:/run/php/php8.4-fpm.sock', 'unix:/run/php/shop.sock')
    site = DEFAULT.replace('root /var/www/html;', 'root /srv/www/current/public;')
    (tmp_path / 'nginx').mkdir()
    text = nginx_dump(tmp_path / 'nginx', {'10-default.conf': site, '20-shop.conf': shop})

    def master(pid, config):
        return Master(pid, 1, 'php-fpm: master process (%s)' % config, config, '/usr/sbin/php-fpm8.2', False, None, 0, None, {})

    def roots(*masters):
        return live_document_roots(fs, report, list(masters), run=lambda argv: (0, text, ''), nginx_binary=NGINX, apache_main='')
    assert roots(master(10, '/etc/php/8.2/fpm/php-fpm.conf')) == ['/srv/www/current/public']
    assert roots(master(10, '/etc/php/8.2/fpm/php-fpm.conf'), master(20, '/etc/php/8.2/shop/php-fpm.conf')) == [
        '/srv/www/current/public', '/srv/shop/current/public']
    # an unreadable configuration has no pools, no masters nothing to ask
    assert roots(master(30, '/etc/php/8.2/gone/php-fpm.conf')) == [] and roots() == []
