# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""What the findings claim about PHP, checked against the real PHP of this machine.

* OPC_JIT_WORD_REWRITTEN: an unquoted on/off/yes/no/true/false/none/null in ``opcache.jit`` is
  rewritten by the ini scanner to "1" or "". The finding fires only where the rewritten value makes
  PHP behave otherwise than the word the operator meant (``jit_empty_means_disable``). Here PHP runs
  each unquoted word and the quoted word it means, and compares the JIT status and whether a later
  ``ini_set('opcache.jit', 'tracing')`` (what an FPM pool's php_value does) is accepted.
* A stock Debian host (this machine's /etc/php/8.2 as apt installed it, read through the engine for
  fpm and cli) raises no finding about its own files beyond the ones listed in STOCK_HOST_FINDINGS.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.findings import jit_empty_means_disable
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report
from ansible_collections.phpops.opcache.tests.oracle.php_oracle import find_php

JIT_PROBE = r'''
$before = opcache_get_status(false)['jit'] ?? null;
$raw = ini_get('opcache.jit');
$accepted = @ini_set('opcache.jit', 'tracing') !== false;
$after = opcache_get_status(false)['jit'] ?? null;
$keep = ['enabled' => 1, 'on' => 1, 'kind' => 1, 'opt_level' => 1, 'opt_flags' => 1];
echo json_encode(['raw' => $raw, 'before' => $before ? array_intersect_key($before, $keep) : null,
                  'runtime_tracing_accepted' => $accepted, 'after_on' => $after['on'] ?? null]);
'''

# the word written -> the quoted word it means to zend_jit_config()
MEANT = {'off': 'off', 'no': 'off', 'false': 'off', 'none': 'off', 'null': 'off', 'on': 'on', 'yes': 'on', 'true': 'on'}


def php_jit(tmp_path, value):
    php = find_php()
    ini = tmp_path / ('php-%s.ini' % abs(hash(value)))
    ini.write_text('zend_extension=opcache\nopcache.enable_cli=1\nopcache.jit_buffer_size=16M\nopcache.jit=%s\n' % value)
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'PHP_INI_SCAN_DIR': ''}
    proc = subprocess.run([php, '-c', str(ini), '-r', JIT_PROBE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def php_version():
    return subprocess.run([find_php(), '-r', 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;'], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True, env={'PATH': os.environ.get('PATH', '/usr/bin:/bin')}).stdout


@pytest.mark.parametrize('word', sorted(MEANT))
def test_jit_word_rewrite_against_real_php(tmp_path, word):
    unquoted = php_jit(tmp_path, word)
    quoted = php_jit(tmp_path, '"%s"' % MEANT[word])
    assert unquoted['raw'] == ('1' if MEANT[word] == 'on' else ''), 'the ini scanner rewrites the word'
    assert quoted['raw'] == MEANT[word]
    assert quoted['before']['enabled'] is True and quoted['before']['on'] is (MEANT[word] == 'on')
    behaves_otherwise = unquoted != dict(quoted, raw=unquoted['raw'])
    if MEANT[word] == 'on':
        assert not behaves_otherwise, '"1" is a synonym of "tracing"/"on": %r vs %r' % (unquoted, quoted)
    else:
        # the finding's rule for "" must agree with this PHP (8.2: "" is "off", so a pool may switch the JIT on)
        assert behaves_otherwise is jit_empty_means_disable(php_version()), (unquoted, quoted)


def test_jit_runtime_switch_is_what_the_finding_protects(tmp_path):
    """The case the finding is about: a pool's opcache.jit after a "disable" is refused."""
    disabled = php_jit(tmp_path, 'disable')
    assert (disabled['before']['enabled'], disabled['runtime_tracing_accepted'], disabled['after_on']) == (False, False, False)
    off = php_jit(tmp_path, '"off"')
    assert (off['before']['on'], off['runtime_tracing_accepted'], off['after_on']) == (False, True, True)


# Findings an operator of a stock Debian 12 PHP 8.2 host (apt's files, untouched) should see about
# its own files: none. Decided: Debian's "opcache.jit=off" reaches PHP as "" which PHP 8.2 reads as
# "off" (no OPC_JIT_WORD_REWRITTEN, see above); the CLI's opcache.enable_cli=0 is PHP's own default
# (no OPC_DISABLED). Every other code would be a real problem of the host.
STOCK_HOST_FINDINGS = set()     # of (code, severity, sapi, evidence...)

DEBIAN_PACKAGES = ('php8.2-common', 'php8.2-opcache', 'php8.2-cli', 'php8.2-fpm')


def _stock_debian_or_fail():
    etc = '/etc/php/8.2'
    if not os.path.isdir(etc):
        pytest.fail('%s is missing: scripts/setup-host installs PHP 8.2 from apt' % etc, pytrace=False)
    changed = subprocess.run(['dpkg', '--verify'] + list(DEBIAN_PACKAGES), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, check=False).stdout.strip()
    assert not changed, 'not a stock host: dpkg --verify reports changed package files:\n%s' % changed
    for sapi in ('cli', 'fpm'):
        conf_d = os.path.join(etc, sapi, 'conf.d')
        for name in sorted(os.listdir(conf_d)):
            target = os.readlink(os.path.join(conf_d, name)) if os.path.islink(os.path.join(conf_d, name)) else None
            assert target == '/etc/php/8.2/mods-available/' + name.split('-', 1)[1], (
                'not a stock host: %s/%s is not a phpenmod link into mods-available' % (conf_d, name))


def _run(argv):
    env = dict((k, v) for k, v in os.environ.items() if k not in ('PHPRC', 'PHP_INI_SCAN_DIR'))
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_stock_debian_host_has_no_noise():
    _stock_debian_or_fail()
    report = build_report(HostFS('/'), _run, families=['debian']).as_dict()
    installation = [i for i in report['installations'] if i['id'] == 'debian:/etc/php/8.2']
    assert installation and sorted(installation[0]['sapis']) == ['cli', 'fpm'], report['installations']
    assert installation[0]['sapis']['fpm']['settings']['opcache.jit']['value'] == '', 'Debian ships opcache.jit=off, unquoted'
    found = set((f['code'], f['severity'], f['sapi']) + tuple(f['evidence']) for f in report['findings']
                if f['installation'] == 'debian:/etc/php/8.2')
    assert found == STOCK_HOST_FINDINGS, json.dumps(report['findings'], indent=1)
