# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian's phpenmod/phpdismod module state for a renamed conf.d link.

phpenmod/phpdismod keep, per version and SAPI, which modules the admin or the package maintainer
scripts enabled or disabled (/usr/lib/php/php-helper record_state). A package upgrade re-creates a
conf.d link unless the module is recorded as disabled_by_admin, so renaming such a link records that
state too, exactly as `phpdismod -v X.Y -s SAPI module` would; restore puts the previous state back."""

from __future__ import annotations

import os
import posixpath
import re

from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import make_dirs, target_path

DEBIAN_STATES = ('enabled_by_admin', 'enabled_by_maint', 'disabled_by_admin', 'disabled_by_maint')
_DEBIAN_CONF_D = re.compile(r'^/etc/php/(\d+\.\d+)/([^/]+)/conf\.d/[^/]+$')


def debian_module_of(fs, path):
    """(state_dir, module) when ``path`` is a Debian conf.d link into mods-available, else None."""
    match = _DEBIAN_CONF_D.match(path)
    if not match or not fs.is_link(path):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), fs.readlink(path)))
    module = re.match(r'^/etc/php/%s/mods-available/([^/]+)\.ini$' % re.escape(match.group(1)), target)
    if not module:
        return None
    return '/var/lib/php/modules/%s/%s' % (match.group(1), match.group(2)), module.group(1)


def debian_state(fs, state_dir, module):
    return [name for name in DEBIAN_STATES if os.path.lexists(fs.local(posixpath.join(state_dir, name, module)))]


def set_debian_state(fs, state_dir, module, wanted, undo=None):
    """Make exactly the ``wanted`` state files exist for ``module``; ``undo`` records the way back.
    Returns the directories that had to be created (target paths)."""
    created = []
    for name in DEBIAN_STATES:
        local = fs.local(posixpath.join(state_dir, name, module))
        exists = os.path.lexists(local)
        if name in wanted and not exists:
            made = make_dirs(os.path.dirname(local))     # shallowest first
            created.extend(target_path(fs, d) for d in made)
            with open(local, 'wb'):
                pass
            if undo is not None:
                undo.steps.extend((lambda d=d: os.path.isdir(d) and not os.listdir(d) and os.rmdir(d)) for d in made)
                undo.steps.append(lambda local=local: os.path.lexists(local) and os.unlink(local))
        elif name not in wanted and exists:
            os.unlink(local)
            if undo is not None:
                undo.steps.append(lambda local=local: open(local, 'wb').close())
    return created
