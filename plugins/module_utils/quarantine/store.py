# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side of the pipeline: hashes, atomic writes, free ``.DISABLED`` names, the manifest
(every rename and edit, for a byte-identical restore) and the lock that serialises changing runs."""

from __future__ import annotations

import datetime
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import stat
import tempfile
import time

DEFAULT_FILE_NAME = 'zz-phpops-opcache.ini'
DEFAULT_MANIFEST = '/var/lib/phpops-opcache/manifest.json'
DISABLED_SUFFIX = '.DISABLED'
MAX_DISABLED_INDEX = 99
MANAGED_MARKER = '; Managed by phpops.opcache'
COMMENT_PREFIX = '; disabled by phpops.opcache: '
MANIFEST_VERSION = 1
LOCK_WAIT = 60.0

# What each manifest action needs to be undone.
_REQUIRED = {
    'rename': ('original', 'moved_to', 'sha256'),
    'comment_lines': ('original', 'backup', 'sha256'),
    'managed_file': ('original',),
}


class QuarantineError(Exception):
    """A problem that stops the run; ``errors`` holds every one found (each names file and option)."""

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = [errors]
        super(QuarantineError, self).__init__('; '.join(errors))
        self.errors = list(errors)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def name_key(name):
    return name.encode('utf-8', 'surrogateescape')


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_path(local_path):
    """sha256 of a file's bytes, or of ``symlink:<target>`` for a symlink (the link itself moves)."""
    if os.path.islink(local_path):
        return sha256_bytes(b'symlink:' + os.readlink(local_path).encode('utf-8', 'surrogateescape'))
    digest = hashlib.sha256()
    with open(local_path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(65536), b''):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(local_path, data, mode=0o644, like=None):
    """Write ``data`` to a temporary file in the same directory and rename it into place; ``like``
    (a stat result) gives the mode and owner to keep."""
    directory = os.path.dirname(local_path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.phpops-opcache-', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if like is not None:
            os.chmod(tmp, stat.S_IMODE(like.st_mode))
            try:
                os.chown(tmp, like.st_uid, like.st_gid)
            except OSError:
                pass
        else:
            os.chmod(tmp, mode)
        os.rename(tmp, local_path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def free_disabled_name(fs, path, taken=()):
    """``<path>.DISABLED``, or the first free ``<path>.DISABLED.<n>``: an existing file is never
    overwritten (it may be an earlier quarantine of a file with the same name)."""
    candidates = [path + DISABLED_SUFFIX] + ['%s%s.%d' % (path, DISABLED_SUFFIX, n) for n in range(1, MAX_DISABLED_INDEX + 1)]
    for candidate in candidates:
        if candidate not in taken and not os.path.lexists(fs.local(candidate)):
            return candidate
    raise QuarantineError('%s: %s and %s.1 to .%d all exist; remove the stale copies' % (path, path + DISABLED_SUFFIX, DISABLED_SUFFIX, MAX_DISABLED_INDEX))


def disabled_original(name):
    """``x.ini`` for ``x.ini.DISABLED`` or ``x.ini.DISABLED.<n>``, else None."""
    base, dot, index = name.rpartition('.')
    if dot and index.isdigit() and base.endswith(DISABLED_SUFFIX):
        return base[:-len(DISABLED_SUFFIX)] or None
    if name.endswith(DISABLED_SUFFIX):
        return name[:-len(DISABLED_SUFFIX)] or None
    return None


def _describe_entry(manifest_path, index, item):
    if not isinstance(item, dict):
        return 'manifest %s entry #%d (%r)' % (manifest_path, index + 1, item)
    return 'manifest %s entry #%d (action %s, original %s)' % (manifest_path, index + 1, item.get('action', '?'), item.get('original', '?'))


def manifest_problems(manifest_path, manifest):
    """Messages naming every entry that cannot be undone as written."""
    problems = []
    for index, item in enumerate(manifest['entries']):
        where = _describe_entry(manifest_path, index, item)
        if not isinstance(item, dict):
            problems.append('%s is not an object' % where)
            continue
        required = _REQUIRED.get(item.get('action'))
        if required is None:
            problems.append('%s has an unknown action (expected one of %s)' % (where, ', '.join(sorted(_REQUIRED))))
            continue
        missing = [key for key in required if not isinstance(item.get(key), str) or not item.get(key)]
        if missing:
            problems.append('%s lacks %s' % (where, ', '.join(missing)))
    return problems


def load_manifest(fs, manifest_path):
    """The manifest, or an empty one when there is none; QuarantineError naming the manifest or the
    entry when it cannot be used."""
    local = fs.local(manifest_path)
    if not os.path.exists(local):
        return {'version': MANIFEST_VERSION, 'entries': []}
    try:
        with open(local, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError, ValueError) as error:
        raise QuarantineError('manifest %s cannot be read: %s' % (manifest_path, error))
    if not isinstance(data, dict) or not isinstance(data.get('entries'), list):
        raise QuarantineError('manifest %s is not a phpops.opcache manifest (no "entries" list)' % manifest_path)
    problems = manifest_problems(manifest_path, data)
    if problems:
        raise QuarantineError(problems)
    return data


def manifest_bytes(manifest):
    return (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8')


def make_dirs(local_dir, mode=0o755):
    """os.makedirs, returning the directories it created (deepest last)."""
    created = []
    current = local_dir
    while current and current != '/' and not os.path.isdir(current):
        created.append(current)
        current = os.path.dirname(current)
    for directory in reversed(created):
        try:
            os.mkdir(directory, mode)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
    return list(reversed(created))


def remove_empty_dirs(paths):
    """Remove the given directories, deepest first, when they are empty; returns those removed."""
    removed = []
    for path in sorted(paths, key=len, reverse=True):
        try:
            if os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
                os.rmdir(path)
                removed.append(path)
        except OSError:
            pass
    return removed


class HostLock(object):
    """An exclusive lock (fcntl.flock) on ``<manifest>.lock``: one changing run per host at a time.

    Waits up to ``wait`` seconds, then fails saying which process holds it and since when. The lock
    file holds the holder's pid and start time; ``release(remove=True)`` deletes it (restore leaves
    nothing behind), and a waiter that then wins the lock on the deleted file retries on the new one."""

    def __init__(self, fs, manifest_path, wait=LOCK_WAIT):
        self.fs = fs
        self.path = manifest_path + '.lock'
        self.local = fs.local(self.path)
        self.wait = wait
        self.fd = None
        self.created_dirs = []

    def acquire(self):
        self.created_dirs = [target_path(self.fs, d) for d in make_dirs(os.path.dirname(self.local))]
        deadline = time.monotonic() + self.wait
        while True:
            fd = os.open(self.local, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError) as error:
                os.close(fd)
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise QuarantineError('another phpops.opcache run holds %s (%s); waited %.0fs for it to finish, nothing was changed'
                                          % (self.path, self.holder(), self.wait))
                time.sleep(0.2)
                continue
            try:
                current = os.stat(self.local)
            except OSError:
                current = None
            mine = os.fstat(fd)
            if current is None or (current.st_ino, current.st_dev) != (mine.st_ino, mine.st_dev):
                os.close(fd)    # the holder removed the file while we waited: lock the new one
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({'pid': os.getpid(), 'since': now()}).encode('utf-8'))
            self.fd = fd
            return self

    def holder(self):
        """'pid N, since T' from the lock file (a holder that wrote nothing: its modification time)."""
        try:
            with open(self.local, 'rb') as handle:
                data = json.loads(handle.read().decode('utf-8') or '{}')
        except (IOError, OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        since = data.get('since')
        if not since:
            try:
                since = datetime.datetime.fromtimestamp(os.stat(self.local).st_mtime, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            except OSError:
                since = 'unknown'
        return 'pid %s, since %s' % (data.get('pid', 'unknown: it did not record one'), since)

    def release(self, remove=False):
        if self.fd is None:
            return
        if remove:
            try:
                os.unlink(self.local)
            except OSError:
                pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


def target_path(fs, local):
    """The path on the target for a local path (the inverse of ``fs.local``)."""
    if not fs.prefixed:
        return local
    relative = os.path.relpath(local, fs.root)
    return '/' if relative == '.' else '/' + relative


def missing_dirs(fs, directory):
    """The target directories that ``make_dirs`` would create for ``directory``, shallowest first."""
    missing = []
    current = directory
    while current and current != '/' and not os.path.isdir(fs.local(current)):
        missing.append(current)
        current = posixpath.dirname(current)
    return list(reversed(missing))
