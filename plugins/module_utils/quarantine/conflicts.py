# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The other ini files that assign a managed directive, and how each is neutralised so that the
managed file is its only owner (scope ``all``) or at least wins (scope ``later``).

- A file whose every setting is a managed directive, and whose every other byte is a comment, a
  blank line or a section header, is renamed to ``<name>.DISABLED`` (PHP reads only ``*.ini``).
- Anything else (the main php.ini, a file that also loads an extension or sets other directives,
  a file the engine cannot account for byte by byte, for example one with NUL bytes) is never
  renamed: only the conflicting lines are commented out (policy ``comment_lines``), or the run fails
  naming the file (policy ``fail``).
- A file the engine cannot read (too large, unreadable) makes one owner unprovable: the run fails.
"""

from __future__ import annotations

import posixpath
import re

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, list_scan_dir
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import ENTRY_VALUE, parse_ini_text
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import COMMENT_PREFIX, name_key

# Chain problems after which the engine does not know everything PHP reads from a file.
UNPROVABLE = ('INI_FILE_TOO_LARGE', 'INI_FILE_UNREADABLE', 'SCAN_DIR_UNREADABLE')
# Problems that make a file's bytes not fully accounted for by its parsed entries.
NOT_ACCOUNTED = ('INI_BINARY_CONTENT', 'INI_SYNTAX_ERROR', 'INI_UNMODELLED', 'INI_SECTION_KEY_TAKEN')
_SECTION_LINE = re.compile(r'^\[[^\]\r\n]*\][ \t]*(;.*)?$')
_LINE_SPLIT = re.compile(r'(\r\n|\n|\r)')


def split_lines(text):
    """Lines with their endings, split where PHP's scanner counts lines (\\n, \\r\\n, \\r only)."""
    parts = _LINE_SPLIT.split(text)
    lines = [parts[i] + (parts[i + 1] if i + 1 < len(parts) else '') for i in range(0, len(parts), 2)]
    return [line for line in lines if line]


def load_chain(fs, request, target):
    return IniChain(fs, env=request.environment, version=target.inst.version).load(target.sapi.main_ini(fs), target.sapi.scan_dirs())


def _load_order(fs, main_ini, scan_dirs, managed_path):
    """The files PHP reads, in order, with the managed file inserted where PHP would read it."""
    order = [main_ini] if main_ini else []
    managed_dir = posixpath.dirname(managed_path)
    for directory in scan_dirs:
        files, dummy = list_scan_dir(fs, directory)
        files = [f for f in files if f != managed_path]
        if directory.rstrip('/') == managed_dir:
            files.append(managed_path)
            files.sort(key=lambda p: name_key(posixpath.basename(p)))
        order.extend(files)
    return order


def _entries_by_file(config):
    """Per file, every assignment the engine attributed to it: value entries, extension loads,
    array entries and [PATH=]/[HOST=] entries, as (kind, key, line, value)."""
    by_file = {}
    for key, winner in config.settings.items():
        for assignment in [winner] + list(winner.overridden):
            by_file.setdefault(assignment.file, []).append(('value', key, assignment.line, assignment.value))
    for ext in config.extensions:
        by_file.setdefault(ext['file'], []).append((ext['kind'], ext['kind'], ext['line'], ext['value']))
    for key, items in config.arrays.items():
        for item in items:
            by_file.setdefault(item['file'], []).append(('array', key, item['line'], item['value']))
    for cond in config.conditional:
        by_file.setdefault(cond['file'], []).append(('conditional', cond['key'], cond['line'], cond['value']))
    for entries in by_file.values():
        entries.sort(key=lambda e: e[2] or 0)
    return by_file


def describe(entries):
    parts = []
    for kind, key, line, value in entries:
        if kind in ('extension', 'zend_extension'):
            parts.append('%s=%s (line %s)' % (kind, value, line))
        elif kind == 'conditional':
            parts.append('%s inside a [PATH=]/[HOST=] section (line %s)' % (key, line))
        else:
            parts.append('%s (line %s)' % (key, line))
    return ', '.join(parts)


def accounted_for(fs, path, entries, hits, problems):
    """Whether renaming ``path`` drops nothing but the managed assignments ``hits``: no other entry,
    no problem the engine reported for it, no NUL byte, and every line that is not blank, a comment
    or a plain section header is where one of ``hits`` starts."""
    if len(entries) != len(hits) or any(p.file == path and p.code in NOT_ACCOUNTED for p in problems):
        return False
    raw = fs.read_bytes(path)
    if b'\x00' in raw:
        return False
    text = raw.decode('utf-8', 'surrogateescape')
    if text.startswith('\ufeff'):
        text = text[1:]
    lines = set(e[2] for e in hits)
    for number, line in enumerate(split_lines(text), 1):
        stripped = line.strip(' \t\r\n')
        if not stripped or stripped.startswith(';') or number in lines:
            continue
        if _SECTION_LINE.match(stripped) and not stripped[1:].upper().startswith(('PATH=', 'HOST=')):
            continue
        return False
    return True


def comment_out(text, lines, managed_keys):
    """Comment out the given 1-based lines; verify with the engine that only those assignments went.
    Returns the new text, or None when the engine sees any other difference."""
    raw_lines = split_lines(text)
    for number in sorted(set(lines)):
        if 1 <= number <= len(raw_lines):
            raw_lines[number - 1] = COMMENT_PREFIX + raw_lines[number - 1]
    new_text = ''.join(raw_lines)

    def others(parsed):
        return [(e.kind, e.key, e.offset, e.value, e.section) for e in parsed.entries
                if not (e.kind == ENTRY_VALUE and e.section is None and e.key in managed_keys)]

    before = parse_ini_text(text)
    after = parse_ini_text(new_text)
    still = [e for e in after.entries if e.kind == ENTRY_VALUE and e.section is None and e.key in managed_keys]
    errors = [(e.line, e.message) for e in before.errors]
    if [(e.line, e.message) for e in after.errors] != errors or still or others(before) != others(after):
        return None
    return new_text


def _readers(fs, discovered, real_path):
    """Every (installation id, SAPI) whose main ini or scan directories read ``real_path``."""
    found = []
    for inst in discovered:
        for sapi_name, sapi in sorted(inst.sapis.items()):
            paths = [sapi.main_ini(fs)]
            for directory in sapi.scan_dirs():
                paths.extend(list_scan_dir(fs, directory)[0])
            for path in paths:
                try:
                    if path and posixpath.normpath(fs.resolve(path)) == real_path:
                        found.append((inst.id, sapi_name))
                        break
                except HostFSError:
                    continue
    return found


class Conflicts(object):
    """Per target, the other files that assign managed directives and what to do with each."""

    def __init__(self, fs, request, discovered, targets):
        self.fs = fs
        self.request = request
        self.discovered = discovered
        self.targets = dict(((t.inst.id, t.sapi_name), t) for t in targets)
        self.errors = []
        self.renames = {}
        self.comments = {}
        self.earlier = []
        self.conditional = []
        self.handled = set()

    def add(self, target):
        keys = set(target.settings)
        config = load_chain(self.fs, self.request, target)
        for problem in config.problems:
            if problem.code in UNPROVABLE:
                self.errors.append('%s: %s. PHP reads it, so it cannot be proven that %s is the only file assigning %s: '
                                   'make the file readable and smaller than the limit, or remove it'
                                   % (target.label, problem.message, target.managed_path, ', '.join(sorted(keys))))
        order = _load_order(self.fs, target.sapi.main_ini(self.fs), target.sapi.scan_dirs(), target.managed_path)
        position = dict((path, index) for index, path in enumerate(order))
        by_file = _entries_by_file(config)
        for path in order:
            if path == target.managed_path or path not in by_file:
                continue
            entries = by_file[path]
            hits = [e for e in entries if e[0] == 'value' and e[1] in keys]
            for kind, key, line, value in entries:
                if kind == 'conditional' and key in keys:
                    self.conditional.append({'file': path, 'line': line, 'directive': key, 'value': value,
                                             'sapi': target.sapi_name, 'installation': target.inst.id})
            if not hits:
                continue
            before = position[path] < position[target.managed_path]
            if before and self.request.scope == 'later':
                self.earlier.extend({'file': path, 'line': line, 'directive': key, 'value': value, 'sapi': target.sapi_name,
                                     'installation': target.inst.id} for kind, key, line, value in hits)
                continue
            if path in self.handled:
                continue
            self.handled.add(path)
            if path != config.loaded_file and accounted_for(self.fs, path, entries, hits, config.problems):
                self.renames[path] = {'path': path, 'lines': [e[2] for e in hits], 'directives': sorted(set(e[1] for e in hits)),
                                      'symlink': self.fs.is_link(path)}
            else:
                self._mixed(target, path, entries, hits, keys, before, path == config.loaded_file)

    def _mixed(self, target, path, entries, hits, keys, before, is_main):
        others = [e for e in entries if e not in hits]
        what = 'the main ini file %s' % path if is_main else path
        where = 'loads before' if before else 'loads after'
        if self.request.conflict_policy == 'fail':
            because = 'also sets %s' % describe(others) if others else 'holds more than the engine can account for (NUL bytes or a syntax error)'
            self.errors.append('%s %s %s and sets %s, but %s, so it is not renamed. Move those OPcache lines out of it, or set '
                               'conflict_policy=comment_lines (opcache_conflict_policy) to comment out only those lines after keeping a copy'
                               % (what, where, target.managed_path, describe(hits), because))
            return
        edit_path, via = path, []
        if self.fs.is_link(path):
            edit_path = posixpath.normpath(self.fs.resolve(path))
            via = [path]
            readers = _readers(self.fs, self.discovered, edit_path)
            outside = ['%s %s' % r for r in readers
                       if r not in self.targets or not set(e[1] for e in hits) <= set(self.targets[r].settings)]
            if outside:
                self.errors.append('%s is a symbolic link to %s and sets %s, which it shares with %s (not targeted, or without these '
                                   'directives): commenting them out there would change those too. Target them as well, or fix it by hand'
                                   % (path, edit_path, describe(hits), ', '.join(outside)))
                return
        if edit_path in self.comments:
            self.comments[edit_path]['via'].extend(v for v in via if v not in self.comments[edit_path]['via'])
            return
        text = self.fs.read_text(edit_path)
        new_text = comment_out(text, [e[2] for e in hits], keys)
        if new_text is None:
            self.errors.append('%s: commenting out lines %s would change more than %s (or the engine cannot read the file as PHP does); '
                               'fix it by hand' % (edit_path, ', '.join(str(e[2]) for e in hits), ', '.join(sorted(set(e[1] for e in hits)))))
            return
        self.comments[edit_path] = {'path': edit_path, 'lines': [e[2] for e in hits], 'directives': sorted(set(e[1] for e in hits)),
                                    'before': text, 'after': new_text, 'via': via}
