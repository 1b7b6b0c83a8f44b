# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation with the real binaries while the new files are in place (before anything is kept):
``php-fpm -t`` must accept the configuration, neither ``php-fpm -i`` nor ``php -i`` may print a
new warning, and both must show the managed values (a file the engine cannot see would show here)."""

from __future__ import annotations

import re

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import without_log_time
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.verify import binary_mismatches

# Output lines that mean PHP did not take an ini file as written.
_PROBLEM_RE = re.compile(r'PHP:\s+syntax error|PHP (Parse|Fatal) error|PHP Warning|^\s*(Warning|Fatal error|Parse error):|\bERROR:', re.MULTILINE)


def problem_lines(output):
    # without php-fpm's timestamp: a warning that was there before the change compares equal whatever second it is printed in
    return [without_log_time(line.strip()) for line in output.splitlines() if _PROBLEM_RE.search(line)]


class Validation(object):
    """``run(argv) -> (rc, out, err)``. Call :meth:`baseline` before the change (warnings PHP
    already prints are not blamed on it; a failing exit code always is), then the object itself
    after the change: it returns the problems, and ``self.runs`` records every command."""

    def __init__(self, run, targets):
        self.run = run
        self.commands = []      # (argv, targets whose values the output must show)
        by_binary = {}
        for target in targets:
            binary = target.inst.binaries.get(target.sapi_name)
            if not binary or target.sapi_name not in ('fpm', 'cli', 'cgi'):
                continue
            if binary not in by_binary:
                by_binary[binary] = []
                if target.sapi_name == 'fpm':
                    self.commands.append(([binary, '-t'], []))
                self.commands.append(([binary, '-i'], by_binary[binary]))
            by_binary[binary].append(target)
        self.before = {}
        self.runs = []

    def _run(self, argv):
        rc, out, err = self.run(argv)
        return rc, (out or '') + (err or '')

    def baseline(self):
        for argv, dummy in self.commands:
            self.before[tuple(argv)] = set(problem_lines(self._run(argv)[1]))

    def __call__(self):
        problems = []
        for argv, targets in self.commands:
            rc, output = self._run(argv)
            new_lines = [line for line in problem_lines(output) if line not in self.before.get(tuple(argv), set())]
            self.runs.append({'command': argv, 'rc': rc, 'output': output.strip()[-4000:]})
            if rc != 0 or new_lines:
                problems.append('%s exited %d: %s' % (' '.join(argv), rc, ' | '.join(new_lines or [output.strip()[-2000:]])))
                continue
            for target in targets:
                problems.extend(binary_mismatches(target, output))
        return problems
