# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's configuration pipeline, one job per file: plan -> apply -> verify, and restore.

- ``settings``: the requested directives, checked against the directive table and rendered.
- ``plan``: which installations/SAPIs and the managed files, put together with ``conflicts`` (how
  every other file that assigns a managed directive is neutralised: renamed to ``.DISABLED`` or its
  lines commented out) and ``pools`` (FPM pool lines that override a managed directive).
- ``validate``: the real binaries (``php-fpm -t``, ``php-fpm -i``, ``php -i``) with the new files in place.
- ``apply``: the planned changes, atomic, recorded in the manifest, undone when validation fails.
- ``verify``: after applying, the managed file is the only active assignment of each directive.
- ``restore``: everything back from the manifest, byte for byte.
- ``store``: the files on the host (hashes, atomic writes, ``.DISABLED`` names, manifest, host lock).
- ``debian``: phpenmod/phpdismod module state for renamed Debian conf.d links.
"""
