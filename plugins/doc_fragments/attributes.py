# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes shared by the collection's modules (extend with phpops.opcache.attributes and, for
read-only modules, phpops.opcache.attributes.info_module; for facts, phpops.opcache.attributes.facts)."""

from __future__ import annotations


class ModuleDocFragment(object):

    # Every module: runs on the managed node with the standard library.
    DOCUMENTATION = r'''
attributes:
  platform:
    support: full
    description: POSIX managed nodes with Python 3.8 or later; the module uses the Python standard library only.
    platforms: posix
'''

    # Modules that only read.
    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode. The live view's transient probe file is removed before it returns.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show a difference of.
'''

    FACTS = r'''
attributes:
  facts:
    support: full
    description: Returns C(ansible_facts.opcache).
'''
