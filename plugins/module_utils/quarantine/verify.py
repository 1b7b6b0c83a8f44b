# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After applying: is the managed file the only active assignment of each managed directive, with
the value asked for (files on disk, through the engine), does no FPM pool line override it, and do
the real binaries (``php -i``, ``php-fpm -i``) show those values?"""

from __future__ import annotations

import re

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import directives_for
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.conflicts import UNPROVABLE, load_chain

_INFO_LINE = re.compile(r'^(opcache\.[A-Za-z0-9_.]+) => (.*?) => (.*)$')


def _mismatch(target, directive, wanted, got, file_path, line, message, pool=None):
    return {'installation': target.inst.id, 'sapi': target.sapi_name, 'pool': pool, 'directive': directive, 'wanted': wanted,
            'got': got, 'file': file_path, 'line': line, 'message': message}


def _chain_mismatches(fs, request, target):
    found = []
    config = load_chain(fs, request, target)
    for problem in config.problems:
        if problem.code in UNPROVABLE:
            found.append(_mismatch(target, None, None, None, problem.file, problem.line,
                                   '%s: %s; one owner cannot be proven' % (target.label, problem.message)))
    for name in sorted(target.rendered):
        want = target.rendered[name][1]
        got = config.settings.get(name)
        if got is None:
            found.append(_mismatch(target, name, want, None, None, None,
                                   '%s: %s is None, not %s (winner: default:None)' % (target.label, name, want)))
            continue
        if got.value != want:
            found.append(_mismatch(target, name, want, got.value, got.file, got.line,
                                   '%s: %s is %s, not %s (winner: %s:%s)' % (target.label, name, got.value, want, got.file, got.line)))
            continue
        if got.file != target.managed_path:
            found.append(_mismatch(target, name, want, got.value, got.file, got.line,
                                   '%s: %s is set by %s:%s, not by the managed file %s' % (target.label, name, got.file, got.line, target.managed_path)))
        if request.scope == 'all':
            for other in got.overridden:
                if other.file != target.managed_path:
                    found.append(_mismatch(target, name, want, other.value, other.file, other.line,
                                           '%s: %s is also assigned at %s:%s (= %s); the managed file %s must be its only owner'
                                           % (target.label, name, other.file, other.line, other.value, target.managed_path)))
    return found


def _pool_mismatches(fs, request, target):
    found = []
    if target.sapi_name != 'fpm' or not target.sapi.fpm_conf:
        return found
    fpm = read_fpm_config(fs, target.sapi.fpm_conf, request.environment)
    for pool in fpm.pools:
        for name in sorted(target.rendered):
            want = target.rendered[name][1]
            winner, dummy = pool.effective_override(name)
            if winner is not None and winner.value != want:
                found.append(_mismatch(target, name, want, winner.value, winner.file, winner.line,
                                       '%s pool [%s]: %s is %s, not %s (winner: %s at %s:%s)'
                                       % (target.label, pool.name, name, winner.value, want, winner.kind, winner.file, winner.line),
                                       pool=pool.name))
    return found


def mismatches(fs, request, the_plan):
    """Every targeted directive whose effective value is not what the managed file sets, every other
    active assignment of it (scope ``all``) and every pool line that overrides it, with the winner."""
    found = []
    for target in the_plan['targets']:
        found.extend(_chain_mismatches(fs, request, target))
        found.extend(_pool_mismatches(fs, request, target))
    return found


def info_values(output):
    """``{directive: local value}`` from ``php -i`` / ``php-fpm -i`` text output."""
    values = {}
    for line in output.splitlines():
        match = _INFO_LINE.match(line.strip())
        if match:
            values[match.group(1)] = match.group(2)
    return values


def shown_as(value, kind):
    """How ``php -i`` displays an ini value PHP's parser handed over as ``value``."""
    if kind == 'bool':
        return 'Off' if value.strip().lower() in ('', '0', 'off', 'false', 'no', 'none') else 'On'
    return value if value != '' else 'no value'


def binary_mismatches(target, output):
    """What the real binary shows for the managed directives, where it is not what was asked."""
    shown = info_values(output)
    table = directives_for(target.inst.version)
    problems = []
    for name in sorted(target.rendered):
        if name not in shown or name not in table:
            continue
        want = shown_as(target.rendered[name][1], table[name].type)
        if shown[name] != want:
            problems.append('%s: %s shows %s => %s, but the managed file sets %s: another source wins that the engine does not see'
                            % (target.label, target.inst.binaries.get(target.sapi_name), name, shown[name], want))
    return problems
