# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module that runs PHP binaries needs: ``php_runner``. Kept tiny on purpose: a module
that imports it ships nothing else (the reporting modules' shared code is ``info_module``)."""

from __future__ import annotations

import os


def php_runner(module):
    """Run a PHP binary with the compiled-in defaults: PHPRC and PHP_INI_SCAN_DIR removed."""
    def run(argv):
        saved = dict((name, os.environ.pop(name)) for name in ('PHPRC', 'PHP_INI_SCAN_DIR') if name in os.environ)
        try:
            return module.run_command(argv, check_rc=False)
        finally:
            os.environ.update(saved)
    return run
