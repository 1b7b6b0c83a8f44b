# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""live.releases: current -> releases/N roots and the cache each release holds."""

from __future__ import annotations

import os
import time

from ansible_collections.phpops.opcache.plugins.module_utils.live import releases
from ansible_collections.phpops.opcache.plugins.module_utils.live.stale import changed_at


def _layout(tmp_path):
    site = tmp_path / 'site'
    for n in ('1', '2', '3'):
        (site / 'releases' / n).mkdir(parents=True)
    os.symlink(str(site / 'releases' / '3'), str(site / 'current'))
    (tmp_path / 'plain').mkdir()
    return site


def test_release_roots(tmp_path):
    site = _layout(tmp_path)
    found = releases.release_roots([str(site / 'current') + '/', str(tmp_path / 'plain') + '/', str(tmp_path / 'missing')])
    assert found == [{'root': str(site / 'current'), 'current': str(site / 'releases' / '3'), 'releases_dir': str(site / 'releases')}]


def test_release_roots_in_a_chroot(tmp_path):
    site = tmp_path / 'jail' / 'srv'
    (site / 'releases' / '7').mkdir(parents=True)
    os.symlink('releases/7', str(site / 'current'))
    assert releases.release_roots(['/srv/current/'], chroot=str(tmp_path / 'jail')) == [
        {'root': '/srv/current', 'current': '/srv/releases/7', 'releases_dir': '/srv/releases'}]


def test_group_by_release(tmp_path):
    root = {'root': '/s/current', 'current': '/s/releases/3', 'releases_dir': '/s/releases'}
    scripts = [['/s/releases/1/a.php', 1, 1, 1, 1000], ['/s/releases/1/b.php', 1, 1, 1, 500], ['/s/releases/2/a.php', 1, 1, 1, 700],
               ['/s/releases/3/a.php', 1, 1, 1, 900], ['/elsewhere/x.php', 1, 1, 1, 50], ['/s/releases/2/c.php', 1, 1, 1, None]]
    view = releases.group_by_release(scripts, [root])[0]
    assert [(r['name'], r['current'], r['scripts'], r['memory']) for r in view['releases']] == [
        ('1', False, 2, 1500), ('2', False, 2, 700), ('3', True, 1, 900)]
    assert (view['old_releases'], view['old_scripts'], view['old_memory']) == (['1', '2'], 4, 2200)
    # only the current release cached: nothing held by old ones
    assert releases.group_by_release(scripts[3:4], [root])[0]['old_scripts'] == 0


def test_preload_view(tmp_path):
    site = _layout(tmp_path)
    root = releases.release_roots([str(site / 'current')])
    script = str(site / 'current' / 'preload.php')
    stats = {'memory_consumption': 4096, 'functions': ['f'], 'classes': ['A', 'B'], 'scripts': [script, '/app/lib.php']}
    mtimes = {script: 100, '/app/lib.php': 300}
    view = releases.preload_view({'opcache.preload': {'value': script}, 'opcache.preload_user': {'value': 'www-data'}}, stats, root, 200, mtimes.get)
    assert (view['script'], view['user'], view['memory'], view['functions'], view['classes']) == (script, 'www-data', 4096, 1, 2)
    assert view['changed'] == [{'file': '/app/lib.php', 'mtime': 300}]
    assert view['in_release'] == str(site / 'releases')
    # outside any release, nothing changed; no preloading at all
    quiet = releases.preload_view({'opcache.preload': {'value': '/app/p.php'}}, {'scripts': ['/app/p.php']}, root, 200, {'/app/p.php': 100}.get)
    assert (quiet['changed'], quiet['in_release']) == ([], None)
    assert releases.preload_view({'opcache.preload': {'value': ''}}, None, root, 200, mtimes.get)['script'] is None
    # a preload script removed from disk counts as changed
    assert releases.preload_view({'opcache.preload': {'value': '/gone.php'}}, {}, [], 200, {}.get)['changed'] == [{'file': '/gone.php', 'mtime': None}]


def test_release_roots_below_the_symlink(tmp_path):
    # a document root inside the release (nginx: root /srv/app/current/public): the release is what
    # current points to, not the public/ directory
    site = _layout(tmp_path)
    for n in ('1', '2', '3'):
        (site / 'releases' / n / 'public').mkdir()
    found = releases.release_roots([str(site / 'current' / 'public')])
    assert found == [{'root': str(site / 'current' / 'public'), 'current': str(site / 'releases' / '3'),
                      'releases_dir': str(site / 'releases')}]
    scripts = [[str(site / 'releases' / '1' / 'public' / 'index.php'), 1, 1, 1, 100],
               [str(site / 'releases' / '3' / 'public' / 'index.php'), 1, 1, 1, 300]]
    view = releases.group_by_release(scripts, found)[0]
    assert [(r['name'], r['current'], r['scripts']) for r in view['releases']] == [('1', False, 1), ('3', True, 1)]
    # a missing directory below the symlink is no root
    assert releases.release_roots([str(site / 'current' / 'missing')]) == []


def test_a_preloaded_file_replaced_with_its_old_mtime_counts_as_changed(tmp_path):
    # rsync -a / tar x / cp -p: the new content keeps the build's (old) mtime; the ctime says when it came
    lib = tmp_path / 'lib.php'
    lib.write_text('<?php // v2\n')
    os.utime(str(lib), (1000, 1000))
    loaded_at = time.time() - 60  # the master preloaded a minute ago
    assert changed_at(str(lib)) >= loaded_at and os.stat(str(lib)).st_mtime == 1000
    view = releases.preload_view({'opcache.preload': {'value': str(lib)}}, {'scripts': [str(lib)]}, [], loaded_at, changed_at)
    assert [c['file'] for c in view['changed']] == [str(lib)]
    # the same rule answers the invalidation: a removed file is listed with no time
    assert releases.changed_preloads(str(lib), [str(lib), '/gone.php'], loaded_at, changed_at) == [
        (str(lib), changed_at(str(lib))), ('/gone.php', None)]
