# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PHP-FPM pool ``php_value``/``php_admin_value``/``php_flag``/``php_admin_flag`` lines for a managed
directive: they win over every ini file in that pool, so they are reported, or commented out."""

from __future__ import annotations

import re

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import STARTUP_ONLY
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.conflicts import split_lines
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import COMMENT_PREFIX


def comment_out_pool_lines(fs, path, lines):
    """Comment out pool override lines (php_value/php_admin_value/... [opcache.x]) of an FPM file;
    PHP-FPM reads its files line by line, so a commented line is simply gone. Returns the comments
    entry, or an error message naming the file."""
    if fs.is_link(path):
        return '%s: pool overrides in a symbolic link are not edited (the target may be shared); fix it by hand' % path
    text = fs.read_text(path)
    raw_lines = split_lines(text)
    directives = set()
    for number in lines:
        line = raw_lines[number - 1] if 1 <= number <= len(raw_lines) else ''
        match = re.match(r'\s*(php_(?:admin_)?(?:value|flag))\s*\[\s*([^\]]+?)\s*\]', line)
        if not match:
            return '%s line %d is not a pool php_value/php_admin_value line any more; run again' % (path, number)
        directives.add(match.group(2))
        raw_lines[number - 1] = COMMENT_PREFIX + line
    return {'path': path, 'lines': list(lines), 'directives': sorted(directives), 'before': text, 'after': ''.join(raw_lines), 'via': []}


def pool_overrides(fs, request, targets, comments, errors, warnings):
    """FPM pool php_value/php_admin_value lines for managed directives: reported, or commented out."""
    found = []
    pool_lines = {}
    for target in targets:
        if target.sapi_name != 'fpm' or not target.sapi.fpm_conf:
            continue
        fpm = read_fpm_config(fs, target.sapi.fpm_conf, request.environment)
        for pool in fpm.pools:
            for key in sorted(target.rendered):
                winner, beaten = pool.effective_override(key)
                if winner is None:
                    continue
                if request.pool_override_policy == 'comment_lines':
                    for override in [winner] + beaten:
                        pool_lines.setdefault(override.file, set()).add(override.line)
                    continue
                found.append({'installation': target.inst.id, 'pool': pool.name, 'directive': key, 'kind': winner.kind,
                              'value': winner.value, 'file': winner.file, 'line': winner.line, 'takes_effect': key not in STARTUP_ONLY})
                note = " (startup-only directive: PHP reports the pool value but uses the master's)" if key in STARTUP_ONLY else ''
                warnings.append('%s:%s pool [%s] %s[%s] = %s overrides the managed value %s%s'
                                % (winner.file, winner.line, pool.name, winner.kind, key, winner.value, target.rendered[key][1], note))
    for path in sorted(pool_lines):
        entry = comment_out_pool_lines(fs, path, sorted(pool_lines[path]))
        if isinstance(entry, str):
            errors.append(entry)
        else:
            comments[path] = entry
    return found
