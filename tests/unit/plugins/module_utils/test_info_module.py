# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the reporting modules load and run: nothing slow at import time, the live view only when it
runs, and discovery's PHP commands started early (module_support.PhpRunner) with the same results."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.module_support import php_runner
from ansible_collections.phpops.opcache.tests.unit.plugins.module_utils.tree_builder import build_tree

LIVE_VIEW = {'live', 'masters', 'probe', 'hold', 'report', 'records', 'fastcgi', 'fpm_service', 'drift', 'stale', 'runtime', 'releases'}

# A module object with what report_from_params uses, run in a fresh interpreter, which then prints
# the collection's module_utils that were loaded.
RUN = '''
import json, sys
from ansible_collections.phpops.opcache.plugins.module_utils import info_module

class Module(object):
    def __init__(self, params):
        self.params = params
    def fail_json(self, msg):
        raise SystemExit(msg)
    def warn(self, warning):
        pass
    def run_command(self, argv, check_rc=False):
        raise AssertionError(argv)

params = dict(root=sys.argv[1], installations=None, families=None, versions=None, sapis=None, directives=None, environment={},
              live=sys.argv[2], verify_paths=[], max_examples=10, probe_dir='/run/x', timeout=1.0)
if sys.argv[2] != 'import':
    report = info_module.report_from_params(Module(params))
    assert [i.id for i in report.installations] == ['debian:/etc/php/8.2'], report.installations
print(json.dumps(sorted(m.rsplit('.', 1)[-1] for m in sys.modules if 'phpops.opcache.plugins.module_utils.' in m)))
'''


def _loaded(root, live):
    out = subprocess.run([sys.executable, '-c', RUN, root, live], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode().split('"')[1::2]


def test_importing_the_reporting_code_loads_only_discovery(tmp_path):
    """Importing info_module (what opcache_info/opcache_facts do at import time) loads neither the
    ini parser nor the report: discovery's commands start before they are compiled."""
    assert _loaded(str(tmp_path), 'import') == ['host_fs', 'info_module', 'module_support', 'php_discovery']


@pytest.mark.parametrize('live', ['false', 'auto'])
def test_a_disk_only_run_does_not_load_the_live_view(tmp_path, live):
    root = build_tree(tmp_path, {'/etc/php/8.2/fpm/php.ini': 'opcache.enable=1\n', '/etc/php/8.2/fpm/php-fpm.conf': '[www]\n'})
    loaded = _loaded(root, live)
    assert {'opcache_report', 'ini_chain', 'ini_parser', 'fpm_config'} <= set(loaded)
    assert not set(loaded) & LIVE_VIEW, loaded


def test_importing_module_support_loads_nothing_else(tmp_path):
    out = subprocess.run([sys.executable, '-c', 'import sys\nfrom ansible_collections.phpops.opcache.plugins.module_utils import module_support\n'
                          'print(sorted(m for m in sys.modules if ".module_utils." in m and "phpops" in m))'],
                         stdout=subprocess.PIPE, check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.decode().strip() == "['ansible_collections.phpops.opcache.plugins.module_utils.module_support']"


class _Module(object):
    """What PhpRunner needs of an AnsibleModule: run_command (here: subprocess, recording argv)."""

    def __init__(self):
        self.calls = []

    def run_command(self, argv, check_rc=False):
        self.calls.append(argv)
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return done.returncode, done.stdout.decode(), done.stderr.decode()


SHOW_ENV = [sys.executable, '-c', 'import os, sys; print(os.environ.get("PHPRC"), os.environ.get("PHP_INI_SCAN_DIR"), os.environ.get("KEEP")); '
            'sys.stderr.write("e\\u00e9"); sys.exit(3)']


def test_a_started_command_is_collected_with_the_result_of_running_it(monkeypatch):
    monkeypatch.setenv('PHPRC', '/etc/elsewhere')
    monkeypatch.setenv('PHP_INI_SCAN_DIR', '/etc/elsewhere/conf.d')
    monkeypatch.setenv('KEEP', 'kept')
    module = _Module()
    run = php_runner(module)
    expected = (3, 'None None kept\n', 'e\u00e9')
    assert run(SHOW_ENV) == expected, 'run: PHPRC and PHP_INI_SCAN_DIR removed, the rest kept'
    assert os.environ['PHPRC'] == '/etc/elsewhere', 'and put back'
    assert module.calls == [SHOW_ENV]
    run.start(SHOW_ENV)
    run.start(SHOW_ENV)
    assert run(SHOW_ENV) == expected and run(SHOW_ENV) == expected
    assert module.calls == [SHOW_ENV], 'both started commands were collected, none ran again'
    assert run(SHOW_ENV) == expected and len(module.calls) == 2, 'nothing started is left: it runs'


def test_a_command_that_cannot_start_is_left_to_run_command(tmp_path):
    module = _Module()
    run = php_runner(module)
    missing = [str(tmp_path / 'no-php'), '-n', '-v']
    run.start(missing)
    with pytest.raises(OSError):
        run(missing)
    assert module.calls == [missing]


def test_close_waits_for_commands_nobody_collected(tmp_path):
    marker = tmp_path / 'done'
    argv = [sys.executable, '-c', 'import time; time.sleep(0.2); open(%r, "w").close()' % str(marker)]
    module = _Module()
    run = php_runner(module)
    run.start(argv)
    run.close()
    assert marker.exists(), 'the command ran to its end before close returned'
    marker.unlink()
    run(argv)
    assert module.calls == [argv] and marker.exists(), 'nothing is left pending after close: the next run runs it'
