# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Copyright: (c) 2026, phpops.opcache contributors
"""The real PHP CLI as the oracle of the ini engine.

``PhpOracle.chain()`` starts ``php -c <php.ini>`` with ``PHP_INI_SCAN_DIR`` set and an environment
that holds nothing but what the test chose (``env -i`` semantics), and reports what PHP itself
loaded: ``php_ini_loaded_file()``, ``php_ini_scanned_files()`` and ``get_cfg_var()`` for every key
of interest (the values of ``configuration_hash``, i.e. exactly what the ini chain produced).

``PhpOracle.file_keys()`` answers "which of these keys does this one file assign at top level?"
with PHP's start-up parser itself: the file is loaded as the only ini file
(``PHP_INI_SCAN_DIR=`` and ``-c <file>``), so syntax errors, ``[PATH=]``/``[HOST=]`` sections and
arrays behave exactly as in the real chain.

Values cross the process boundary hex-encoded, so bytes that are not UTF-8 survive. A missing php
binary is an error, never a skip: the oracle suite exists to run against real PHP.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import shutil
import subprocess

MARKER = '@@PHPOPS-ORACLE@@'

# Start-up warnings (an extension that cannot be loaded, a syntax error) go to stdout in the CLI,
# so the JSON is framed by a marker and everything else is ignored.
PROBE = r'''<?php
function phpops_hex($v) {
    if (is_array($v)) {
        $out = array();
        foreach ($v as $k => $item) {
            $out[] = array(bin2hex((string) $k), phpops_hex($item));
        }
        return array('array' => $out);
    }
    if ($v === false) {
        return null;
    }
    return bin2hex((string) $v);
}
$keys = json_decode(file_get_contents($argv[1]), true);
$scanned = php_ini_scanned_files();
$result = array(
    'loaded' => php_ini_loaded_file() === false ? null : bin2hex(php_ini_loaded_file()),
    'scanned' => $scanned === false ? null : bin2hex($scanned),
    'cfg' => array(),
);
foreach ($keys as $k) {
    $result['cfg'][$k] = phpops_hex(get_cfg_var($k));
}
echo "\n", '@@PHPOPS-ORACLE@@', json_encode($result), '@@PHPOPS-ORACLE@@', "\n";
'''


class OracleError(Exception):
    pass


def find_php():
    """The php binary to use: $PHPOPS_PHP, else php on PATH, else /usr/bin/php. Raises when none."""
    candidate = os.environ.get('PHPOPS_PHP') or shutil.which('php') or '/usr/bin/php'
    if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        raise OracleError('no php binary (set PHPOPS_PHP or install php-cli): the ini oracle needs real PHP')
    return candidate


def _unhex(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return [(_unhex(k), _unhex(v)) for k, v in value['array']]
    return binascii.unhexlify(value).decode('utf-8', 'surrogateescape')


def drop_privileges(uid, gid):
    """A preexec_fn (or a forked child's first step) that becomes ``uid``:``gid`` with no extra groups."""
    def drop():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return drop


class PhpOracle(object):
    """``run_as``: (uid, gid) to run php as (``workdir`` must then be readable by that user)."""

    def __init__(self, workdir, php=None, run_as=None):
        self.php = php or find_php()
        self.run_as = run_as
        self.workdir = workdir
        self.probe = os.path.join(workdir, 'phpops-oracle-probe.php')
        with open(self.probe, 'w', encoding='utf-8') as handle:
            handle.write(PROBE)
        self.runs = 0
        self._file_memo = {}

    def version(self):
        return subprocess.check_output([self.php, '-n', '-r', 'echo PHP_VERSION;']).decode()

    def _run(self, args, env, keys):
        keyfile = os.path.join(self.workdir, 'phpops-oracle-keys.json')
        with open(keyfile, 'w', encoding='utf-8') as handle:
            json.dump(sorted(keys), handle)
        full_env = {'PATH': '/usr/bin:/bin'}
        full_env.update(env)
        proc = subprocess.run([self.php] + args + [self.probe, keyfile], env=full_env, cwd=self.workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False,
                              preexec_fn=drop_privileges(*self.run_as) if self.run_as else None)
        self.runs += 1
        out = proc.stdout.decode('utf-8', 'surrogateescape')
        parts = out.split(MARKER)
        if len(parts) < 3:
            raise OracleError('php %s gave no result (rc=%d)\nstdout: %s\nstderr: %s'
                              % (' '.join(args), proc.returncode, out[-2000:], proc.stderr.decode('utf-8', 'replace')[-2000:]))
        raw = json.loads(parts[-2])
        scanned = _unhex(raw['scanned'])
        if scanned and scanned.endswith('\n'):
            scanned = scanned[:-1]          # "a,\nb,\nc\n": ",\n" between, "\n" after the last
        cfg = raw['cfg'] or {}
        return {
            'loaded_file': _unhex(raw['loaded']),
            'scanned_files': [s for s in scanned.split(',\n') if s] if scanned else [],
            'cfg': dict((k, _unhex(v)) for k, v in cfg.items()),
            'output': out,
        }

    def chain(self, php_ini, scan_dir, keys, env=None):
        """Run the real chain. ``scan_dir`` is the raw PHP_INI_SCAN_DIR value (a list is joined with
        ':'), None leaves it unset (compiled-in default). ``env`` holds the only other variables."""
        full_env = dict(env or {})
        if scan_dir is not None:
            full_env['PHP_INI_SCAN_DIR'] = scan_dir if isinstance(scan_dir, str) else ':'.join(scan_dir)
        args = ['-c', php_ini] if php_ini else []
        return self._run(args, full_env, keys)

    def file_keys(self, path, keys):
        """Keys of ``keys`` that ``path`` on its own puts into PHP's configuration hash.

        What PHP answers depends on nothing but the file's bytes (the environment is fixed, the file is
        the only ini file), so the answer is remembered per content (SHA-256) and per key asked: a
        generated tree repeats the same small files again and again (the differential suite asks
        about 4000 times for some 700 different files). Runs as another user are not remembered,
        since there whether php can read the file matters too."""
        keys = set(keys)
        if self.run_as:
            return self._assigned(path, keys)
        with open(path, 'rb') as handle:
            digest = hashlib.sha256(handle.read()).digest()
        asked, assigned = self._file_memo.get(digest, (frozenset(), frozenset()))
        if not keys <= asked:
            asked = asked | keys
            assigned = frozenset(self._assigned(path, asked))
            self._file_memo[digest] = (asked, assigned)
        return set(assigned & keys)

    def _assigned(self, path, keys):
        result = self._run(['-c', path], {'PHP_INI_SCAN_DIR': ''}, keys)
        return set(k for k, v in result['cfg'].items() if v is not None)

    def parse_string(self, text, env=None):
        """PHP's parse_ini_string($text, true, INI_SCANNER_NORMAL) under ``php -n`` (hex-safe)."""
        script = ('$r = parse_ini_string(hex2bin($argv[1]), true, INI_SCANNER_NORMAL);'
                  'function h($v){ if (is_array($v)) { $o = array(); foreach ($v as $k => $i) { $o[] = array((string)$k, h($i)); } return $o; }'
                  ' return bin2hex((string)$v); }'
                  'echo "' + MARKER + '", json_encode($r === false ? false : h($r)), "' + MARKER + '";')
        full_env = {'PATH': '/usr/bin:/bin'}
        full_env.update(env or {})
        proc = subprocess.run([self.php, '-n', '-r', script, binascii.hexlify(text.encode('utf-8', 'surrogateescape')).decode()],
                              env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)
        out = proc.stdout.decode('utf-8', 'surrogateescape')
        raw = json.loads(out.split(MARKER)[-2])

        def decode(node):
            if isinstance(node, list):
                return [(k, decode(v)) for k, v in node]
            return binascii.unhexlify(node).decode('utf-8', 'surrogateescape')
        return False if raw is False else decode(raw)
