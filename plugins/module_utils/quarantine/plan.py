# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work out every change before anything is written: which installations and SAPIs (``Request``,
``select_targets``), the managed file of each scan directory, how every other file that assigns a
managed directive is neutralised (``conflicts``) and which FPM pool lines override one (``pools``).
"""

from __future__ import annotations

import os
import posixpath

from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.conflicts import Conflicts
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.pools import pool_overrides
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.settings import (
    check_settings,
    merge_settings,
    render_file,
    version_matches,
)
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import (
    DEFAULT_FILE_NAME,
    QuarantineError,
    free_disabled_name,
)

SCOPES = ('all', 'later')
POLICIES = ('auto', 'fail', 'comment_lines')
POOL_POLICIES = ('report', 'comment_lines')


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
