# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""host_fs: a target filesystem under a root prefix, symlinks resolved inside that root."""

from __future__ import annotations

import os

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS, HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import list_scan_dir


def _tree(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, 'etc/php/8.2/mods-available'))
    os.makedirs(os.path.join(root, 'etc/php/8.2/fpm/conf.d'))
    with open(os.path.join(root, 'etc/php/8.2/mods-available/opcache.ini'), 'w') as handle:
        handle.write('zend_extension=opcache.so\n')
    return root


def test_absolute_symlink_resolves_inside_the_root(tmp_path):
    root = _tree(tmp_path)
    os.symlink('/etc/php/8.2/mods-available/opcache.ini', os.path.join(root, 'etc/php/8.2/fpm/conf.d/10-opcache.ini'))
    fs = HostFS(root)
    assert fs.resolve('/etc/php/8.2/fpm/conf.d/10-opcache.ini') == '/etc/php/8.2/mods-available/opcache.ini'
    assert fs.read_text('/etc/php/8.2/fpm/conf.d/10-opcache.ini') == 'zend_extension=opcache.so\n'
    assert fs.is_file('/etc/php/8.2/fpm/conf.d/10-opcache.ini')


def test_relative_symlink_and_dotdot_cannot_leave_the_root(tmp_path):
    root = _tree(tmp_path)
    os.symlink('../../../../../../../../etc/php/8.2/mods-available/opcache.ini',
               os.path.join(root, 'etc/php/8.2/fpm/conf.d/20-up.ini'))
    fs = HostFS(root)
    assert fs.resolve('/etc/php/8.2/fpm/conf.d/20-up.ini') == '/etc/php/8.2/mods-available/opcache.ini'
    assert fs.resolve('/../../etc/php/8.2/mods-available/opcache.ini') == '/etc/php/8.2/mods-available/opcache.ini'


def test_symlinked_directory_component(tmp_path):
    root = _tree(tmp_path)
    os.symlink('/etc/php/8.2', os.path.join(root, 'etc/php/current'))
    fs = HostFS(root)
    assert fs.read_text('/etc/php/current/mods-available/opcache.ini').startswith('zend_extension')
    assert fs.is_dir('/etc/php/current/fpm/conf.d')


def test_symlink_loop_is_an_error(tmp_path):
    root = _tree(tmp_path)
    conf = os.path.join(root, 'etc/php/8.2/fpm/conf.d')
    os.symlink('/etc/php/8.2/fpm/conf.d/b.ini', os.path.join(conf, 'a.ini'))
    os.symlink('a.ini', os.path.join(conf, 'b.ini'))
    fs = HostFS(root)
    with pytest.raises(HostFSError) as caught:
        fs.resolve('/etc/php/8.2/fpm/conf.d/a.ini')
    assert 'symlink loop' in caught.value.reason
    assert not fs.exists('/etc/php/8.2/fpm/conf.d/a.ini')


def test_dangling_and_looping_links_are_skipped_by_the_scan(tmp_path):
    root = _tree(tmp_path)
    conf = os.path.join(root, 'etc/php/8.2/fpm/conf.d')
    os.symlink('/etc/php/8.2/mods-available/gone.ini', os.path.join(conf, '10-gone.ini'))
    os.symlink('20-loop.ini', os.path.join(conf, '20-loop.ini'))
    os.symlink('/etc/php/8.2/mods-available/opcache.ini', os.path.join(conf, '30-ok.ini'))
    os.mkdir(os.path.join(conf, '40-dir.ini'))
    os.mkfifo(os.path.join(conf, '50-fifo.ini'))
    files, skipped = list_scan_dir(HostFS(root), '/etc/php/8.2/fpm/conf.d')
    assert files == ['/etc/php/8.2/fpm/conf.d/30-ok.ini']
    reasons = dict((p.file.rsplit('/', 1)[1], p.message) for p in skipped)
    assert sorted(reasons) == ['10-gone.ini', '20-loop.ini', '40-dir.ini', '50-fifo.ini']
    assert 'dangling' in reasons['10-gone.ini']
    assert 'symlink loop' in reasons['20-loop.ini']
    assert 'not a regular file' in reasons['40-dir.ini']


def test_missing_scan_dir(tmp_path):
    files, problems = list_scan_dir(HostFS(str(tmp_path)), '/nope')
    assert files == [] and [p.code for p in problems] == ['SCAN_DIR_UNREADABLE']


def test_read_limit(tmp_path):
    path = os.path.join(str(tmp_path), 'big.ini')
    with open(path, 'wb') as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(HostFSError) as caught:
        HostFS(str(tmp_path)).read_bytes('/big.ini', limit=1024)
    assert 'more than' in caught.value.reason


def test_non_utf8_bytes_survive(tmp_path):
    with open(os.path.join(str(tmp_path), 'latin1.ini'), 'wb') as handle:
        handle.write(b't.a=caf\xe9\n')
    text = HostFS(str(tmp_path)).read_text('/latin1.ini')
    assert text.encode('utf-8', 'surrogateescape') == b't.a=caf\xe9\n'


def test_unprefixed_root(tmp_path):
    root = _tree(tmp_path)
    fs = HostFS('/')
    target = os.path.join(root, 'etc/php/8.2/mods-available/opcache.ini')
    assert fs.local(target) == target
    assert fs.read_text(target).startswith('zend_extension')
    with pytest.raises(HostFSError):
        fs.resolve(os.path.join(root, 'missing'))
