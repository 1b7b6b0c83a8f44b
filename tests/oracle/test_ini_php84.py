# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""Oracle for the PHP 8.3+ scanner (``${name:-fallback}``, names without ']'): real PHP 8.4.

The machine has PHP 8.2 only; PHP 8.4 is the one of the fleet lab's Debian trixie hosts. This test
runs that ``php8.4`` from the lab's cached root filesystem (``chroot``, read only: each text goes in
as an argument to ``parse_ini_string``, no file is written) or ``PHPOPS_PHP84_ROOT``, and compares it
with the engine's 8.3+ scanner. Without that root filesystem (it is built by ``tests/lab/lab up``
with ``LAB_SUITE=trixie``, e.g. by the fleet stage) the test is skipped, saying so.
"""

from __future__ import annotations

import binascii
import glob
import json
import os
import subprocess

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import php_constants
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import ENTRY_ARRAY, parse_ini_text


def _php84_root():
    candidates = [os.environ.get('PHPOPS_PHP84_ROOT')] + sorted(glob.glob('/var/cache/phpops-opcache-lab/rootfs-trixie-*[0-9a-f]'))
    for root in candidates:
        if root and os.path.isfile(os.path.join(root, 'usr/bin/php8.4')) and os.path.isfile(root + '.unpacked'):
            return root
        if root and root == os.environ.get('PHPOPS_PHP84_ROOT') and os.path.isfile(os.path.join(root, 'usr/bin/php8.4')):
            return root
    return None


ROOT = _php84_root()
pytestmark = pytest.mark.skipif(ROOT is None, reason='no PHP 8.4 root filesystem (tests/lab/lab up with LAB_SUITE=trixie builds it)')

SCRIPT = ('$r = @parse_ini_string(hex2bin($argv[1]), false, INI_SCANNER_NORMAL);'
          'echo json_encode($r === false ? ["error" => error_get_last()["message"] ?? ""] : ["values" => $r]);')

TEXTS = ['a=${x:-y}\n', 'a=${NOPE:-fb}\nb=${MEM:-1}\n', 'a]b=1\nc=2\n', 'a=${uu:-${vv:-w}}\nc=2\n', 'b=${xx:-"y"}\nc=2\n',
         'a=${xx:-E_ALL}\n', 'a=${NOPE:-}\n', 'a=${ab:-x}\n', 'c=${NOPE:-"q" E_ALL}\n', 'a=${x y:-z}\n', 'a=${MEM}\n',
         'x = ; c', 'a=1\n[x;y]\nb=2\n', 'test==\nb=1\n', 'a="x\\"\nb=2\n', 'a=${NOPE:-a:-b}\n', 'a=${NOPE:-x}y}\n',
         'a=${x;y}\n', 'a=${NOPE:-x;y}\n', "a=${NOPE:-'q'}\n", 'a=${NOPE:-${MEM}x}\n', 'a=${NOPE:-(1)}\n', 'a=${NOPE:-on}\n',
         'a=${ NOPE :- fb }\n', 'a=${NOPE::-fb}\n', 'k[${NOPE:-q}]=1\n', '[${NOPE:-s}]\na=1\n']


def php84(text):
    out = subprocess.run(['chroot', ROOT, 'env', '-i', 'MEM=256', 'php8.4', '-n', '-r', SCRIPT, binascii.hexlify(text.encode()).decode()],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=True).stdout.decode()
    return json.loads(out)


@pytest.fixture(scope='module')
def version84():
    return subprocess.check_output(['chroot', ROOT, 'php8.4', '-n', '-r', 'echo PHP_VERSION;'], timeout=60).decode()


@pytest.mark.parametrize('text', TEXTS, ids=[repr(t) for t in TEXTS])
def test_scanner_83_against_php84(version84, text):
    php = php84(text)
    parsed = parse_ini_text(text, {'MEM': '256'}.get, php_constants(version84), var_fallback=True)
    if 'error' in php:
        assert parsed.errors, '%r: PHP 8.4 says %s' % (text, php['error'])
        assert php['error'].startswith(parsed.errors[0].message + ' in ')
        return
    assert not parsed.errors, '%r: PHP 8.4 parses it: %r' % (text, php['values'])
    values = {}
    for entry in parsed.entries:
        if entry.kind == ENTRY_ARRAY:
            values.setdefault(entry.key, {})[entry.offset or str(len(values.get(entry.key, {})))] = entry.value
        else:
            values[entry.key] = entry.value
    assert values == php['values'], text
