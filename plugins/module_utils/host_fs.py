# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The target's filesystem, seen either directly (root ``/``) or under a ``root`` prefix.

Under a prefix (a container image, a chroot, a test tree) symlinks must resolve *inside* that
prefix: Debian's ``conf.d/10-opcache.ini -> /etc/php/8.2/mods-available/opcache.ini`` is absolute
and must not escape to the controller's own /etc. All paths given to and returned by this class
are paths on the target.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import posixpath
import stat

MAX_SYMLINKS = 40


class HostFSError(Exception):
    """A filesystem problem, with the target path and the reason."""

    def __init__(self, path, reason):
        super(HostFSError, self).__init__('%s: %s' % (path, reason))
        self.path = path
        self.reason = reason


def _reason(error):
    if error.errno == errno.ELOOP:
        return 'too many levels of symbolic links (symlink loop)'
    if error.errno == errno.ENOENT:
        return 'does not exist (dangling symlink or missing file)'
    if error.errno == errno.EACCES:
        return 'permission denied'
    return error.strerror or str(error)


class HostFS(object):
    def __init__(self, root='/'):
        root = root or '/'
        self.root = os.path.abspath(root)
        self.prefixed = self.root != '/'

    # -- path mapping ---------------------------------------------------------------------------
    def local(self, path):
        """The path on this machine for a target path (no symlink resolution)."""
        if not self.prefixed:
            return path
        return os.path.join(self.root, path.lstrip('/'))

    def resolve(self, path):
        """Resolve every symlink of a target path inside the root; raise HostFSError on loops or
        missing components. Returns the resolved target path."""
        if not self.prefixed:
            try:
                os.stat(path)
            except OSError as error:
                raise HostFSError(path, _reason(error))
            return os.path.realpath(path)
        parts = [p for p in posixpath.normpath('/' + path.lstrip('/')).split('/') if p]
        resolved = '/'
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == '..':
                resolved = posixpath.dirname(resolved) or '/'
                continue
            candidate = posixpath.join(resolved, part)
            local = self.local(candidate)
            if os.path.islink(local):
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise HostFSError(path, 'too many levels of symbolic links (symlink loop)')
                target = os.readlink(local)
                base = '/' if target.startswith('/') else resolved
                parts = [p for p in target.split('/') if p and p != '.'] + parts
                resolved = base
                continue
            if not os.path.lexists(local):
                raise HostFSError(path, 'does not exist (dangling symlink or missing file)')
            resolved = candidate
        return resolved

    # -- queries --------------------------------------------------------------------------------
    def stat(self, path):
        """stat() following symlinks (inside the root)."""
        try:
            return os.stat(self.local(self.resolve(path)))
        except OSError as error:
            raise HostFSError(path, _reason(error))

    def lstat(self, path):
        try:
            return os.lstat(self.local(path))
        except OSError as error:
            raise HostFSError(path, _reason(error))

    def exists(self, path):
        try:
            self.stat(path)
            return True
        except HostFSError:
            return False

    def is_file(self, path):
        try:
            return stat.S_ISREG(self.stat(path).st_mode)
        except HostFSError:
            return False

    def is_dir(self, path):
        try:
            return stat.S_ISDIR(self.stat(path).st_mode)
        except HostFSError:
            return False

    def is_link(self, path):
        return os.path.islink(self.local(path))

    def readlink(self, path):
        return os.readlink(self.local(path))

    def listdir(self, path):
        try:
            return os.listdir(self.local(self.resolve(path)))
        except OSError as error:
            raise HostFSError(path, _reason(error))

    def read_bytes(self, path, limit=None):
        """Read a file; with ``limit``, refuse files larger than that many bytes."""
        try:
            local = self.local(self.resolve(path))
            with open(local, 'rb') as handle:
                if limit is not None:
                    size = os.fstat(handle.fileno()).st_size
                    if size > limit:
                        raise HostFSError(path, 'file is %d bytes, more than the %d bytes this analysis reads' % (size, limit))
                return handle.read()
        except (OSError, IOError) as error:
            raise HostFSError(path, _reason(error))

    def read_text(self, path, limit=None):
        """Read a file as text. Bytes that are not UTF-8 are kept through surrogateescape so that
        offsets and values stay byte-faithful."""
        return self.read_bytes(path, limit).decode('utf-8', 'surrogateescape')

    def glob(self, pattern):
        """Expand a glob of target paths (directory parts may hold wildcards), sorted like glob(3)."""
        pattern = posixpath.normpath(pattern)
        parts = [p for p in pattern.split('/') if p]
        found = ['/'] if pattern.startswith('/') else ['']
        for part in parts:
            following = []
            for base in found:
                if any(ch in part for ch in '*?['):
                    try:
                        names = self.listdir(base or '.')
                    except HostFSError:
                        continue
                    following.extend(posixpath.join(base, n) for n in sorted(names)
                                     if fnmatch.fnmatchcase(n, part) and (part.startswith('.') or not n.startswith('.')))
                else:
                    candidate = posixpath.join(base, part)
                    if os.path.lexists(self.local(candidate)):
                        following.append(candidate)
            found = following
        return sorted(found)
