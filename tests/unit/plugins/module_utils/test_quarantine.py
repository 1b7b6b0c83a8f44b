# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Unit tests for plugins/module_utils/quarantine/, on Debian-like trees under a ``root`` prefix."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.apply import apply_plan
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.plan import Request, plan, plan_changes, plan_diff
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.restore import plan_restore, restore
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.settings import check_settings, merge_settings, render_value
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import QuarantineError, free_disabled_name
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import directives_for
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import discover

CONF_D = '/etc/php/8.2/fpm/conf.d'
MANIFEST = '/var/lib/phpops-opcache/manifest.json'
PRODUCTION = {
    'opcache.enable': True,
    'opcache.validate_timestamps': False,
    'opcache.revalidate_freq': 0,
    'opcache.memory_consumption': 256,
    'opcache.interned_strings_buffer': 32,
    'opcache.max_accelerated_files': 32531,
}
SEED = {
    '20-opcache_temp.ini': 'opcache.enable=0\n',
    '99-disable-opcache-temp.ini': 'opcache.enable=0\n',
    '99-opcache-optimization.ini': 'opcache.enable=1\nopcache.validate_timestamps=0\nopcache.revalidate_freq=0\n',
    '99-opcache.ini': 'opcache.memory_consumption=256\n',
}


def _write(root, path, text):
    local = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(local), exist_ok=True)
    with open(local, 'w') as handle:
        handle.write(text)
    return local


@pytest.fixture
def tree(tmp_path):
    """A Debian php8.2 layout (fpm + cli) with the incident's five conf.d files."""
    root = str(tmp_path)
    _write(root, '/etc/php/8.2/mods-available/opcache.ini', '; priority=10\nzend_extension=opcache.so\nopcache.jit=off\n')
    for sapi in ('fpm', 'cli'):
        _write(root, '/etc/php/8.2/%s/php.ini' % sapi, '[PHP]\nmemory_limit = 128M\n')
        os.makedirs(os.path.join(root, 'etc/php/8.2/%s/conf.d' % sapi), exist_ok=True)
        os.symlink('/etc/php/8.2/mods-available/opcache.ini', os.path.join(root, 'etc/php/8.2/%s/conf.d/10-opcache.ini' % sapi))
    _write(root, '/etc/php/8.2/fpm/php-fpm.conf', '[global]\npid = /run/php/php8.2-fpm.pid\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n')
    _write(root, '/etc/php/8.2/fpm/pool.d/www.conf', '[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n')
    for name, text in SEED.items():
        _write(root, CONF_D + '/' + name, text)
    return root


def snapshot(root):
    """Every file and link under root/etc: path -> ('link', target) or ('file', bytes, mode)."""
    result = {}
    for directory, dirs, files in os.walk(os.path.join(root, 'etc')):
        for name in dirs + files:
            local = os.path.join(directory, name)
            if os.path.islink(local):
                result[local] = ('link', os.readlink(local))
            elif os.path.isfile(local):
                with open(local, 'rb') as handle:
                    result[local] = ('file', handle.read(), os.stat(local).st_mode)
    return result


def make_plan(root, **params):
    fs = HostFS(root)
    options = {'settings': PRODUCTION, 'profile': 'production', 'sapis': ['fpm']}
    options.update(params)
    return fs, plan(fs, Request(**options), discover(fs, None))


def effective(root, sapi='fpm'):
    fs = HostFS(root)
    base = '/etc/php/8.2/%s' % sapi
    return IniChain(fs, version='8.2').load(base + '/php.ini', [base + '/conf.d']).settings


# -- values -------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, value, text, php', [
    ('opcache.jit', 'off', '"off"', 'off'),
    ('opcache.jit', False, '"off"', 'off'),
    ('opcache.jit', 'tracing', '"tracing"', 'tracing'),
    ('opcache.jit', '1255', '1255', '1255'),
    ('opcache.enable', True, '1', '1'),
    ('opcache.validate_timestamps', 'off', '0', '0'),
    ('opcache.memory_consumption', 256, '256', '256'),
    ('opcache.jit_buffer_size', '64M', '64M', '64M'),
    ('opcache.preload', '/srv/app/preload.php', '"/srv/app/preload.php"', '/srv/app/preload.php'),
    ('opcache.restrict_api', 'on', '"on"', 'on'),
    ('opcache.jit_prof_threshold', 0.01, '0.01', '0.01'),
])
def test_render_value_is_read_back_by_php_as_meant(name, value, text, php):
    assert render_value(name, value, directives_for('8.2')[name]) == (text, php)


@pytest.mark.parametrize('name, value, message', [
    ('opcache.memory_consumption', 'lots', 'expects an integer'),
    ('opcache.memory_consumption', 4, 'between 8'),
    ('opcache.max_accelerated_files', 100, 'between 200 and 1000000'),
    ('opcache.enable', 'maybe', 'expects a boolean'),
    ('opcache.jit', 'fast', 'four-digit'),
    ('opcache.preload', '/a"b', 'double quotes'),
    ('opcache.preload', '${HOME}/x', '${...}'),
])
def test_render_value_rejects_wrong_types_naming_the_option(name, value, message):
    with pytest.raises(ValueError) as error:
        render_value(name, value, directives_for('8.2')[name])
    assert name in str(error.value) and message in str(error.value)


def test_check_settings_knows_removed_unknown_and_foreign_directives():
    rendered, errors = check_settings({'opcache.consistency_checks': 1, 'opcache.nope': 1, 'memory_limit': '1G',
                                       'opcache.enable': 1, 'opcache.file_cache_read_only': 1}, '8.3.4')
    assert list(rendered) == ['opcache.enable']
    joined = '\n'.join(errors)
    assert 'opcache.consistency_checks does not exist in PHP 8.3.4' in joined
    assert 'opcache.file_cache_read_only does not exist in PHP 8.3.4' in joined
    assert 'opcache.nope is not a known OPcache directive' in joined
    assert 'memory_limit is not an OPcache directive' in joined
    assert check_settings({'opcache.consistency_checks': 1}, '8.2')[1] == []


def test_merge_settings_precedence_and_null_removes():
    merged = merge_settings({'opcache.enable': 1, 'opcache.jit': 'tracing'},
                            {'8.2': {'opcache.jit': 'function'}, '8.3': {'opcache.jit': 'off'}},
                            {'cli': {'opcache.jit': None}, 'fpm': {'opcache.enable': 0}}, '8.2.36', 'cli')
    assert merged == {'opcache.enable': 1}
    merged = merge_settings({'opcache.enable': 1}, {'8.2': {'opcache.jit': 'function'}}, {'fpm': {'opcache.enable': 0}}, '8.2.36', 'fpm')
    assert merged == {'opcache.enable': 0, 'opcache.jit': 'function'}


# -- planning -------------------------------------------------------------------------------------

def test_scope_later_on_the_seed_only_reports_earlier_files(tree):
    """scope=later (the behaviour before one owner): the incident's files all sort before zz-phpops-opcache.ini,
    they lose, so they are only reported."""
    before = snapshot(tree)
    dummy, the_plan = make_plan(tree, scope='later')
    assert snapshot(tree) == before, 'planning must not write'
    assert the_plan['renames'] == []
    assert [(e['file'].rsplit('/', 1)[1], e['line'], e['directive']) for e in the_plan['earlier']] == [
        ('20-opcache_temp.ini', 1, 'opcache.enable'),
        ('99-disable-opcache-temp.ini', 1, 'opcache.enable'),
        ('99-opcache-optimization.ini', 1, 'opcache.enable'),
        ('99-opcache-optimization.ini', 2, 'opcache.validate_timestamps'),
        ('99-opcache-optimization.ini', 3, 'opcache.revalidate_freq'),
        ('99-opcache.ini', 1, 'opcache.memory_consumption'),
    ]
    assert the_plan['files'][0]['path'] == CONF_D + '/zz-phpops-opcache.ini'
    text = the_plan['files'][0]['text']
    assert 'Managed by phpops.opcache' in text and 'Profile: production' in text
    assert '\nzend_extension' not in text
    assert 'opcache.validate_timestamps = 0\n' in text and 'opcache.max_accelerated_files = 32531\n' in text
    assert plan_changes(the_plan)


def test_scope_later_renames_files_that_load_later(tree):
    _write(tree, CONF_D + '/zzz-legacy-opcache.ini', 'opcache.validate_timestamps=1\nopcache.enable=1\n')
    _write(tree, CONF_D + '/zz-phpops-opcache.ini.ini', 'opcache.memory_consumption=64\n')
    _write(tree, CONF_D + '/zzz-unrelated.ini', 'opcache.jit_debug=0\nmemory_limit=1G\n')
    dummy, the_plan = make_plan(tree, scope='later')
    assert [(r['path'], r['to'], r['directives']) for r in the_plan['renames']] == [
        (CONF_D + '/zz-phpops-opcache.ini.ini', CONF_D + '/zz-phpops-opcache.ini.ini.DISABLED', ['opcache.memory_consumption']),
        (CONF_D + '/zzz-legacy-opcache.ini', CONF_D + '/zzz-legacy-opcache.ini.DISABLED', ['opcache.enable', 'opcache.validate_timestamps']),
    ]
    headers = [d['after_header'] for d in plan_diff(the_plan)]
    assert CONF_D + '/zz-phpops-opcache.ini' in headers
    assert CONF_D + '/zzz-legacy-opcache.ini (renamed to %s/zzz-legacy-opcache.ini.DISABLED)' % CONF_D in headers


def test_scope_later_apply_makes_the_managed_file_win_and_second_plan_is_empty(tree):
    _write(tree, CONF_D + '/zzz-legacy-opcache.ini', 'opcache.validate_timestamps=1\n')
    _write(tree, CONF_D + '/zzzz-more.ini', 'opcache.enable=0\nopcache.revalidate_freq=60\n')
    fs, the_plan = make_plan(tree, scope='later')
    apply_plan(fs, the_plan, MANIFEST, 'production')
    settings = effective(tree)
    for name in PRODUCTION:
        assert settings[name].file == CONF_D + '/zz-phpops-opcache.ini', name
    assert settings['opcache.validate_timestamps'].value == '0'
    assert os.path.islink(os.path.join(tree, 'etc/php/8.2/fpm/conf.d/10-opcache.ini')), "Debian's symlink is kept"
    manifest = json.load(open(os.path.join(tree, MANIFEST.lstrip('/'))))
    renames = [e for e in manifest['entries'] if e['action'] == 'rename']
    assert len(renames) == 2 and all(len(e['sha256']) == 64 and e['time'] for e in renames)
    dummy, again = make_plan(tree, scope='later')
    assert not plan_changes(again)


def test_restore_puts_back_every_file_byte_identical(tree):
    _write(tree, CONF_D + '/zzz-legacy-opcache.ini', 'opcache.validate_timestamps=1\n')
    _write(tree, CONF_D + '/zzzz-more.ini', 'opcache.enable=0\nopcache.revalidate_freq=60\n')
    before = snapshot(tree)
    fs, the_plan = make_plan(tree)
    apply_plan(fs, the_plan, MANIFEST, 'production')
    assert snapshot(tree) != before
    dummy, development = make_plan(tree, settings=dict(PRODUCTION, **{'opcache.validate_timestamps': True}), profile='development')
    apply_plan(fs, development, MANIFEST, 'development')
    assert restore(fs, MANIFEST, check_mode=True)['actions']
    assert snapshot(tree) != before
    actions = restore(fs, MANIFEST)['actions']
    assert sorted(a['action'] for a in actions) == ['remove'] + ['rename'] * 6, 'the 4 incident files, the 2 later ones, the managed file'
    assert snapshot(tree) == before
    assert not os.path.exists(os.path.join(tree, MANIFEST.lstrip('/')))
    assert restore(fs, MANIFEST)['actions'] == []


def test_disabled_name_taken_is_never_overwritten(tree):
    _write(tree, CONF_D + '/zzz-opcache.ini', 'opcache.memory_consumption=64\n')
    taken = _write(tree, CONF_D + '/zzz-opcache.ini.DISABLED', 'old quarantine\n')
    fs, the_plan = make_plan(tree)
    rename = [r for r in the_plan['renames'] if r['path'].endswith('/zzz-opcache.ini')][0]
    assert rename['to'] == CONF_D + '/zzz-opcache.ini.DISABLED.1'
    apply_plan(fs, the_plan, MANIFEST)
    assert open(taken).read() == 'old quarantine\n'
    assert free_disabled_name(fs, CONF_D + '/zzz-opcache.ini') == CONF_D + '/zzz-opcache.ini.DISABLED.2'
    restore(fs, MANIFEST)
    assert open(taken).read() == 'old quarantine\n'
    assert open(os.path.join(tree, CONF_D.lstrip('/'), 'zzz-opcache.ini')).read() == 'opcache.memory_consumption=64\n'


def test_later_symlink_is_renamed_itself(tree):
    _write(tree, '/etc/php/8.2/mods-available/tuning.ini', 'opcache.validate_timestamps=1\n')
    link = os.path.join(tree, CONF_D.lstrip('/'), 'zzz-tuning.ini')
    os.symlink('/etc/php/8.2/mods-available/tuning.ini', link)
    fs, the_plan = make_plan(tree)
    rename = [r for r in the_plan['renames'] if r['path'].endswith('zzz-tuning.ini')][0]
    assert rename['symlink'] is True
    apply_plan(fs, the_plan, MANIFEST)
    assert os.path.islink(link + '.DISABLED') and os.readlink(link + '.DISABLED') == '/etc/php/8.2/mods-available/tuning.ini'
    assert open(os.path.join(tree, 'etc/php/8.2/mods-available/tuning.ini')).read() == 'opcache.validate_timestamps=1\n'


def test_debian_module_link_is_recorded_disabled_by_admin_and_restored(tree):
    """A package upgrade re-creates a conf.d link unless phpdismod's state says disabled_by_admin."""
    _write(tree, '/etc/php/8.2/mods-available/tuning.ini', 'opcache.validate_timestamps=1\n')
    os.symlink('../../mods-available/tuning.ini', os.path.join(tree, CONF_D.lstrip('/'), 'zzz-tuning.ini'))
    state = os.path.join(tree, 'var/lib/php/modules/8.2/fpm')
    _write(tree, '/var/lib/php/modules/8.2/fpm/enabled_by_maint/tuning', '')
    fs, the_plan = make_plan(tree)
    apply_plan(fs, the_plan, MANIFEST)
    assert os.path.exists(os.path.join(state, 'disabled_by_admin/tuning'))
    assert not os.path.exists(os.path.join(state, 'enabled_by_maint/tuning'))
    restore(fs, MANIFEST)
    assert os.path.islink(os.path.join(tree, CONF_D.lstrip('/'), 'zzz-tuning.ini'))
    assert os.path.exists(os.path.join(state, 'enabled_by_maint/tuning'))
    assert not os.path.exists(os.path.join(state, 'disabled_by_admin/tuning'))


@pytest.mark.parametrize('options', [{'scope': 'later'}, {'conflict_policy': 'fail'}])
def test_mixed_file_fails_with_policy_fail_naming_file_lines_and_options(tree, options):
    """scope=later keeps the old default (fail); scope=all fails too when asked to."""
    _write(tree, CONF_D + '/zzz-mixed.ini', '; tuning\nmemory_limit = 512M\nopcache.validate_timestamps = 1\nextension=redis.so\n')
    before = snapshot(tree)
    with pytest.raises(QuarantineError) as error:
        make_plan(tree, **options)
    message = str(error.value)
    assert CONF_D + '/zzz-mixed.ini' in message
    assert 'opcache.validate_timestamps (line 3)' in message
    assert 'memory_limit (line 2)' in message and 'extension=redis.so (line 4)' in message
    assert 'comment_lines' in message
    assert snapshot(tree) == before


def test_mixed_file_with_comment_lines_keeps_a_copy_and_restores(tree):
    text = '; tuning\nmemory_limit = 512M\nopcache.validate_timestamps = 1\nextension=redis.so\n'
    path = _write(tree, CONF_D + '/zzz-mixed.ini', text)
    before = snapshot(tree)
    fs, the_plan = make_plan(tree, conflict_policy='comment_lines')
    assert [c['path'] for c in the_plan['comments']] == [CONF_D + '/zzz-mixed.ini']
    apply_plan(fs, the_plan, MANIFEST)
    edited = open(path).read()
    assert '; disabled by phpops.opcache: opcache.validate_timestamps = 1\n' in edited
    assert 'memory_limit = 512M\n' in edited and 'extension=redis.so\n' in edited
    assert effective(tree)['memory_limit'].value == '512M'
    assert effective(tree)['opcache.validate_timestamps'].file == CONF_D + '/zz-phpops-opcache.ini'
    restore(fs, MANIFEST)
    assert snapshot(tree) == before


def test_invalid_value_writes_nothing(tree):
    before = snapshot(tree)
    with pytest.raises(QuarantineError) as error:
        make_plan(tree, settings={'opcache.memory_consumption': 'huge', 'opcache.jit': 'fast'})
    assert 'opcache.memory_consumption' in str(error.value) and 'opcache.jit' in str(error.value)
    assert snapshot(tree) == before


def test_failed_validation_rolls_back_everything(tree):
    before = snapshot(tree)
    _write(tree, CONF_D + '/zz-phpops-opcache.ini', '; older managed file\nopcache.enable=1\n')
    before = snapshot(tree)
    fs, the_plan = make_plan(tree)
    calls = []

    def failing():
        calls.append(snapshot(tree))
        return ['php-fpm8.2 -t exited 78: ERROR: FPM initialization failed']

    with pytest.raises(QuarantineError) as error:
        apply_plan(fs, the_plan, MANIFEST, validate=failing)
    assert 'FPM initialization failed' in str(error.value)
    assert calls and calls[0] != before, 'validation runs with the new files in place'
    assert snapshot(tree) == before
    assert not os.path.exists(os.path.join(tree, MANIFEST.lstrip('/')))


def test_restore_refuses_when_original_came_back(tree):
    _write(tree, CONF_D + '/zzz-opcache.ini', 'opcache.memory_consumption=64\n')
    fs, the_plan = make_plan(tree)
    apply_plan(fs, the_plan, MANIFEST)
    _write(tree, CONF_D + '/zzz-opcache.ini', 'opcache.memory_consumption=64\n')
    dummy, actions, problems, notes = plan_restore(fs, MANIFEST)
    assert any('zzz-opcache.ini exists again' in p for p in problems)
    state = snapshot(tree)
    with pytest.raises(QuarantineError):
        restore(fs, MANIFEST)
    assert snapshot(tree) == state


def test_pool_overrides_are_reported(tree):
    _write(tree, '/etc/php/8.2/fpm/pool.d/www.conf',
           '[www]\nuser = www-data\nphp_admin_value[opcache.validate_timestamps] = 1\nphp_value[opcache.memory_consumption] = 64\n')
    dummy, the_plan = make_plan(tree)
    found = dict((o['directive'], o) for o in the_plan['pool_overrides'])
    assert found['opcache.validate_timestamps']['kind'] == 'php_admin_value' and found['opcache.validate_timestamps']['line'] == 3
    assert found['opcache.validate_timestamps']['takes_effect'] is True
    assert found['opcache.memory_consumption']['takes_effect'] is False
    assert any('pool [www]' in w for w in the_plan['warnings'])


def test_pool_overrides_commented_out_by_option_and_restored(tree):
    www = '[www]\nuser = www-data\nphp_value[opcache.validate_timestamps] = 1\nphp_admin_value[opcache.validate_timestamps] = 1\n' \
          'php_admin_value[memory_limit] = 256M\n'
    _write(tree, '/etc/php/8.2/fpm/pool.d/www.conf', www)
    fs, the_plan = make_plan(tree, pool_override_policy='comment_lines')
    assert the_plan['pool_overrides'] == []
    entry = [c for c in the_plan['comments'] if c['path'].endswith('www.conf')][0]
    assert entry['lines'] == [3, 4] and entry['directives'] == ['opcache.validate_timestamps']
    apply_plan(fs, the_plan, MANIFEST)
    after = open(os.path.join(tree, 'etc/php/8.2/fpm/pool.d/www.conf')).read()
    assert 'php_admin_value[memory_limit] = 256M' in after.splitlines()
    fpm = read_fpm_config(fs, '/etc/php/8.2/fpm/php-fpm.conf')
    assert fpm.pools[0].effective_override('opcache.validate_timestamps') == (None, [])
    dummy, second = make_plan(tree, pool_override_policy='comment_lines')
    assert not plan_changes(second), 'a second run changes nothing'
    restore(fs, MANIFEST)
    assert open(os.path.join(tree, 'etc/php/8.2/fpm/pool.d/www.conf')).read() == www


def test_cli_and_fpm_each_get_their_settings(tree):
    fs, the_plan = make_plan(tree, sapis=[], sapi_settings={'cli': {'opcache.enable_cli': False, 'opcache.validate_timestamps': True}})
    paths = [f['path'] for f in the_plan['files']]
    assert paths == ['/etc/php/8.2/cli/conf.d/zz-phpops-opcache.ini', CONF_D + '/zz-phpops-opcache.ini']
    cli = [e for e in the_plan['expected'] if e['sapi'] == 'cli' and e['directive'] == 'opcache.validate_timestamps'][0]
    assert cli['value'] == '1'
    apply_plan(fs, the_plan, MANIFEST)
    assert effective(tree, 'cli')['opcache.validate_timestamps'].value == '1'
    assert effective(tree, 'fpm')['opcache.validate_timestamps'].value == '0'


def test_versions_filter_and_bad_file_name(tree):
    dummy, the_plan = make_plan(tree, versions=['8.3'])
    assert the_plan['files'] == [] and the_plan['warnings']
    with pytest.raises(QuarantineError):
        make_plan(tree, file_name='../x.ini')


def test_managed_name_sorts_after_distribution_files():
    names = ['99-zzz.ini', 'Z-upper.ini', '10-opcache.ini', 'zz-phpops-opcache.ini', '20-opcache_temp.ini']
    ordered = sorted(names, key=lambda n: n.encode('utf-8'))
    assert ordered[-1] == 'zz-phpops-opcache.ini'


def test_invalid_value_does_not_turn_a_later_file_into_a_mixed_one(tree):
    _write(tree, CONF_D + '/zzz-opcache-legacy.ini', 'opcache.validate_timestamps=1\nopcache.memory_consumption=64\n')
    with pytest.raises(QuarantineError) as error:
        make_plan(tree, settings=dict(PRODUCTION, **{'opcache.memory_consumption': 'lots'}))
    assert error.value.errors == ["debian:/etc/php/8.2 fpm: opcache.memory_consumption expects an integer, got 'lots'"]


def test_a_warning_php_fpm_printed_before_the_change_is_not_new_in_a_later_second():
    from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.validate import problem_lines
    before = "[02-Dec-2026 16:03:18] NOTICE: PHP message: PHP Warning:  PHP Startup: Unable to load dynamic library 'sodium'\n"
    after = "[02-Dec-2026 16:03:19] NOTICE: PHP message: PHP Warning:  PHP Startup: Unable to load dynamic library 'sodium'\n" \
            "[02-Dec-2026 16:03:19] NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful\n"
    assert problem_lines(before) == problem_lines(after) == [
        "NOTICE: PHP message: PHP Warning:  PHP Startup: Unable to load dynamic library 'sodium'"]
