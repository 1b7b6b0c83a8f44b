# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File cache purge: only the cache's own .bin entries, never through a symlink."""

from __future__ import annotations

import os

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.file_cache import FileCacheError, cache_entries, purge

SYSTEM_ID = '0123456789abcdef0123456789abcdef'


def make_cache(tmp_path):
    cache = tmp_path / 'cache'
    app = cache / SYSTEM_ID / 'srv' / 'app'
    app.mkdir(parents=True)
    (app / 'index.php.bin').write_bytes(b'OPCACHE')
    (app / 'notes.txt').write_text('not ours')
    (cache / SYSTEM_ID / 'srv' / 'other.php.bin').write_bytes(b'OPCACHE')
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'victim.php.bin').write_bytes(b'keep me')
    os.symlink(str(outside), str(app / 'linked'))
    (cache / 'not-a-system-id').mkdir()
    (cache / 'not-a-system-id' / 'x.php.bin').write_bytes(b'keep')
    return cache, outside


def test_entries_map_back_to_scripts(tmp_path):
    cache, dummy = make_cache(tmp_path)
    scripts = sorted(script for dummy_entry, script, dummy_mtime in cache_entries(str(cache)))
    assert scripts == ['/srv/app/index.php', '/srv/other.php']


def test_purge_under_a_path_only(tmp_path):
    cache, outside = make_cache(tmp_path)
    result = purge(str(cache), under=['/srv/app'])
    assert result['removed'] == 1 and result['examples'] == ['/srv/app/index.php']
    assert (cache / SYSTEM_ID / 'srv' / 'other.php.bin').exists()
    assert (cache / SYSTEM_ID / 'srv' / 'app' / 'notes.txt').exists()
    assert (outside / 'victim.php.bin').exists(), 'a symlink out of the cache is never followed'


def test_check_mode_removes_nothing(tmp_path):
    cache, dummy = make_cache(tmp_path)
    assert purge(str(cache), check_mode=True)['removed'] == 2
    assert (cache / SYSTEM_ID / 'srv' / 'other.php.bin').exists()


def test_refuses_system_directories_and_relative_paths(tmp_path):
    with pytest.raises(FileCacheError, match='system directory'):
        purge('/etc')
    with pytest.raises(FileCacheError, match='absolute'):
        purge('relative/dir')
    with pytest.raises(FileCacheError, match='not a directory'):
        purge(str(tmp_path / 'missing'))
