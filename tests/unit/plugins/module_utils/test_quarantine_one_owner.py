# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""One owner (scope all), the operator's bad days (NUL bytes, huge files, a scan dir linked to /, a lost or
malformed manifest, two runs at once, a package bringing a file back) and the verification, on trees
under a ``root`` prefix."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine import conflicts
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.apply import apply_plan
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.plan import Request, plan, plan_changes
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.conflicts import accounted_for
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.restore import reads_any, restore
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import HostLock, QuarantineError, disabled_original
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.verify import binary_mismatches, info_values, mismatches
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import discover

from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.test_quarantine import (  # noqa: F401 pylint: disable=unused-import
    CONF_D, MANIFEST, PRODUCTION, SEED, _write, effective, make_plan, snapshot, tree,
)

DEVELOPMENT = dict(PRODUCTION, **{'opcache.validate_timestamps': True})


def _apply(root, **options):
    fs, the_plan = make_plan(root, **options)
    apply_plan(fs, the_plan, MANIFEST, options.get('profile'))
    return fs, the_plan


def test_one_owner_renames_the_incident_files_wherever_they_load(tree):
    before = snapshot(tree)
    fs, the_plan = make_plan(tree, settings=DEVELOPMENT, profile='development')
    assert [(r['path'].rsplit('/', 1)[1], r['to'].rsplit('/', 1)[1]) for r in the_plan['renames']] == [
        ('20-opcache_temp.ini', '20-opcache_temp.ini.DISABLED'),
        ('99-disable-opcache-temp.ini', '99-disable-opcache-temp.ini.DISABLED'),
        ('99-opcache-optimization.ini', '99-opcache-optimization.ini.DISABLED'),
        ('99-opcache.ini', '99-opcache.ini.DISABLED'),
    ]
    assert the_plan['earlier'] == [] and the_plan['comments'] == []
    apply_plan(fs, the_plan, MANIFEST, 'development')
    settings = effective(tree)
    for name in DEVELOPMENT:
        assert (settings[name].file, settings[name].overridden) == (CONF_D + '/zz-phpops-opcache.ini', []), name
    assert settings['opcache.validate_timestamps'].value == '1'
    assert settings['opcache.jit'].file == CONF_D + '/10-opcache.ini', "Debian's file still loads OPcache and keeps jit"
    for name, text in SEED.items():
        assert open(os.path.join(tree, CONF_D.lstrip('/'), name + '.DISABLED')).read() == text
    assert mismatches(fs, Request(settings=DEVELOPMENT, sapis=['fpm']), the_plan) == []
    dummy, again = make_plan(tree, settings=DEVELOPMENT, profile='development')
    assert not plan_changes(again), 'a second run changes nothing'
    restore(fs, MANIFEST)
    assert snapshot(tree) == before


def test_main_php_ini_and_mixed_files_get_only_their_lines_commented(tree):
    ini = '[PHP]\nmemory_limit = 128M\n[opcache]\nopcache.enable=0\n;opcache.jit=tracing\n'
    _write(tree, '/etc/php/8.2/fpm/php.ini', ini)
    _write(tree, CONF_D + '/05-mixed.ini', 'extension=redis.so\nopcache.validate_timestamps = 0\nopcache.jit_debug=0\n')
    before = snapshot(tree)
    fs, the_plan = _apply(tree)
    assert sorted(c['path'] for c in the_plan['comments']) == [CONF_D + '/05-mixed.ini', '/etc/php/8.2/fpm/php.ini']
    assert '/etc/php/8.2/fpm/php.ini' not in [r['path'] for r in the_plan['renames']]
    text = open(os.path.join(tree, 'etc/php/8.2/fpm/php.ini')).read()
    assert text == ini.replace('opcache.enable=0\n', '; disabled by phpops.opcache: opcache.enable=0\n')
    settings = effective(tree)
    assert settings['opcache.jit_debug'].value == '0' and settings['memory_limit'].value == '128M'
    assert settings['opcache.validate_timestamps'].overridden == []
    restore(fs, MANIFEST)
    assert snapshot(tree) == before


def test_debian_link_is_edited_in_its_target_only_when_every_reader_is_targeted(tree):
    before = snapshot(tree)
    jit = dict(PRODUCTION, **{'opcache.jit': 'tracing'})
    with pytest.raises(QuarantineError) as error:
        make_plan(tree, settings=jit)
    assert 'mods-available/opcache.ini' in str(error.value) and 'debian:/etc/php/8.2 cli' in str(error.value)
    fs, the_plan = _apply(tree, settings=jit, sapis=[])
    assert [c['path'] for c in the_plan['comments']] == ['/etc/php/8.2/mods-available/opcache.ini']
    assert sorted(the_plan['comments'][0]['via']) == ['/etc/php/8.2/cli/conf.d/10-opcache.ini', CONF_D + '/10-opcache.ini']
    assert os.path.islink(os.path.join(tree, CONF_D.lstrip('/'), '10-opcache.ini'))
    text = open(os.path.join(tree, 'etc/php/8.2/mods-available/opcache.ini')).read()
    assert 'zend_extension=opcache.so\n' in text and '; disabled by phpops.opcache: opcache.jit=off\n' in text
    restore(fs, MANIFEST)
    assert snapshot(tree) == before


def test_nul_byte_file_is_never_renamed(tree):
    """PHP 8.2 applies every line of such a file; renaming it dropped memory_limit=1G. Only the managed line may go."""
    raw = b'opcache.revalidate_freq=7\n\x00\nmemory_limit=1G\nextension=sodium\n'
    local = os.path.join(tree, CONF_D.lstrip('/'), 'zzz-nul.ini')
    with open(local, 'wb') as handle:
        handle.write(raw)
    before = snapshot(tree)
    fs, the_plan = make_plan(tree)
    assert CONF_D + '/zzz-nul.ini' not in [r['path'] for r in the_plan['renames']]
    assert [c['path'] for c in the_plan['comments']] == [CONF_D + '/zzz-nul.ini']
    apply_plan(fs, the_plan, MANIFEST)
    assert open(local, 'rb').read() == b'; disabled by phpops.opcache: ' + raw
    restore(fs, MANIFEST)
    assert snapshot(tree) == before


def test_accounted_for_needs_every_line_to_be_a_managed_assignment(tree):
    fs = HostFS(tree)
    path = CONF_D + '/60-x.ini'
    hits = [('value', 'opcache.enable', 2, '1')]
    _write(tree, path, '; c\n[opcache]\nopcache.enable=1\n')
    assert not accounted_for(fs, path, hits, hits, []), 'line numbers must match'
    _write(tree, path, '[opcache]\nopcache.enable=1\n\n; end\n')
    assert accounted_for(fs, path, hits, hits, [])
    _write(tree, path, '[opcache]\nopcache.enable=1\nthis is not ini\n')
    assert not accounted_for(fs, path, hits, hits, [])
    _write(tree, path, '[PATH=/srv]\nopcache.enable=1\n')
    assert not accounted_for(fs, path, hits, hits, [])


def test_a_file_the_engine_cannot_read_fails_naming_it(tree, monkeypatch):
    """Whatever the engine's read limit is: a file above it makes one owner unprovable."""
    class SmallChain(IniChain):
        def __init__(self, *args, **kwargs):
            kwargs['max_bytes'] = 4096
            super(SmallChain, self).__init__(*args, **kwargs)

    monkeypatch.setattr(conflicts, 'IniChain', SmallChain)
    _write(tree, CONF_D + '/zzz-huge.ini', ';' * 8192 + '\nopcache.validate_timestamps=0\n')
    before = snapshot(tree)
    with pytest.raises(QuarantineError) as error:
        make_plan(tree)
    assert CONF_D + '/zzz-huge.ini' in str(error.value) and 'cannot be proven' in str(error.value)
    assert snapshot(tree) == before


def test_scan_dir_linked_to_root_is_refused(tmp_path):
    root = str(tmp_path)
    _write(root, '/etc/php/8.2/fpm/php.ini', '[PHP]\n')
    _write(root, '/etc/php/8.2/fpm/php-fpm.conf', '[global]\n')
    os.symlink('/', os.path.join(root, 'etc/php/8.2/fpm/conf.d'))
    with pytest.raises(QuarantineError) as error:
        make_plan(root)
    assert 'is a symbolic link to /' in str(error.value) and 'refusing to write /zz-phpops-opcache.ini' in str(error.value)
    assert not os.path.exists(os.path.join(root, 'zz-phpops-opcache.ini'))


def test_scan_dir_linked_to_another_scan_dir_of_the_installation_is_allowed(tree):
    cli = os.path.join(tree, 'etc/php/8.2/cli/conf.d')
    for name in os.listdir(cli):
        os.unlink(os.path.join(cli, name))
    os.rmdir(cli)
    os.symlink('../fpm/conf.d', cli)
    dummy, the_plan = make_plan(tree, sapis=['cli'])
    assert the_plan['files'][0]['path'] == '/etc/php/8.2/cli/conf.d/zz-phpops-opcache.ini'


def test_messages_say_what_happened(tree):
    dummy, the_plan = make_plan(tree, settings={})
    assert the_plan['warnings'] == ['no opcache.* directive to set for debian:/etc/php/8.2 fpm (settings, version_settings and '
                                    'sapi_settings give none, or only null values): nothing to write']
    dummy, the_plan = make_plan(tree, sapis=['bogus'])
    assert the_plan['warnings'][0] == 'sapis: bogus not found on this host (found: cli, fpm)'
    assert the_plan['warnings'][1].startswith('no PHP installation/SAPI matched versions=all, sapis=bogus (found: debian:/etc/php/8.2 cli, fpm)')
    with pytest.raises(QuarantineError) as error:
        make_plan(tree, settings={'opcache.validate_timestamp': 0})
    message = str(error.value)
    assert 'opcache.validate_timestamp is not a known OPcache directive (did you mean opcache.validate_timestamps' in message
    assert 'PHP 8.2 knows: ' in message and 'opcache.jit_buffer_size' in message


def test_restore_without_manifest_names_what_it_found(tree):
    fs, dummy = _apply(tree)
    os.unlink(os.path.join(tree, MANIFEST.lstrip('/')))
    state = snapshot(tree)
    with pytest.raises(QuarantineError) as error:
        restore(fs, MANIFEST, discover(fs, None))
    message = str(error.value)
    assert 'the manifest %s is missing' % MANIFEST in message
    assert CONF_D + '/zz-phpops-opcache.ini' in message
    assert CONF_D + '/99-opcache-optimization.ini.DISABLED (was %s/99-opcache-optimization.ini)' % CONF_D in message
    assert 'Nothing was undone' in message
    assert snapshot(tree) == state


def test_restore_without_manifest_and_nothing_of_ours(tree):
    fs = HostFS(tree)
    _write(tree, CONF_D + '/99-old.ini.DISABLED', 'opcache.enable=0\n')
    outcome = restore(fs, MANIFEST, discover(fs, None))
    assert outcome['actions'] == [] and outcome['notes'] == ['nothing to restore: no manifest at %s and no managed file' % MANIFEST]
    assert 'not known to be this role' in outcome['warnings'][0] and '99-old.ini.DISABLED' in outcome['warnings'][0]


def test_malformed_manifest_entry_is_named(tree):
    fs, dummy = _apply(tree)
    local = os.path.join(tree, MANIFEST.lstrip('/'))
    manifest = json.load(open(local))
    del manifest['entries'][1]['original']
    json.dump(manifest, open(local, 'w'))
    with pytest.raises(QuarantineError) as error:
        restore(fs, MANIFEST)
    assert str(error.value) == 'manifest %s entry #2 (action rename, original ?) lacks original' % MANIFEST


def test_restore_removes_the_directories_it_created(tree):
    fs = HostFS(tree)
    lock = HostLock(fs, MANIFEST).acquire()
    assert lock.created_dirs == ['/var', '/var/lib', '/var/lib/phpops-opcache']
    dummy, the_plan = make_plan(tree)
    apply_plan(fs, the_plan, MANIFEST, created_dirs=lock.created_dirs)
    lock.release()
    outcome = restore(fs, MANIFEST)
    HostLock(fs, MANIFEST).acquire().release(remove=True)
    assert sorted(outcome['created_dirs']) == ['/var', '/var/lib', '/var/lib/phpops-opcache']
    from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import remove_empty_dirs
    remove_empty_dirs([fs.local(d) for d in outcome['created_dirs']])
    assert not os.path.exists(os.path.join(tree, 'var'))


def test_a_second_run_waits_for_the_lock_and_names_its_holder(tree):
    fs = HostFS(tree)
    first = HostLock(fs, MANIFEST).acquire()
    with pytest.raises(QuarantineError) as error:
        HostLock(fs, MANIFEST, wait=0.3).acquire()
    assert 'another phpops.opcache run holds %s.lock (pid %d, since ' % (MANIFEST, os.getpid()) in str(error.value)
    timer = threading.Timer(0.3, lambda: first.release(remove=True))
    timer.start()
    second = HostLock(fs, MANIFEST, wait=5).acquire()
    timer.join()
    assert os.path.exists(second.local)
    second.release()


def test_package_bringing_a_file_back_is_neutralised_again_and_restorable(tree):
    before = snapshot(tree)
    fs, dummy = _apply(tree)
    _write(tree, CONF_D + '/99-opcache-optimization.ini', SEED['99-opcache-optimization.ini'])
    assert mismatches(fs, Request(settings=PRODUCTION, sapis=['fpm']), make_plan(tree)[1])[0]['file'] == CONF_D + '/99-opcache-optimization.ini'
    dummy, again = _apply(tree)
    assert [r['to'] for r in again['renames']] == [CONF_D + '/99-opcache-optimization.ini.DISABLED.1']
    outcome = restore(fs, MANIFEST)
    assert [a['action'] for a in outcome['actions']].count('remove_duplicate') == 1
    assert snapshot(tree) == before


def test_info_values_and_binary_mismatches():
    output = 'opcache.enable => On => On\nopcache.validate_timestamps => Off => Off\nopcache.memory_consumption => 128 => 128\n'
    assert info_values(output)['opcache.validate_timestamps'] == 'Off'

    class Inst(object):
        id = 'debian:/etc/php/8.2'
        version = '8.2'
        binaries = {'fpm': '/usr/sbin/php-fpm8.2'}

    class Target(object):
        inst = Inst()
        sapi_name = 'fpm'
        label = 'debian:/etc/php/8.2 fpm'
        rendered = {'opcache.enable': ('1', '1'), 'opcache.validate_timestamps': ('1', '1'), 'opcache.memory_consumption': ('128', '128')}

    assert binary_mismatches(Target(), output) == [
        'debian:/etc/php/8.2 fpm: /usr/sbin/php-fpm8.2 shows opcache.validate_timestamps => Off, but the managed file sets On: '
        'another source wins that the engine does not see']


def test_disabled_original():
    assert disabled_original('a.ini.DISABLED') == 'a.ini'
    assert disabled_original('a.ini.DISABLED.12') == 'a.ini'
    assert disabled_original('a.ini') is None and disabled_original('.DISABLED') is None


def test_edited_file_later_renamed_restores_through_both_steps(tree):
    """opcache.jit is not managed at first, so the file is edited; once it is managed too, the rest is renamed."""
    _write(tree, CONF_D + '/30-tuning.ini', 'opcache.enable=1\nopcache.jit=tracing\n')
    before = snapshot(tree)
    fs, first = _apply(tree, sapis=[])
    assert [c['path'] for c in first['comments']] == [CONF_D + '/30-tuning.ini']
    dummy, second = _apply(tree, sapis=[], settings=dict(PRODUCTION, **{'opcache.jit': 'function'}))
    assert '/etc/php/8.2/mods-available/opcache.ini' in [c['path'] for c in second['comments']]
    assert CONF_D + '/30-tuning.ini' in [r['path'] for r in second['renames']]
    restore(fs, MANIFEST)
    assert snapshot(tree) == before


def test_package_replacing_an_edited_file_is_edited_again_and_restored_to_the_package_version(tree):
    ini = '[PHP]\nmemory_limit = 128M\nopcache.enable=0\n'
    _write(tree, '/etc/php/8.2/fpm/php.ini', ini)
    original = snapshot(tree)
    fs, dummy = _apply(tree)
    _write(tree, '/etc/php/8.2/fpm/php.ini', ini)        # the package puts its php.ini back
    dummy, again = _apply(tree)
    assert [c['path'] for c in again['comments']] == ['/etc/php/8.2/fpm/php.ini']
    restore(fs, MANIFEST)
    assert snapshot(tree) == original
    assert not os.path.exists(os.path.join(tree, 'var/lib/phpops-opcache/backups'))


def test_reads_any_knows_what_a_restore_must_reload(tree):
    fs = HostFS(tree)
    fpm = [i for i in discover(fs, None) if i.sapis.get('fpm')][0].sapis['fpm']
    assert reads_any(fs, fpm, ['/etc/php/8.2/fpm/php.ini'])
    assert reads_any(fs, fpm, ['/etc/php/8.2/fpm/pool.d/www.conf'])
    assert reads_any(fs, fpm, ['/etc/php/8.2/mods-available/opcache.ini', CONF_D + '/10-opcache.ini'])
    assert reads_any(fs, fpm, [CONF_D + '/99-opcache.ini'])
    assert not reads_any(fs, fpm, ['/etc/php/8.2/cli/conf.d/99-opcache.ini', '/etc/php/8.2/mods-available/opcache.ini'])


def test_a_line_that_cannot_be_commented_out_alone_is_refused_naming_it(tree):
    _write(tree, CONF_D + '/30-multi.ini', 'memory_limit=1G\nopcache.restrict_api="/srv\n/app"\n')
    before = snapshot(tree)
    with pytest.raises(QuarantineError) as error:
        make_plan(tree, settings={'opcache.restrict_api': '/srv'})
    assert error.value.errors == [CONF_D + '/30-multi.ini: commenting out lines 2 would change more than opcache.restrict_api (or the '
                                  'engine cannot read the file as PHP does); fix it by hand']
    assert snapshot(tree) == before


def test_a_sapi_without_scan_directory_is_named(tree):
    fs = HostFS(tree)
    installations = discover(fs, None)
    installations[0].sapis['fpm'].scan_dir_raw = ''
    with pytest.raises(QuarantineError) as error:
        plan(fs, Request(settings=PRODUCTION, sapis=['fpm']), installations)
    assert error.value.errors == ['debian:/etc/php/8.2 fpm: PHP reads no scan directory, so there is nowhere to put zz-phpops-opcache.ini']
