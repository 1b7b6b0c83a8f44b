# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle: ini files and scan directories that the reading user may not read.

The tests run as root, who reads everything, so both sides run as ``nobody`` here: the real php CLI
(started with dropped privileges) and the ini engine (in a forked child that drops privileges
first; its code is already imported). PHP skips an unreadable scan file without a word and reads
nothing from an unreadable scan directory; the engine must load the same files, give the same
values, and say which file or directory it could not read.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain
from ansible_collections.phpops.opcache.tests.oracle.php_oracle import OracleError, PhpOracle, drop_privileges
from ansible_collections.phpops.opcache.tests.oracle.private_fpm import PHP_VERSION

KEYS = ['opcache.memory_consumption', 'opcache.validate_timestamps', 'opcache.revalidate_freq']


@pytest.fixture
def nobody_tree():
    user = pwd.getpwnam('nobody')
    root = tempfile.mkdtemp(prefix='phpops-unreadable-', dir='/tmp')
    os.chmod(root, 0o755)
    try:
        yield root, (user.pw_uid, user.pw_gid)
    finally:
        shutil.rmtree(root)


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.chmod(os.path.dirname(path), 0o755)
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)


def _engine_as(ids, php_ini, scan_dirs):
    """The engine's chain as the user ``ids`` (uid, gid): loaded files, values and problems."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run the engine, hand the result back, leave at once
        try:
            os.close(read_end)
            drop_privileges(*ids)()
            config = IniChain(HostFS('/'), env={}, version=PHP_VERSION).load(php_ini, scan_dirs)
            answer = {'loaded_file': config.loaded_file, 'scanned_files': config.scanned_files,
                      'cfg': dict((k, config.settings[k].value if k in config.settings else None) for k in KEYS),
                      'problems': [(p.code, p.file) for p in config.problems]}
        except BaseException as error:  # pylint: disable=broad-except  # reported to the parent
            answer = {'error': repr(error)}
        os.write(write_end, json.dumps(answer).encode('utf-8'))
        os._exit(0)
    os.close(write_end)
    data = b''
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    answer = json.loads(data.decode('utf-8'))
    assert 'error' not in answer, answer['error']
    return answer


def _php_as(ids, workdir, php_ini, scan_dir):
    try:
        oracle = PhpOracle(workdir, run_as=ids)
    except OracleError as error:
        pytest.fail(str(error), pytrace=False)
    os.chmod(oracle.probe, 0o644)
    return oracle.chain(php_ini, scan_dir, KEYS)


def _base_tree(root):
    """php.ini and conf.d/10-a.ini, both readable: (php.ini path, scan dir)."""
    php_ini = os.path.join(root, 'php.ini')
    scan = os.path.join(root, 'conf.d')
    _write(php_ini, 'opcache.revalidate_freq=7\n')
    _write(os.path.join(scan, '10-a.ini'), 'opcache.memory_consumption=96\n')
    return php_ini, scan


def test_an_unreadable_scan_file_is_skipped_like_php_does(nobody_tree):
    root, ids = nobody_tree
    php_ini, scan = _base_tree(root)
    _write(os.path.join(scan, '20-secret.ini'), 'opcache.memory_consumption=64\nopcache.validate_timestamps=0\n', mode=0o600)
    _write(os.path.join(scan, '30-c.ini'), 'opcache.validate_timestamps=1\n')
    php = _php_as(ids, root, php_ini, scan)
    ours = _engine_as(ids, php_ini, [scan])
    assert php['scanned_files'] == [os.path.join(scan, '10-a.ini'), os.path.join(scan, '30-c.ini')], php
    assert ours['scanned_files'] == php['scanned_files']
    assert ours['loaded_file'] == php['loaded_file'] == php_ini
    assert ours['cfg'] == php['cfg'] == {'opcache.memory_consumption': '96', 'opcache.validate_timestamps': '1', 'opcache.revalidate_freq': '7'}
    assert ['INI_FILE_UNREADABLE', os.path.join(scan, '20-secret.ini')] in ours['problems'], ours['problems']


def test_an_unreadable_scan_directory_gives_nothing_like_php(nobody_tree):
    root, ids = nobody_tree
    php_ini, scan = _base_tree(root)
    os.chmod(scan, 0o700)
    php = _php_as(ids, root, php_ini, scan)
    ours = _engine_as(ids, php_ini, [scan])
    assert php['scanned_files'] == [] and ours['scanned_files'] == []
    assert ours['cfg'] == php['cfg'] == {'opcache.memory_consumption': None, 'opcache.validate_timestamps': None, 'opcache.revalidate_freq': '7'}
    assert ['SCAN_DIR_UNREADABLE', scan] in ours['problems'], ours['problems']
