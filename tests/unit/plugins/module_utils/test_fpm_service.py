# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service names per family."""

from __future__ import annotations

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import ServiceError, act, service_name_for


@pytest.mark.parametrize('config, service', [
    ('/etc/php/8.2/fpm/php-fpm.conf', 'php8.2-fpm'),
    ('/etc/opt/remi/php83/php-fpm.conf', 'php83-php-fpm'),
    ('/etc/php83/php-fpm.conf', 'php-fpm83'),
    ('/etc/php-fpm.conf', 'php-fpm'),
    ('/etc/php/php-fpm.conf', 'php-fpm'),
    ('/etc/php-legacy/php-fpm.conf', 'php-legacy-fpm'),
    ('/tmp/test/fpm.conf', None),
])
def test_service_name_for(config, service):
    assert service_name_for(config) == service


def test_unknown_service_cannot_restart():
    with pytest.raises(ServiceError, match='no init service is known'):
        act(lambda argv: (0, '', ''), '/tmp/test/fpm.conf', 'restart', master_pid=None)
