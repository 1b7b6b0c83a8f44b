# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""php-fpm.conf, include globs, pools and their ini overrides."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import _NOTHING_RE, read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import IniParser
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import build_tree


def read(tmp_path, layout, path='/etc/php/8.2/fpm/php-fpm.conf', env=None):
    root = build_tree(tmp_path, layout)
    return read_fpm_config(HostFS(root), path, env)


def test_includes_pools_and_overrides(tmp_path):
    config = read(tmp_path, {
        '/etc/php/8.2/fpm/php-fpm.conf': '[global]\npid = /run/php/php8.2-fpm.pid\nprocess_control_timeout = 10s\n'
                                         'include=/etc/php/8.2/fpm/pool.d/*.conf\n',
        '/etc/php/8.2/fpm/pool.d/a.conf': '[app]\nuser = app\nlisten = /run/php/$pool.sock\n'
                                          'php_admin_value[opcache.validate_timestamps] = 0\n'
                                          'php_value[opcache.revalidate_freq] = 5\n'
                                          'php_admin_flag[opcache.enable] = off\n'
                                          'php_flag[opcache.save_comments] = yes\n',
        '/etc/php/8.2/fpm/pool.d/b.conf': '[www]\nlisten = 127.0.0.1:9000\nchroot = /srv/jail\n',
        '/etc/php/8.2/fpm/pool.d/c.conf.disabled': '[nope]\n',
    })
    assert config.get('process_control_timeout') == '10s'
    assert [p.name for p in config.pools] == ['app', 'www']
    app, www = config.pools
    assert app.get('listen') == '/run/php/app.sock'
    assert www.get('chroot') == '/srv/jail'
    override, beaten = app.effective_override('opcache.validate_timestamps')
    assert (override.kind, override.value, override.line) == ('php_admin_value', '0', 4)
    assert beaten == []
    assert app.effective_override('opcache.enable')[0].value == '0', 'php_admin_flag off becomes "0"'
    assert app.effective_override('opcache.save_comments')[0].value == '1'
    assert config.files == ['/etc/php/8.2/fpm/php-fpm.conf', '/etc/php/8.2/fpm/pool.d/a.conf', '/etc/php/8.2/fpm/pool.d/b.conf']


def test_admin_value_beats_php_value_whatever_the_order(tmp_path):
    config = read(tmp_path, {'/etc/php/8.2/fpm/php-fpm.conf': '[www]\n'
                             'php_admin_value[opcache.validate_timestamps] = 0\n'
                             'php_value[opcache.validate_timestamps] = 1\n'})
    winner, beaten = config.pools[0].effective_override('opcache.validate_timestamps')
    assert (winner.kind, winner.value) == ('php_admin_value', '0')
    assert [(b.kind, b.value) for b in beaten] == [('php_value', '1')]


def test_syntax_error_and_missing_include_are_reported(tmp_path):
    config = read(tmp_path, {'/etc/php/8.2/fpm/php-fpm.conf': '[global]\ninclude=/nowhere/www.conf\n[www]\nlisten = "unterminated\nuser = www-data\n'})
    codes = sorted(code for code, dummy_path, dummy_line, dummy_msg in config.problems)
    assert codes == ['FPM_CONF_INCLUDE_MISSING', 'FPM_CONF_SYNTAX']
    assert config.pools[0].get('user') == 'www-data', 'FPM reads line by line: the next line still counts'


def test_include_loop_is_bounded(tmp_path):
    config = read(tmp_path, {'/etc/php/8.2/fpm/php-fpm.conf': 'include=/etc/php/8.2/fpm/php-fpm.conf\n'})
    assert any(code == 'FPM_CONF_INCLUDE_DEPTH' for code, dummy_path, dummy_line, dummy_msg in config.problems)


def test_env_reference(tmp_path):
    config = read(tmp_path, {'/etc/php/8.2/fpm/php-fpm.conf': '[www]\nlisten = ${SOCK_DIR}/www.sock\n'}, env={'SOCK_DIR': '/run/x'})
    assert config.pools[0].get('listen') == '/run/x/www.sock'


def test_unreadable_config_is_a_problem_not_a_crash(tmp_path):
    config = read(tmp_path, {'/etc/php/8.2/fpm/pool.d': None})
    assert config.pools == []
    assert config.problems[0][0] == 'FPM_CONF_UNREADABLE'


@pytest.mark.parametrize('line', ['', ' \t ', ';', '; comment', '  ;; x = 1 [pool] "', ';\x00 after a NUL', '\t; priority=10'])
def test_a_line_skipped_before_the_parser_is_one_php_reads_as_nothing(line):
    """fpm_config hands PHP's parser only lines that can hold something: a blank or comment-only
    line it skips must be one the parser reads as an end of line, with no entry and no error."""
    assert _NOTHING_RE.match(line)
    parsed = IniParser(lookup={}.get).parse(line + '\n')
    assert (parsed.entries, parsed.errors, parsed.notes, parsed.sections) == ([], [], [], [])


@pytest.mark.parametrize('line', ['x', ' x = 1 ; c', '\ufeff; bom', '[www]', '"', '= ;'])
def test_a_line_with_anything_else_goes_to_the_parser(line):
    assert not _NOTHING_RE.match(line)
