# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module that runs PHP binaries needs: ``php_runner``. Kept tiny on purpose: a module
that imports it ships nothing else (the reporting modules' shared code is ``info_module``)."""

from __future__ import annotations

import os
import subprocess

_CLEARED = ('PHPRC', 'PHP_INI_SCAN_DIR')


class PhpRunner(object):
    """``run(argv) -> (rc, stdout, stderr)``: run a PHP binary with the compiled-in defaults (PHPRC
    and PHP_INI_SCAN_DIR removed from its environment).

    ``start(argv)`` starts a command now; the next ``run`` of the same argv collects it. A caller
    that knows a command it will need (discovery's ``php -n -v``) starts it before slow work of its
    own (loading the ini parser, reading files), so the two run at the same time."""

    def __init__(self, module):
        self.module = module
        self._started = {}

    def start(self, argv):
        env = dict((k, v) for k, v in os.environ.items() if k not in _CLEARED)
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        except OSError:
            return  # run() reports it the usual way
        self._started.setdefault(tuple(argv), []).append(process)

    def __call__(self, argv):
        started = self._started.get(tuple(argv))
        if started:
            process = started.pop(0)
            out, err = process.communicate()
            return process.returncode, out.decode('utf-8', 'surrogateescape'), err.decode('utf-8', 'surrogateescape')
        saved = dict((name, os.environ.pop(name)) for name in _CLEARED if name in os.environ)
        try:
            return self.module.run_command(argv, check_rc=False)
        finally:
            os.environ.update(saved)

    def close(self):
        """Wait for started commands nobody collected (no process is left behind)."""
        for processes in self._started.values():
            for process in processes:
                process.communicate()
        self._started = {}


def php_runner(module):
    """A PhpRunner for the module: called as ``run(argv)``."""
    return PhpRunner(module)
