# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery of PHP installations per distribution family, on fixture trees under a root prefix."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import (
    SAPI_MODULE_NAMES,
    DiscoveryError,
    discover,
    planned_commands,
    unknown_sapis,
    version_matches,
)

from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import Link, build_tree

OPCACHE = 'zend_extension=opcache\n'


def by_id(installations):
    return dict((i.id, i) for i in installations)


def test_debian_versions_and_sapis(tmp_path):
    root = build_tree(tmp_path, {
        '/etc/php/8.2/mods-available/opcache.ini': '; priority=10\nzend_extension=opcache.so\nopcache.jit=off\n',
        '/etc/php/8.2/cli/php.ini': '',
        '/etc/php/8.2/cli/conf.d/10-opcache.ini': Link('/etc/php/8.2/mods-available/opcache.ini'),
        '/etc/php/8.2/fpm/php.ini': '',
        '/etc/php/8.2/fpm/conf.d/10-opcache.ini': Link('/etc/php/8.2/mods-available/opcache.ini'),
        '/etc/php/8.2/fpm/php-fpm.conf': '[global]\n',
        '/etc/php/8.3/apache2/php.ini': '',
        '/etc/php/8.3/apache2/conf.d': None,
        '/etc/php/8.3/mods-available': None,
        '/usr/sbin/php-fpm8.2': '',
    })
    fs = HostFS(root)
    found = by_id(discover(fs))
    assert sorted(found) == ['debian:/etc/php/8.2', 'debian:/etc/php/8.3']
    php82 = found['debian:/etc/php/8.2']
    assert php82.version == '8.2' and php82.version_source == 'layout'
    assert sorted(php82.sapis) == ['cli', 'fpm']
    fpm = php82.sapis['fpm']
    assert fpm.main_ini(fs) == '/etc/php/8.2/fpm/php.ini'
    assert fpm.scan_dirs() == ['/etc/php/8.2/fpm/conf.d']
    assert fpm.fpm_conf == '/etc/php/8.2/fpm/php-fpm.conf'
    assert php82.binaries == {'fpm': '/usr/sbin/php-fpm8.2'}
    assert sorted(found['debian:/etc/php/8.3'].sapis) == ['apache2']


def test_php_sapi_ini_wins_over_php_ini(tmp_path):
    root = build_tree(tmp_path, {'/etc/php/8.2/cli/php.ini': '', '/etc/php/8.2/cli/php-cli.ini': ''})
    fs = HostFS(root)
    assert discover(fs)[0].sapis['cli'].main_ini(fs) == '/etc/php/8.2/cli/php-cli.ini'


def test_missing_main_ini_is_none(tmp_path):
    root = build_tree(tmp_path, {'/etc/php/8.2/cli/conf.d/10-opcache.ini': OPCACHE})
    fs = HostFS(root)
    assert discover(fs)[0].sapis['cli'].main_ini(fs) is None


def test_rhel(tmp_path):
    root = build_tree(tmp_path, {
        '/etc/php.ini': '', '/etc/php.d/10-opcache.ini': OPCACHE, '/etc/php-fpm.conf': 'include=/etc/php-fpm.d/*.conf\n',
        '/etc/php-fpm.d/www.conf': '[www]\nlisten = /run/php-fpm/www.sock\n',
    })
    found = by_id(discover(HostFS(root)))
    rhel = found['rhel:/etc/php.ini']
    assert rhel.version is None
    assert sorted(rhel.sapis) == ['cli', 'fpm']
    assert rhel.sapis['fpm'].scan_dirs() == ['/etc/php.d']
    assert rhel.sapis['fpm'].fpm_conf == '/etc/php-fpm.conf'


def test_remi_scl_side_by_side(tmp_path):
    root = build_tree(tmp_path, {
        '/etc/opt/remi/php83/php.ini': '', '/etc/opt/remi/php83/php.d/10-opcache.ini': OPCACHE,
        '/etc/opt/remi/php83/php-fpm.conf': '',
        '/etc/opt/remi/php81/php.ini': '', '/etc/opt/remi/php81/php.d': None,
        '/opt/remi/php83/root/usr/sbin/php-fpm': '',
    })
    found = by_id(discover(HostFS(root)))
    assert found['remi:/etc/opt/remi/php83'].version == '8.3'
    assert found['remi:/etc/opt/remi/php81'].version == '8.1'
    assert sorted(found['remi:/etc/opt/remi/php83'].sapis) == ['cli', 'fpm']
    assert sorted(found['remi:/etc/opt/remi/php81'].sapis) == ['cli']


def test_alpine(tmp_path):
    root = build_tree(tmp_path, {
        '/etc/php83/php.ini': '', '/etc/php83/conf.d/00_opcache.ini': OPCACHE, '/etc/php83/php-fpm.conf': '',
        '/usr/sbin/php-fpm83': '',
    })
    inst = by_id(discover(HostFS(root)))['alpine:/etc/php83']
    assert inst.version == '8.3'
    assert inst.sapis['fpm'].scan_dirs() == ['/etc/php83/conf.d']
    assert inst.binaries['fpm'] == '/usr/sbin/php-fpm83'


def test_arch_is_not_mistaken_for_debian(tmp_path):
    root = build_tree(tmp_path, {'/etc/php/php.ini': OPCACHE, '/etc/php/conf.d': None, '/etc/php/php-fpm.conf': ''})
    found = by_id(discover(HostFS(root)))
    assert list(found) == ['arch:/etc/php']
    assert sorted(found['arch:/etc/php'].sapis) == ['cli', 'fpm']


def test_docker_official_image(tmp_path):
    root = build_tree(tmp_path, {
        '/usr/local/etc/php/conf.d/docker-php-ext-opcache.ini': 'zend_extension=opcache\n',
        '/usr/local/etc/php/php.ini-production': '',
        '/usr/local/etc/php-fpm.conf': 'include=etc/php-fpm.d/*.conf\n',
    })
    inst = by_id(discover(HostFS(root)))['docker:/usr/local/etc/php']
    fs = HostFS(root)
    assert inst.sapis['fpm'].main_ini(fs) is None, 'docker images ship no php.ini by default'
    assert inst.sapis['fpm'].scan_dirs() == ['/usr/local/etc/php/conf.d']


def test_family_filter(tmp_path):
    root = build_tree(tmp_path, {'/etc/php/8.2/cli/php.ini': '', '/etc/php.ini': ''})
    assert [i.family for i in discover(HostFS(root), families=['rhel'])] == ['rhel']


def test_explicit_tree(tmp_path):
    root = build_tree(tmp_path, {'/opt/app/php.ini': '', '/opt/app/conf.d/a.ini': ''})
    inst = discover(HostFS(root), explicit=[{'php_ini': '/opt/app/php.ini', 'scan_dirs': ['/opt/app/conf.d', ''], 'sapi': 'fpm', 'version': '8.3'}])[0]
    assert inst.family == 'explicit' and inst.version == '8.3'
    assert inst.sapis['fpm'].main_ini(HostFS(root)) == '/opt/app/php.ini'
    # An empty element stands for the compiled-in default directory, which an explicit tree has not.
    assert inst.sapis['fpm'].scan_dirs() == ['/opt/app/conf.d']


def test_explicit_binary_without_commands_is_a_clear_error(tmp_path):
    with pytest.raises(DiscoveryError, match='commands cannot run'):
        discover(HostFS(str(tmp_path)), explicit=[{'binary': '/usr/bin/php'}])


def test_binary_confirms_version(tmp_path):
    root = build_tree(tmp_path, {'/etc/php/8.2/cli/php.ini': '', '/usr/bin/php8.2': ''})
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, 'PHP 8.2.36 (cli) (built: Nov 18 2026)\nCopyright (c) The PHP Group\n', ''

    inst = discover(HostFS(root), run_command=run)[0]
    assert inst.version == '8.2.36' and inst.version_source == 'binary'
    assert calls == [['/usr/bin/php8.2', '-n', '-v']]


def test_empty_host_finds_nothing(tmp_path):
    assert discover(HostFS(str(tmp_path))) == []


@pytest.mark.parametrize('version, wanted, selected', [
    ('8.2.36', None, True),
    ('8.2.36', [], True),
    (None, [], True),
    ('8.2.36', ['8'], True),
    ('8.2.36', ['8.2'], True),
    ('8.2.36', ['8.2.36'], True),
    ('8.2.36', ['8.2.3'], False),
    ('8.2.36', ['8.3', '7'], False),
    ('8.2.36', ['8.3', '8.2'], True),
    ('8.2', ['8.2'], True),
    ('8.2', ['8.2.36'], False),
    ('8.20.1', ['8.2'], False),
    (None, ['8.2'], False),
])
def test_version_selection_rule(version, wanted, selected):
    assert version_matches(version, wanted) is selected


def test_unknown_sapis_are_named_with_the_known_ones():
    unknown, known = unknown_sapis(['fpm', 'bogus', 'cli'])
    assert unknown == ['bogus']
    assert known == sorted(SAPI_MODULE_NAMES)
    assert unknown_sapis(None) == ([], sorted(SAPI_MODULE_NAMES))


def _recording(answers):
    """A run_command that records each argv and answers from ``answers`` (binary -> (rc, out))."""
    calls = []

    def run(argv):
        calls.append(argv)
        rc, out = answers.get(argv[0], (1, ''))
        return rc, out, ''
    return run, calls


def test_planned_commands_are_the_ones_discover_runs_first(tmp_path):
    root = build_tree(tmp_path, {
        '/etc/php/8.2/cli/php.ini': '', '/usr/bin/php8.2': '', '/etc/php/8.2/fpm/php.ini': '', '/usr/sbin/php-fpm8.2': '',
        '/etc/php/8.3/fpm/php.ini': '', '/usr/sbin/php-fpm8.3': '', '/etc/php/8.1/cli/php.ini': '',
    })
    fs = HostFS(root)
    version = (0, 'PHP 8.2.36 (cli) (built: Nov 18 2026)\n')
    run, calls = _recording({'/usr/bin/php8.2': version, '/usr/sbin/php-fpm8.3': (0, 'PHP 8.3.4 (fpm-fcgi)\n')})
    found = by_id(discover(fs, run_command=run))
    planned = planned_commands(fs)
    assert planned == [['/usr/bin/php8.2', '-n', '-v'], ['/usr/sbin/php-fpm8.3', '-n', '-v']]
    assert calls == planned
    assert found['debian:/etc/php/8.2'].version == '8.2.36' and found['debian:/etc/php/8.3'].version == '8.3.4'
    assert found['debian:/etc/php/8.1'].version == '8.1', 'no binary: the layout version stays'
    assert planned_commands(fs, families=['rhel']) == []


def test_a_broken_first_binary_is_followed_by_the_next(tmp_path):
    """Only the first binary of an installation is planned; when it fails, discover asks the next."""
    root = build_tree(tmp_path, {'/etc/php/8.2/cli/php.ini': '', '/usr/bin/php8.2': '', '/etc/php/8.2/fpm/php.ini': '',
                                 '/usr/sbin/php-fpm8.2': ''})
    fs = HostFS(root)
    run, calls = _recording({'/usr/sbin/php-fpm8.2': (0, 'PHP 8.2.36 (fpm-fcgi)\n')})
    inst = discover(fs, run_command=run)[0]
    assert inst.version == '8.2.36' and inst.version_source == 'binary'
    assert calls == [['/usr/bin/php8.2', '-n', '-v'], ['/usr/sbin/php-fpm8.2', '-n', '-v']]
    assert planned_commands(fs) == calls[:1]


def test_planned_commands_of_explicit_binaries(tmp_path):
    root = build_tree(tmp_path, {'/opt/php/bin/php': '', '/opt/php/sbin/php-fpm': ''})
    fs = HostFS(root)
    explicit = [{'binary': '/opt/php/bin/php'}, {'binary': '/opt/php/sbin/php-fpm', 'sapi': 'fpm'}, {'binary': '/opt/missing/php'},
                {'php_ini': '/opt/php/php.ini'}]
    assert planned_commands(fs, explicit) == [
        ['/opt/php/bin/php', '-n', '-r', 'echo json_encode([PHP_VERSION, PHP_CONFIG_FILE_PATH, PHP_CONFIG_FILE_SCAN_DIR]);'],
        ['/opt/php/sbin/php-fpm', '-i'],
    ]
    run, calls = _recording({'/opt/php/bin/php': (0, '["8.2.36", "/opt/php/etc", ""]\n'),
                             '/opt/php/sbin/php-fpm': (0, 'PHP Version => 8.2.36\nConfiguration File (php.ini) Path => /opt/php/etc\n'
                                                          'Scan this dir for additional .ini files => (none)\n')})
    found = discover(fs, run_command=run, explicit=explicit[:2])
    assert calls == planned_commands(fs, explicit[:2])
    assert [(i.version, sorted(i.sapis), i.sapis[sorted(i.sapis)[0]].config_dir) for i in found] == [
        ('8.2.36', ['cli'], '/opt/php/etc'), ('8.2.36', ['fpm'], '/opt/php/etc')]


def test_an_fpm_binary_that_does_not_name_its_paths_is_a_clear_error(tmp_path):
    fs = HostFS(build_tree(tmp_path, {'/opt/php/sbin/php-fpm': ''}))
    run, dummy = _recording({'/opt/php/sbin/php-fpm': (0, 'PHP Version => 8.2.36\n')})
    with pytest.raises(DiscoveryError, match='did not report its version and paths'):
        discover(fs, run_command=run, explicit=[{'binary': '/opt/php/sbin/php-fpm', 'sapi': 'fpm'}])
