# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the verified invalidation: the canary file, leftovers."""

from __future__ import annotations

import os
import time

from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import PROBE_NAME_RE, cleanup_leftovers
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import (
    CANARY_PREFIX,
    stage_canary,
    swap_canary,
    write_canary,
)


def _site(tmp_path):
    return {'host_dir': str(tmp_path), 'host_path': str(tmp_path / ('phpops-probe-1-%s.php' % ('a' * 32))), 'gid': None, 'ext': '.php'}


def test_canary_is_replaced_atomically_with_the_given_mtime(tmp_path):
    site = _site(tmp_path)
    then = time.time() - 60
    write_canary(site, 'old', then, set())
    first_inode = os.stat(site['host_path']).st_ino
    write_canary(site, 'new', then + 30, set())
    assert open(site['host_path']).read() == "<?php\necho '%snew';\n" % CANARY_PREFIX
    assert int(os.stat(site['host_path']).st_mtime) == int(then + 30)
    assert os.stat(site['host_path']).st_ino != first_inode, 'a new file, renamed over the old one'
    assert sorted(os.listdir(str(tmp_path))) == [os.path.basename(site['host_path'])]


def test_a_staged_canary_is_a_probe_named_file_that_a_later_run_cleans_up(tmp_path):
    site = _site(tmp_path)
    in_use = set()
    write_canary(site, 'old', time.time() - 60, in_use)
    stage_canary(site, 'new', time.time() - 30, in_use)
    stage_canary(site, 'newer', time.time() - 30, in_use)  # staging again replaces the staged file
    staged = site['staged']
    assert sorted(os.listdir(str(tmp_path))) == sorted([os.path.basename(site['host_path']), os.path.basename(staged)])
    assert PROBE_NAME_RE.match(os.path.basename(staged))
    assert cleanup_leftovers(str(tmp_path), in_use=in_use) == [], 'in use by this run'
    in_use.clear()  # as after a killed run: the files are nobody's
    assert cleanup_leftovers(str(tmp_path), now=time.time() + 7200) == sorted(
        [os.path.basename(site['host_path']), os.path.basename(staged)])
    assert os.listdir(str(tmp_path)) == []


def test_swap_canary_renames_the_staged_file(tmp_path):
    site = _site(tmp_path)
    in_use = set()
    write_canary(site, 'old', time.time() - 60, in_use)
    stage_canary(site, 'new', time.time() - 30, in_use)
    assert "'%sold'" % CANARY_PREFIX in open(site['host_path']).read()
    swap_canary(site, in_use)
    assert "'%snew'" % CANARY_PREFIX in open(site['host_path']).read()
    assert 'staged' not in site and os.listdir(str(tmp_path)) == [os.path.basename(site['host_path'])]


def test_cleanup_keeps_files_in_use_and_removes_our_old_ones(tmp_path):
    ours = tmp_path / ('phpops-probe-%d-%s.php' % (os.getpid(), 'b' * 32))
    in_use = tmp_path / ('phpops-probe-%d-%s.php' % (os.getpid(), 'c' * 32))
    ours.write_text('<?php')
    in_use.write_text('<?php')
    removed = cleanup_leftovers(str(tmp_path), in_use={str(in_use)})
    assert removed == [ours.name]
    assert in_use.exists()
