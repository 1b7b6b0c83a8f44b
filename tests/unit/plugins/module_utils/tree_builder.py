# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a target filesystem tree under a temporary root for tests that use HostFS(root)."""

from __future__ import annotations

import os


class Link(object):
    """A symlink to ``target`` (absolute targets resolve inside the root)."""

    def __init__(self, target):
        self.target = target


def build_tree(root, layout):
    """``layout`` maps target paths to text (a file), Link (a symlink) or None (a directory)."""
    for path, content in layout.items():
        local = os.path.join(str(root), path.lstrip('/'))
        if content is None:
            os.makedirs(local, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(local), exist_ok=True)
        if isinstance(content, Link):
            os.symlink(content.target, local)
        else:
            with open(local, 'w') as handle:
                handle.write(content)
    return str(root)
