# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a plan's changes: the manifest first (a crash half-way still leaves a record), then the
renames, the line edits and the managed files, each atomic; then the caller's validation. Any
error undoes every change, so the host is as before."""

from __future__ import annotations

import errno
import os
import posixpath
import shutil

from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.debian import (
    debian_module_of,
    debian_state,
    set_debian_state,
)
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import (
    QuarantineError,
    atomic_write,
    load_manifest,
    make_dirs,
    manifest_bytes,
    missing_dirs,
    now,
    sha256_bytes,
    sha256_path,
    target_path,
)


class Undo(object):
    """The way back, one step per change, run newest first."""

    def __init__(self):
        self.steps = []

    def rollback(self):
        problems = []
        for step in reversed(self.steps):
            try:
                step()
            except (OSError, IOError) as error:
                problems.append(str(error))
        self.steps = []
        return problems


def _write_with_undo(undo, local, data):
    if os.path.lexists(local):
        with open(local, 'rb') as handle:
            previous = handle.read()
        like = os.stat(local)
        atomic_write(local, data, like=like)
        undo.steps.append(lambda: atomic_write(local, previous, like=like))
    else:
        atomic_write(local, data)
        undo.steps.append(lambda: os.path.lexists(local) and os.unlink(local))


def _rename_with_undo(undo, src, dst):
    if os.path.lexists(dst):
        raise QuarantineError('%s already exists; it is never overwritten' % dst)
    os.rename(src, dst)
    undo.steps.append(lambda: os.rename(dst, src))


def _backup(fs, manifest_path, undo, path):
    """Copy ``path`` next to the manifest (mode and times kept); returns (backup path, sha256)."""
    digest = sha256_path(fs.local(path))
    backup = posixpath.join(posixpath.dirname(manifest_path), 'backups', '%s-%s' % (digest[:16], posixpath.basename(path)))
    local = fs.local(backup)
    if not os.path.exists(local):
        made = make_dirs(os.path.dirname(local), 0o700)
        undo.steps.extend((lambda d=d: os.path.isdir(d) and not os.listdir(d) and os.rmdir(d)) for d in made)
        shutil.copy2(fs.local(path), local)
        undo.steps.append(lambda: os.path.lexists(local) and os.unlink(local))
    return backup, digest


def _record(fs, the_plan, manifest, manifest_path, undo, profile):
    """Add the plan's changes to ``manifest`` (copies of edited files are taken now)."""
    stamp = now()
    recorded = set(e['original'] for e in manifest['entries'] if e['action'] == 'managed_file')
    for entry in the_plan['files']:
        if entry['path'] in recorded:
            continue
        item = {'action': 'managed_file', 'original': entry['path'], 'time': stamp, 'backup': None, 'sha256': None}
        if entry['before'] is not None:
            item['backup'], item['sha256'] = _backup(fs, manifest_path, undo, entry['path'])
        manifest['entries'].append(item)
    for entry in the_plan['renames']:
        item = {'action': 'rename', 'original': entry['path'], 'moved_to': entry['to'], 'sha256': sha256_path(fs.local(entry['path'])),
                'symlink': entry['symlink'], 'directives': entry['directives'], 'time': stamp, 'profile': profile}
        module = debian_module_of(fs, entry['path'])
        if module:
            item['debian_state'] = {'dir': module[0], 'module': module[1], 'before': debian_state(fs, module[0], module[1]),
                                    'created_dirs': missing_dirs(fs, posixpath.join(module[0], 'disabled_by_admin'))}
        manifest['entries'].append(item)
    for entry in the_plan['comments']:
        backup, digest = _backup(fs, manifest_path, undo, entry['path'])
        manifest['entries'].append({'action': 'comment_lines', 'original': entry['path'], 'backup': backup, 'sha256': digest,
                                    'after_sha256': sha256_bytes(entry['after'].encode('utf-8', 'surrogateescape')),
                                    'via': entry.get('via', []), 'lines': entry['lines'], 'directives': entry['directives'],
                                    'time': stamp, 'profile': profile})


def _change(fs, the_plan, undo):
    for entry in the_plan['renames']:
        module = debian_module_of(fs, entry['path'])
        _rename_with_undo(undo, fs.local(entry['path']), fs.local(entry['to']))
        if module:
            set_debian_state(fs, module[0], module[1], ['disabled_by_admin'], undo)
    for entry in the_plan['comments']:
        _write_with_undo(undo, fs.local(entry['path']), entry['after'].encode('utf-8', 'surrogateescape'))
    for entry in the_plan['files']:
        if entry['before'] != entry['text']:
            _write_with_undo(undo, fs.local(entry['path']), entry['text'].encode('utf-8', 'surrogateescape'))


def apply_plan(fs, the_plan, manifest_path, profile=None, validate=None, created_dirs=()):
    """Make the planned changes. ``validate()`` returns a list of error strings (empty when the real
    binaries accept the result); on any error every change is undone and QuarantineError raised.
    ``created_dirs``: directories this run created for the manifest (restore removes them again)."""
    undo = Undo()
    manifest = load_manifest(fs, manifest_path)
    manifest_local = fs.local(manifest_path)
    try:
        made = make_dirs(os.path.dirname(manifest_local))
        undo.steps.extend((lambda d=d: os.path.isdir(d) and not os.listdir(d) and os.rmdir(d)) for d in made)
        known = manifest.setdefault('created_dirs', [])
        known.extend(d for d in list(created_dirs) + [target_path(fs, m) for m in made] if d not in known)
        _record(fs, the_plan, manifest, manifest_path, undo, profile)
        _write_with_undo(undo, manifest_local, manifest_bytes(manifest))
        _change(fs, the_plan, undo)
        problems = validate() if validate is not None else []
    except QuarantineError as error:
        rollback = undo.rollback()
        raise QuarantineError(error.errors + ['rollback: %s' % p for p in rollback])
    except (OSError, IOError) as error:
        rollback = undo.rollback()
        hint = ''
        if error.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
            hint = ' (is the file immutable (chattr +i), on a read-only filesystem, or not ours to change?); every change was rolled back'
        raise QuarantineError(['cannot apply: %s%s' % (error, hint)] + ['rollback: %s' % p for p in rollback])
    if problems:
        rollback = undo.rollback()
        raise QuarantineError(['validation failed, every change was rolled back: ' + p for p in problems]
                              + ['rollback: %s' % p for p in rollback])
    return manifest
