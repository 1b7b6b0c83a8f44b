# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""A minimal opcache_report.Report for tests of the live view: one installation with an fpm SAPI."""

from __future__ import annotations

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import FpmConfig, Pool
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import EffectiveConfig
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import InstallationReport, Report, SapiReport
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import Installation, SapiConfig


def report_with_fpm(inst_id, fpm_conf, pool_names, version='8.2', fpm_binary=None):
    """A Report whose installation ``inst_id`` (``family:base``) has an fpm SAPI running ``fpm_conf``
    with pools ``pool_names`` (and, when given, the php-fpm binary ``fpm_binary``)."""
    family, base = inst_id.split(':', 1)
    inst = Installation(family, version, base)
    if fpm_binary:
        inst.binaries['fpm'] = fpm_binary
    fpm = FpmConfig(fpm_conf)
    fpm.pools = [Pool(name, fpm_conf, 1) for name in pool_names]
    fpm.files = [fpm_conf]
    inst_report = InstallationReport(inst)
    inst_report.sapis['fpm'] = SapiReport('fpm', SapiConfig('fpm', None, None, fpm_binary, fpm_conf), EffectiveConfig(), fpm, {}, version, {})
    return Report([inst_report], [])
