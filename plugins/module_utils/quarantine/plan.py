# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work out every change before anything is written: which installations and SAPIs, the managed
file of each scan directory, and how each other file that assigns a managed directive is
neutralised so that the managed file is its only owner.

- scope ``all`` (the default): every active file that assigns a managed directive, wherever it
  loads; scope ``later``: only files that load after the managed file (the others lose anyway).
- A file whose every setting is a managed directive, and whose every other byte is a comment, a
  blank line or a section header, is renamed to ``<name>.DISABLED`` (PHP reads only ``*.ini``).
- Anything else (the main php.ini, a file that also loads an extension or sets other directives,
  a file the engine cannot account for byte by byte, for example one with NUL bytes) is never
  renamed: only the conflicting lines are commented out (policy ``comment_lines``), or the run fails
  naming the file (policy ``fail``).
- A file the engine cannot read (too large, unreadable) makes one owner unprovable: the run fails.

The ini files are read only through the engine (``ini_chain``, ``ini_parser``).
"""

from __future__ import annotations

import os
import posixpath
import re

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, list_scan_dir
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import ENTRY_VALUE, parse_ini_text
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import STARTUP_ONLY
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.settings import (
    check_settings,
    merge_settings,
    render_file,
    version_matches,
)
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import (
    COMMENT_PREFIX,
    DEFAULT_FILE_NAME,
    QuarantineError,
    free_disabled_name,
    name_key,
)

SCOPES = ('all', 'later')
POLICIES = ('auto', 'fail', 'comment_lines')
POOL_POLICIES = ('report', 'comment_lines')
# Chain problems after which the engine does not know everything PHP reads from a file.
UNPROVABLE = ('INI_FILE_TOO_LARGE', 'INI_FILE_UNREADABLE', 'SCAN_DIR_UNREADABLE')
# Problems that make a file's bytes not fully accounted for by its parsed entries.
NOT_ACCOUNTED = ('INI_BINARY_CONTENT', 'INI_SYNTAX_ERROR', 'INI_UNMODELLED', 'INI_SECTION_KEY_TAKEN')
_SECTION_LINE = re.compile(r'^\[[^\]\r\n]*\][ \t]*(;.*)?$')
_LINE_SPLIT = re.compile(r'(\r\n|\n|\r)')


class Request(object):
    """What the caller asks for (the module's options, as keyword arguments)."""

    def __init__(self, settings=None, version_settings=None, sapi_settings=None, versions=None, sapis=None, profile='custom',
                 file_name=DEFAULT_FILE_NAME, scope='all', conflict_policy='auto', pool_override_policy='report', environment=None):
        self.settings = settings or {}
        self.version_settings = version_settings or {}
        self.sapi_settings = sapi_settings or {}
        self.versions = list(versions or [])
        self.sapis = list(sapis or [])
        self.profile = profile
        self.file_name = file_name or DEFAULT_FILE_NAME
        self.scope = scope or 'all'
        policy = conflict_policy or 'auto'
        if policy == 'auto':
            policy = 'comment_lines' if self.scope == 'all' else 'fail'
        self.conflict_policy = policy
        self.pool_override_policy = pool_override_policy or 'report'
        self.environment = dict((str(k), str(v)) for k, v in (environment or {}).items())


class Target(object):
    """One SAPI of one installation to configure."""

    def __init__(self, inst, sapi_name, sapi, managed_path, settings, rendered):
        self.inst = inst
        self.sapi_name = sapi_name
        self.sapi = sapi
        self.managed_path = managed_path
        self.settings = settings
        self.rendered = rendered

    @property
    def label(self):
        return '%s %s' % (self.inst.id, self.sapi_name)


def split_lines(text):
    """Lines with their endings, split where PHP's scanner counts lines (\\n, \\r\\n, \\r only)."""
    parts = _LINE_SPLIT.split(text)
    lines = [parts[i] + (parts[i + 1] if i + 1 < len(parts) else '') for i in range(0, len(parts), 2)]
    return [line for line in lines if line]


def load_chain(fs, request, target):
    return IniChain(fs, env=request.environment, version=target.inst.version).load(target.sapi.main_ini(fs), target.sapi.scan_dirs())


# ---------------------------------------------------------------------------------------------
# targets

def _managed_dir(fs, inst, sapi_name, sapi, file_name, errors):
    """The scan directory the managed file goes to, or None (with the reason in ``errors``)."""
    scan_dirs = sapi.scan_dirs()
    directory = sapi.default_scan_dir if sapi.default_scan_dir in scan_dirs else (scan_dirs[-1] if scan_dirs else None)
    label = '%s %s' % (inst.id, sapi_name)
    if not directory:
        errors.append('%s: PHP reads no scan directory, so there is nowhere to put %s' % (label, file_name))
        return None
    if not fs.is_dir(directory):
        errors.append('%s: scan directory %s does not exist' % (label, directory))
        return None
    directory = posixpath.normpath(directory)
    resolved = posixpath.normpath(fs.resolve(directory))
    if resolved != directory:
        real_dirs = set()
        for other in inst.sapis.values():
            for candidate in other.scan_dirs():
                candidate = posixpath.normpath(candidate)
                if not fs.is_link(candidate) and fs.is_dir(candidate):
                    real_dirs.add(candidate)
        if resolved not in real_dirs:
            errors.append('%s: scan directory %s is a symbolic link to %s, which is not a scan directory of this installation; '
                          'refusing to write %s there' % (label, directory, resolved, posixpath.join(resolved, file_name)))
            return None
    return directory


def select_targets(fs, request, discovered, errors, warnings):
    """The SAPIs to configure, with their merged and checked settings; says why when there are none."""
    file_name = request.file_name
    if '/' in file_name or not file_name.endswith('.ini') or file_name.startswith('.'):
        raise QuarantineError('file_name %s must be a plain file name ending in .ini' % file_name)
    targets, matched, empty = [], [], []
    all_sapis, all_versions = set(), set()
    for inst in discovered:
        all_versions.add(inst.version or 'unknown')
        all_sapis.update(inst.sapis)
        if not version_matches(inst.version, request.versions):
            continue
        for sapi_name in sorted(inst.sapis):
            if request.sapis and sapi_name not in request.sapis:
                continue
            matched.append('%s %s' % (inst.id, sapi_name))
            sapi = inst.sapis[sapi_name]
            settings = merge_settings(request.settings, request.version_settings, request.sapi_settings, inst.version, sapi_name)
            if not settings:
                empty.append('%s %s' % (inst.id, sapi_name))
                continue
            rendered, problems = check_settings(settings, inst.version)
            errors.extend('%s %s: %s' % (inst.id, sapi_name, p) for p in problems)
            directory = _managed_dir(fs, inst, sapi_name, sapi, file_name, errors)
            if directory:
                targets.append(Target(inst, sapi_name, sapi, directory.rstrip('/') + '/' + file_name, settings, rendered))
    unknown_sapis = [s for s in request.sapis if s not in all_sapis]
    if unknown_sapis:
        warnings.append('sapis: %s not found on this host (found: %s)' % (', '.join(unknown_sapis), ', '.join(sorted(all_sapis)) or 'none'))
    unknown_versions = [v for v in request.versions if not any(version_matches(i.version, [v]) for i in discovered)]
    if unknown_versions:
        warnings.append('versions: %s not found on this host (found: %s)' % (', '.join(unknown_versions), ', '.join(sorted(all_versions)) or 'none'))
    if not discovered:
        warnings.append('no PHP installation found on this host: nothing to configure')
    elif not matched:
        warnings.append('no PHP installation/SAPI matched versions=%s, sapis=%s (found: %s): nothing to configure'
                        % (', '.join(request.versions) or 'all', ', '.join(request.sapis) or 'all',
                           '; '.join('%s %s' % (i.id, ', '.join(sorted(i.sapis))) for i in discovered)))
    elif empty and not targets and not errors:
        warnings.append('no opcache.* directive to set for %s (settings, version_settings and sapi_settings give none, '
                        'or only null values): nothing to write' % ', '.join(empty))
    return targets


def managed_files(fs, request, targets, errors):
    """One managed file per path; SAPIs that share a scan directory must agree on it."""
    files = {}
    for target in targets:
        entry = files.get(target.managed_path)
        if entry is None:
            files[target.managed_path] = {'path': target.managed_path, 'rendered': target.rendered, 'targets': [target],
                                          'version': target.inst.version}
            continue
        if dict((k, v[0]) for k, v in entry['rendered'].items()) != dict((k, v[0]) for k, v in target.rendered.items()):
            errors.append('%s is read by several SAPIs (%s, %s) that were given different settings; they share one scan directory'
                          % (target.managed_path, ', '.join(t.sapi_name for t in entry['targets']), target.sapi_name))
        entry['targets'].append(target)
    for entry in files.values():
        entry['text'] = render_file(entry['rendered'], request.profile, entry['version'], [t.sapi_name for t in entry['targets']],
                                    request.scope)
        local = fs.local(entry['path'])
        entry['before'] = None
        if os.path.islink(local):
            errors.append('%s is a symbolic link; the managed file must be a regular file' % entry['path'])
        elif os.path.exists(local):
            with open(local, 'rb') as handle:
                entry['before'] = handle.read().decode('utf-8', 'surrogateescape')
    return [files[p] for p in sorted(files)]


# ---------------------------------------------------------------------------------------------
# conflicts

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


# ---------------------------------------------------------------------------------------------
# FPM pools

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


# ---------------------------------------------------------------------------------------------

def plan(fs, request, discovered):
    """Every change for ``request`` (a Request) on the installations ``discovered``. Raises
    QuarantineError listing every problem; nothing is written here."""
    errors, warnings = [], []
    targets = select_targets(fs, request, discovered, errors, warnings)
    files = managed_files(fs, request, targets, errors)
    conflicts = Conflicts(fs, request, discovered, targets)
    for target in targets:
        conflicts.add(target)
    errors.extend(conflicts.errors)
    comments = conflicts.comments
    overrides = pool_overrides(fs, request, targets, comments, errors, warnings)
    if errors:
        raise QuarantineError(errors)
    taken = set()
    renames = [conflicts.renames[p] for p in sorted(conflicts.renames)]
    for entry in renames:
        entry['to'] = free_disabled_name(fs, entry['path'], taken)
        taken.add(entry['to'])
    expected = [{'installation': t.inst.id, 'sapi': t.sapi_name, 'directive': name, 'value': t.rendered[name][1], 'file': t.managed_path}
                for t in targets for name in sorted(t.rendered)]
    return {
        'files': files,
        'renames': renames,
        'comments': [comments[p] for p in sorted(comments)],
        'earlier': conflicts.earlier,
        'conditional': conflicts.conditional,
        'pool_overrides': overrides,
        'expected': expected,
        'targets': targets,
        'scope': request.scope,
        'warnings': warnings,
    }


def plan_changes(the_plan):
    """Whether applying ``the_plan`` changes anything."""
    return bool(the_plan['renames'] or the_plan['comments'] or any(f['before'] != f['text'] for f in the_plan['files']))


def plan_diff(the_plan):
    """Ansible diff entries: the managed files, the commented files, and one entry per rename."""
    diffs = []
    for entry in the_plan['files']:
        if entry['before'] != entry['text']:
            diffs.append({'before_header': entry['path'] if entry['before'] is not None else '%s (absent)' % entry['path'],
                          'after_header': entry['path'], 'before': entry['before'] or '', 'after': entry['text']})
    for entry in the_plan['comments']:
        diffs.append({'before_header': entry['path'], 'after_header': entry['path'] + ' (conflicting lines commented out)',
                      'before': entry['before'], 'after': entry['after']})
    for entry in the_plan['renames']:
        diffs.append({'before_header': entry['path'], 'after_header': '%s (renamed to %s)' % (entry['path'], entry['to']),
                      'before': 'file %s\n' % entry['path'], 'after': 'file %s\n' % entry['to']})
    return diffs
