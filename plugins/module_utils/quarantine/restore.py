# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back, byte for byte, everything the manifest records; without a manifest, say what is
found (managed files by their header, ``.DISABLED`` names, commented lines) and what cannot be undone."""

from __future__ import annotations

import os
import posixpath

from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.debian import set_debian_state
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import (
    COMMENT_PREFIX,
    MANAGED_MARKER,
    QuarantineError,
    atomic_write,
    disabled_original,
    load_manifest,
    remove_empty_dirs,
    sha256_path,
)


def _is_managed(fs, path):
    try:
        return not fs.is_link(path) and fs.read_bytes(path, 1 << 20).startswith(MANAGED_MARKER.encode('ascii'))
    except HostFSError:
        return False


def _plan_rename(fs, item, settled, actions, problems, notes):
    original, moved = item['original'], item['moved_to']
    if original in settled:
        # A newer entry puts a file there again: a package brought the file back and a later run
        # quarantined it once more. The older copy is redundant when it has the same bytes.
        if not os.path.lexists(fs.local(moved)):
            notes.append('%s: the older quarantined copy %s is gone already' % (original, moved))
        elif sha256_path(fs.local(moved)) == settled[original]:
            actions.append({'action': 'remove_duplicate', 'from': moved, 'to': original})
        else:
            notes.append('%s: the older quarantined copy %s differs from the file put back (a package replaced it); it is kept'
                         % (original, moved))
        return
    if not os.path.lexists(fs.local(moved)):
        problems.append('%s: the quarantined copy %s is missing' % (original, moved))
    elif os.path.lexists(fs.local(original)):
        problems.append('%s exists again (a package update?) and no later run quarantined it; %s is kept, resolve by hand (or run the role '
                        'once more, then restore)' % (original, moved))
    elif sha256_path(fs.local(moved)) != item['sha256']:
        problems.append('%s changed since it was quarantined (sha256 differs); not restoring it' % moved)
    else:
        actions.append({'action': 'rename', 'from': moved, 'to': original, 'debian_state': item.get('debian_state')})
        settled[original] = item['sha256']


def _plan_copy_back(fs, item, settled, actions, problems, notes):
    original, backup = item['original'], item['backup']
    if original in settled:
        if item.get('after_sha256') != settled[original]:
            # The file was replaced after this edit (package upgrade) and edited again: this copy is obsolete.
            actions.append({'action': 'remove_backup', 'from': backup, 'to': original})
            notes.append('%s: the copy %s from before a package replaced the file is obsolete and removed' % (original, backup))
            return
    elif item.get('after_sha256') and os.path.lexists(fs.local(original)) and sha256_path(fs.local(original)) != item['after_sha256']:
        problems.append('%s changed since phpops.opcache commented out lines %s (sha256 differs); its copy %s is kept, resolve by hand'
                        % (original, ', '.join(str(n) for n in item.get('lines', [])), backup))
        return
    if not os.path.exists(fs.local(backup)) or sha256_path(fs.local(backup)) != item['sha256']:
        problems.append('%s: the backup %s is missing or changed' % (original, backup))
        return
    actions.append({'action': 'copy_back', 'from': backup, 'to': original, 'via': item.get('via') or []})
    settled[original] = item['sha256']


def plan_restore(fs, manifest_path):
    """What :func:`restore` would do: (manifest, actions, problems that stop it, notes)."""
    manifest = load_manifest(fs, manifest_path)
    actions, problems, notes = [], [], []
    settled = {}
    for item in reversed(manifest['entries']):
        if item['action'] == 'rename':
            _plan_rename(fs, item, settled, actions, problems, notes)
        elif item['action'] == 'comment_lines':
            _plan_copy_back(fs, item, settled, actions, problems, notes)
        elif item.get('backup'):
            if not os.path.exists(fs.local(item['backup'])):
                problems.append('%s: the backup %s of the file it replaced is missing' % (item['original'], item['backup']))
            else:
                actions.append({'action': 'copy_back', 'from': item['backup'], 'to': item['original']})
        elif os.path.lexists(fs.local(item['original'])):
            if _is_managed(fs, item['original']):
                actions.append({'action': 'remove', 'to': item['original']})
            else:
                notes.append('%s no longer carries the "%s" header: it is not removed' % (item['original'], MANAGED_MARKER))
    return manifest, actions, problems, notes


def find_leftovers(fs, installations):
    """Without a manifest: managed files (by header), ``.DISABLED`` files and lines commented out by
    phpops.opcache in every scan directory and main ini of ``installations``."""
    managed, disabled, commented = [], [], []
    seen = set()
    for inst in installations:
        for sapi in inst.sapis.values():
            main = sapi.main_ini(fs)
            paths = [main] if main else []
            for directory in sapi.scan_dirs():
                try:
                    names = sorted(fs.listdir(directory))
                except HostFSError:
                    continue
                paths.extend(posixpath.join(directory, name) for name in names)
            for path in paths:
                if path in seen:
                    continue
                seen.add(path)
                name = posixpath.basename(path)
                if disabled_original(name):
                    disabled.append({'path': path, 'original': posixpath.join(posixpath.dirname(path), disabled_original(name))})
                elif name.endswith('.ini') and fs.is_file(path):
                    if _is_managed(fs, path):
                        managed.append(path)
                        continue
                    try:
                        text = fs.read_text(path, 8 << 20)
                    except HostFSError:
                        continue
                    lines = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(COMMENT_PREFIX)]
                    if lines:
                        commented.append({'path': path, 'lines': lines})
    return {'managed': managed, 'disabled': disabled, 'commented': commented}


def describe_leftovers(manifest_path, found):
    parts = []
    if found['managed']:
        parts.append('managed files (header "%s"): %s' % (MANAGED_MARKER, ', '.join(found['managed'])))
    if found['disabled']:
        parts.append('files renamed to .DISABLED (by phpops.opcache or by hand; without the manifest their original bytes cannot '
                     'be checked): %s' % ', '.join('%s (was %s)' % (d['path'], d['original']) for d in found['disabled']))
    if found['commented']:
        parts.append('lines commented out by phpops.opcache (prefix "%s"): %s'
                     % (COMMENT_PREFIX, ', '.join('%s lines %s' % (c['path'], ', '.join(map(str, c['lines']))) for c in found['commented'])))
    return 'the manifest %s is missing; found %s' % (manifest_path, '; '.join(parts))


def _perform(fs, actions):
    copies = set()      # removed at the end: two entries may share one copy (same bytes, same name)
    for action in actions:
        target = fs.local(action['to'])
        if action['action'] == 'rename':
            os.rename(fs.local(action['from']), target)
            state = action.get('debian_state')
            if state:
                set_debian_state(fs, state['dir'], state['module'], state['before'])
                remove_empty_dirs([fs.local(d) for d in state.get('created_dirs', [])])
        elif action['action'] == 'copy_back':
            source = fs.local(action['from'])
            with open(source, 'rb') as handle:
                data = handle.read()
            atomic_write(target, data, like=os.stat(source))
            copies.add(source)
        elif action['action'] == 'remove_backup':
            copies.add(fs.local(action['from']))
        elif action['action'] == 'remove_duplicate':
            os.unlink(fs.local(action['from']))
        elif action['action'] == 'remove':
            os.unlink(target)
    for copy in sorted(copies):
        if os.path.lexists(copy):
            os.unlink(copy)


def restore(fs, manifest_path, installations=(), check_mode=False):
    """Put every file recorded in the manifest back, byte for byte; then remove the manifest and the
    copies. Returns ``{'actions', 'notes', 'warnings', 'created_dirs'}`` (in check mode: what would be done).

    Without a manifest: nothing to do when no managed file is found (``.DISABLED`` files and
    commented lines found are named in the notes); QuarantineError naming everything found when a
    managed file exists, since the original bytes can no longer be checked."""
    local = fs.local(manifest_path)
    if not os.path.exists(local):
        found = find_leftovers(fs, installations)
        if found['managed']:
            raise QuarantineError(describe_leftovers(manifest_path, found)
                                  + '. Nothing was undone: without the manifest the original files and their bytes are unknown. '
                                  'By hand: remove the managed files, rename each .DISABLED file you want back, remove the prefix from '
                                  'the commented lines, then reload PHP-FPM')
        warnings = []
        if found['disabled'] or found['commented']:
            warnings.append(describe_leftovers(manifest_path, found) + ' (not known to be this role\'s; left as they are)')
        return {'actions': [], 'notes': ['nothing to restore: no manifest at %s and no managed file' % manifest_path],
                'warnings': warnings, 'created_dirs': []}
    manifest, actions, problems, notes = plan_restore(fs, manifest_path)
    if problems:
        raise QuarantineError(problems)
    result = {'actions': actions, 'notes': notes, 'warnings': [], 'created_dirs': list(manifest.get('created_dirs', []))}
    if check_mode:
        return result
    _perform(fs, actions)
    os.unlink(local)
    remove_empty_dirs([os.path.join(os.path.dirname(local), 'backups')])
    return result


def reads_any(fs, sapi, paths):
    """Whether one of ``paths`` is part of this SAPI's configuration: its main ini, a file in one of its
    scan directories, or a file under its configuration directory (FPM pool files)."""
    dirs = set(d.rstrip('/') for d in sapi.scan_dirs())
    prefixes = tuple(d.rstrip('/') + '/' for d in (sapi.config_dir, posixpath.dirname(sapi.fpm_conf or '')) if d)
    main = sapi.main_ini(fs)
    return any(p == main or posixpath.dirname(p) in dirs or p.startswith(prefixes) for p in paths)
