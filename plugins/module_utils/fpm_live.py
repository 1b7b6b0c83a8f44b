# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live view: what the RUNNING PHP-FPM masters and their pools really use.

Public API
----------
``find_fpm_masters(proc='/proc')``
    Every running php-fpm master on the host, as dicts ``{pid, config, binary, binary_deleted,
    start_time, title, uid, scan_dir_env, worker_pools}`` (``start_time``: epoch seconds of the
    process, from ``/proc/<pid>/stat`` field 22 + ``btime`` of ``/proc/stat``).

``live_report(fs, report=None, options=None)``
    Probe every running master through its pools and compare with the disk. ``report`` is what
    ``opcache_report.build_report()`` returns (used to name the installation of a master and to
    report FPM SAPIs whose master is not running); ``options`` (all optional):
    ``probe_dir`` (default ``/run/phpops-opcache``), ``paths`` (app roots for the stale-code scan),
    ``max_examples`` (10), ``timeout`` (5 s), ``proc`` (``/proc``), ``masters`` (a list from
    ``find_fpm_masters`` to restrict the run to, for tests).
    Returns ``{'masters': [...], 'not_running': [...], 'findings': [Finding.as_dict()...], 'skipped': None|str}``;
    every master is a dict (see ``_master_report``) with ``pid, config, binary, start_time,
    config_loaded_time, installation, version, php_ini_loaded_file, php_ini_scanned_files, status,
    status_error, probe_pool, pools[], drift[], stale_scripts``; every pool ``{name, listen, user,
    group, chroot, ok, error, worker_pid, worker_uid, settings: {directive: {value, origin, access,
    global_value, cfg_value}}, drift[]}``. ``origin`` is ``php_admin_value`` (admin-locked in the pool),
    ``php_value`` (pool php_value/php_flag), ``runtime`` (local differs from global: .user.ini,
    [PATH=]/[HOST=] section or ini_set), ``ini`` (file chain, ``get_cfg_var`` has it) or ``default``.

The probe
---------
A small PHP script (``PROBE_SOURCE``) written for the duration of one run into a directory we
create (``/run/phpops-opcache``, mode 0711, root-owned; never /tmp which systemd's PrivateTmp hides,
never a document root), named ``phpops-probe-<128 random bits><ext>`` with mode 0640 root:<pool
group>, requested over FastCGI (``SCRIPT_FILENAME``) through a pool's ``listen`` address and removed
on every way out; leftovers of interrupted runs (our name pattern only) are removed at the start of
every run. With a pool ``chroot`` the file goes inside the chroot and the prefix is stripped from
``SCRIPT_FILENAME``. ``security.limit_extensions``, ``open_basedir`` and ``opcache.restrict_api`` are
checked before the request and explained when they block it. The probe reads ini values only through
``ini_get_all()`` and ``get_cfg_var($variable)``: a literal ``ini_get('opcache.x')`` may be constant-folded
by the optimizer and the folded opcodes are shared by all pools of a master. With the default
``opcache.file_update_protection=2`` the freshly written probe is never cached.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import re
import secrets
import stat
import time

try:
    import grp
    import pwd
except ImportError:  # pragma: no cover - non-POSIX platforms
    grp = None
    pwd = None

from ansible_collections.phpops.opcache.plugins.module_utils.fastcgi import (
    FastCGIClient,
    FastCGIError,
    build_php_params,
    parse_listen,
)
from ansible_collections.phpops.opcache.plugins.module_utils.findings import Finding, evidence, php_bool
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import describe_collateral, restart_collateral
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, split_scan_dir
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import STARTUP_ONLY, directives_for

DEFAULT_PROBE_DIR = '/run/phpops-opcache'
PROBE_PREFIX = 'phpops-probe-'
PROBE_NAME_RE = re.compile(r'^phpops-probe-(\d+)-[0-9a-f]{32}\.[A-Za-z0-9_-]{1,16}$')
LEFTOVER_MAX_AGE = 3600
DEFAULT_LIMIT_EXTENSIONS = '.php .phar'
MASTER_TITLE_RE = re.compile(r'^php-fpm[0-9.]*: master process \((.*)\)\s*$')
POOL_TITLE_RE = re.compile(r'^php-fpm[0-9.]*: pool (\S+)\s*$')
MAX_SCRIPTS = 20000
START_TIME_SLACK = 1.5
INI_ACCESS_SYSTEM = 4

PROBE_SOURCE = r'''<?php
// phpops.opcache live probe: reads (resets or invalidates only when asked), removed right after the request.
$req = json_decode((string) file_get_contents('php://input'), true);
if (!is_array($req)) {
    $req = array();
}
$r = array(
    'probe' => 'phpops.opcache/1',
    'php_version' => PHP_VERSION,
    'sapi' => PHP_SAPI,
    'pid' => getmypid(),
    'script_owner_uid' => getmyuid(),
    'euid' => function_exists('posix_geteuid') ? posix_geteuid() : null,
    'script' => isset($_SERVER['SCRIPT_FILENAME']) ? $_SERVER['SCRIPT_FILENAME'] : null,
    'loaded_file' => php_ini_loaded_file(),
    'scanned_files' => array(),
    'opcache_loaded' => extension_loaded('Zend OPcache'),
    'ini' => array(),
    'other_ini' => array(),
    'status' => null,
    'status_error' => null,
    'configuration' => null,
    'scripts' => null,
);
$scanned = php_ini_scanned_files();
if ($scanned !== false) {
    foreach (explode(',', $scanned) as $f) {
        $f = trim($f);
        if ($f !== '') {
            $r['scanned_files'][] = $f;
        }
    }
}
$all = function_exists('ini_get_all') ? @ini_get_all('zend opcache', true) : false;
if (is_array($all)) {
    foreach ($all as $name => $d) {
        $cfg = get_cfg_var($name);
        $r['ini'][$name] = array(
            'local' => $d['local_value'], 'global' => $d['global_value'], 'access' => $d['access'],
            'cfg' => ($cfg === false || is_array($cfg)) ? null : $cfg,
        );
    }
}
foreach (array('open_basedir', 'doc_root', 'user_ini.filename') as $name) {
    $v = ini_get($name);
    $cfg = get_cfg_var($name);
    $r['other_ini'][$name] = array('local' => $v === false ? null : $v, 'cfg' => ($cfg === false || is_array($cfg)) ? null : $cfg);
}
// Only when asked (opcache_reset module): the verified reset in ONE request. Cache the canary, report
// the counters before, then wait (bounded) until the caller has replaced the canary on disk; read it
// again (still the old token where the cache holds it), and only then let the reset below run. No
// reset at all when the caller did not replace the canary in time.
if (!empty($req['hold']) && is_array($req['hold']) && isset($req['hold']['canary'])) {
    $f = (string) $req['hold']['canary'];
    $h = array('cached' => null, 'stale' => null, 'replaced' => false);
    ob_start();
    include $f;
    $h['cached'] = ob_get_clean();
    clearstatcache(true, $f);
    $was = @stat($f);
    $pre = function_exists('opcache_get_status') ? @opcache_get_status(false) : false;
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
    echo "\n@@PHPOPS-HOLD@@", json_encode(array('cached' => $h['cached'], 'status' => $pre === false ? null : $pre, 'ini' => $r['ini'])), "\n";
    flush();
    $wait = isset($req['hold']['wait']) ? min(max((float) $req['hold']['wait'], 0.1), 60.0) : 5.0;
    if (isset($req['hold']['expect']) && $h['cached'] !== (string) $req['hold']['expect']) {
        $wait = 0.0;  // not the canary the caller wrote: it will not replace it, do not keep the worker waiting
    }
    $until = microtime(true) + $wait;
    $beat = 0;
    while (microtime(true) < $until) {
        clearstatcache(true, $f);
        $now = @stat($f);
        if ($now && $was && ($now['ino'] != $was['ino'] || $now['mtime'] != $was['mtime'] || $now['size'] != $was['size'])) {
            $h['replaced'] = true;
            break;
        }
        if (++$beat % 500 == 0) {
            // a caller that gave up has closed the connection: only a write tells, so send a newline
            echo "\n";
            flush();
            if (connection_aborted()) {
                break;
            }
        }
        usleep(100);
    }
    if ($h['replaced']) {
        ob_start();
        include $f;
        $h['stale'] = ob_get_clean();
    } else {
        $req['reset'] = false;
    }
    $r['hold'] = $h;
}
// Only when asked (opcache_reset module): invalidate files, then schedule a reset.
if (!empty($req['invalidate']) && is_array($req['invalidate']) && function_exists('opcache_invalidate')) {
    $r['invalidated'] = array();
    foreach ($req['invalidate'] as $f) {
        $r['invalidated'][] = array($f, @opcache_invalidate((string) $f, true));
    }
}
if (!empty($req['reset'])) {
    error_clear_last();
    $r['reset_result'] = function_exists('opcache_reset') ? @opcache_reset() : null;
    $e = error_get_last();
    $r['reset_error'] = $e ? $e['message'] : null;
}
if (!function_exists('opcache_get_status')) {
    $r['status_error'] = 'missing';
} else {
    $want = !empty($req['scripts']);
    $s = @opcache_get_status($want);
    if ($s === false) {
        $r['status_error'] = 'false';
    } else {
        if ($want) {
            if (!isset($s['scripts']) || !is_array($s['scripts'])) {
                $r['scripts'] = array('matched' => 0, 'list' => array(), 'absent' => true);
            } else {
                $paths = (isset($req['paths']) && is_array($req['paths'])) ? $req['paths'] : array();
                $limit = isset($req['limit']) ? (int) $req['limit'] : 20000;
                $list = array();
                $n = 0;
                foreach ($s['scripts'] as $path => $info) {
                    $ok = !$paths;
                    foreach ($paths as $p) {
                        if (strncmp($path, $p, strlen($p)) === 0) {
                            $ok = true;
                            break;
                        }
                    }
                    if (!$ok) {
                        continue;
                    }
                    $n++;
                    if (count($list) < $limit) {
                        $list[] = array($path, isset($info['timestamp']) ? $info['timestamp'] : null,
                            isset($info['last_used_timestamp']) ? $info['last_used_timestamp'] : null,
                            isset($info['hits']) ? $info['hits'] : null);
                    }
                }
                $r['scripts'] = array('matched' => $n, 'list' => $list, 'absent' => false);
            }
            unset($s['scripts']);
        }
        $r['status'] = $s;
        $c = @opcache_get_configuration();
        $r['configuration'] = ($c === false) ? null : $c;
    }
}
if (!headers_sent()) {
    header('Content-Type: application/json');
    header('Cache-Control: no-store');
}
$flags = defined('JSON_PARTIAL_OUTPUT_ON_ERROR') ? JSON_PARTIAL_OUTPUT_ON_ERROR : 0;
if (defined('JSON_INVALID_UTF8_SUBSTITUTE')) {
    $flags |= JSON_INVALID_UTF8_SUBSTITUTE;
}
echo "\n@@PHPOPS-PROBE@@", json_encode($r, $flags);
'''

PROBE_MARKER = '@@PHPOPS-PROBE@@'
RESTART_PENDING_RECHECK = 1.0  # seconds before a pending restart is looked at again
HOLD_MARKER = b'@@PHPOPS-HOLD@@'


class LiveError(Exception):
    """A one-line, operator-facing explanation of why a pool could not be probed."""


# ---------------------------------------------------------------------------
# /proc parsing
# ---------------------------------------------------------------------------

def parse_cmdline(raw):
    """/proc/<pid>/cmdline bytes -> one title string (FPM rewrites argv into a NUL-padded title)."""
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', 'surrogateescape')
    return ' '.join(p for p in raw.split('\x00') if p).strip()


def parse_master_title(title):
    """``php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)`` -> the config path, else None."""
    match = MASTER_TITLE_RE.match(title or '')
    return match.group(1) if match else None


def parse_pool_title(title):
    match = POOL_TITLE_RE.match(title or '')
    return match.group(1) if match else None


def parse_btime(text):
    """``btime`` (boot time, epoch seconds) of /proc/stat."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == 'btime':
            return int(parts[1])
    raise ValueError('no btime line in /proc/stat')


def parse_pid_stat(text):
    """/proc/<pid>/stat -> (ppid, starttime in clock ticks). The command may contain spaces and
    parentheses, so fields are counted after the LAST ')'."""
    rest = text[text.rindex(')') + 2:].split()
    # rest[0] is field 3 (state); ppid is field 4, starttime field 22.
    return int(rest[1]), int(rest[19])


def _read(path, binary=False):
    with open(path, 'rb' if binary else 'r') as handle:
        return handle.read()


def _proc_uid(proc, pid):
    try:
        for line in _read(os.path.join(proc, str(pid), 'status')).splitlines():
            if line.startswith('Uid:'):
                return int(line.split()[2])  # effective uid
    except (OSError, IOError, ValueError, IndexError):
        pass
    return None


def _proc_environ(proc, pid, name):
    """A variable of a process environment. php-fpm writes its title over argv AND environ, so for
    a master this is usually None: the scan directories then come from the report or the files."""
    try:
        raw = _read(os.path.join(proc, str(pid), 'environ'), True)
    except (OSError, IOError):
        return None
    prefix = name.encode() + b'='
    for item in raw.split(b'\x00'):
        if item.startswith(prefix):
            return item[len(prefix):].decode('utf-8', 'surrogateescape')
    return None


def _in_our_view(proc, pid):
    """Whether a process sees the same filesystem as we do: root '/' and our mount namespace.
    (Where /proc does not tell, as in a copied /proc or without the right to look, it counts as ours.)"""
    base = os.path.join(proc, str(pid))
    try:
        if os.readlink(os.path.join(base, 'root')) != '/':
            return False
        return os.readlink(os.path.join(base, 'ns', 'mnt')) == os.readlink(os.path.join(proc, 'self', 'ns', 'mnt'))
    except OSError:
        return True


def find_fpm_masters(proc='/proc', clock_ticks=None):
    """Every running php-fpm master process, sorted by pid (see the module docstring)."""
    if clock_ticks is None:
        clock_ticks = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100
    try:
        btime = parse_btime(_read(os.path.join(proc, 'stat')))
    except (OSError, IOError, ValueError):
        btime = None
    masters = {}
    workers = []
    try:
        entries = os.listdir(proc)
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        base = os.path.join(proc, entry)
        try:
            title = parse_cmdline(_read(os.path.join(base, 'cmdline'), True))
            ppid, ticks = parse_pid_stat(_read(os.path.join(base, 'stat')))
        except (OSError, IOError, ValueError, IndexError):
            continue
        config = parse_master_title(title)
        if config is not None and not _in_our_view(proc, entry):
            # a master in a container or chroot on this machine is another host's business
            continue
        if config is None:
            pool = parse_pool_title(title)
            if pool is not None:
                workers.append((ppid, pool, int(entry)))
            continue
        try:
            binary = os.readlink(os.path.join(base, 'exe'))
        except OSError:
            binary = None
        deleted = bool(binary and binary.endswith(' (deleted)'))
        if deleted:
            binary = binary[:-len(' (deleted)')]
        masters[int(entry)] = {
            'pid': int(entry),
            'ppid': ppid,
            'title': title,
            'config': config,
            'binary': binary,
            'binary_deleted': deleted,
            'start_time': round(btime + float(ticks) / clock_ticks, 2) if btime is not None else None,
            'uid': _proc_uid(proc, entry),
            'scan_dir_env': _proc_environ(proc, entry, 'PHP_INI_SCAN_DIR'),
            'worker_pools': {},
        }
    for ppid, pool, pid in workers:
        if ppid in masters:
            masters[ppid]['worker_pools'].setdefault(pool, []).append(pid)
    for master in masters.values():
        for pids in master['worker_pools'].values():
            pids.sort()
    return [masters[pid] for pid in sorted(masters)]


# ---------------------------------------------------------------------------
# Pure decisions: origin, drift, placement
# ---------------------------------------------------------------------------

def classify_origin(local, global_value, access, cfg, native_changeable=None):
    """Where a pool's live value comes from, from ``ini_get_all`` details and ``get_cfg_var``.

    FPM applies pool overrides in each worker by replacing the entry's value (so local == global)
    and, for php_admin_*, by lowering ``access`` to PHP_INI_SYSTEM (4)."""
    if local != global_value:
        return 'runtime'
    if access == INI_ACCESS_SYSTEM and native_changeable == 'PHP_INI_ALL':
        return 'php_admin_value'
    if cfg is not None:
        if local != cfg:
            return 'php_admin_value' if access == INI_ACCESS_SYSTEM else 'php_value'
        return 'ini'
    return 'default'


def values_equal(key, left, right, value_type=None):
    """Compare two raw ini strings as PHP would use them (booleans by truthiness)."""
    if left == right:
        return True
    if left is None or right is None:
        return False
    if value_type == 'bool':
        return php_bool(left) == php_bool(right)
    return str(left).strip() == str(right).strip()


def chain_drift(running_cfg, disk_values, table):
    """Directives whose file-chain value on disk differs from what the running master read
    (``get_cfg_var``). ``running_cfg`` and ``disk_values``: {key: raw string or None}."""
    drift = []
    for key in sorted(set(running_cfg) | set(k for k in disk_values if k.startswith('opcache.'))):
        running = running_cfg.get(key)
        disk = disk_values.get(key)
        directive = table.get(key)
        if not values_equal(key, running, disk, directive.type if directive else None):
            drift.append({'directive': key, 'running': running, 'disk': disk})
    return drift


def pool_drift(live_settings, disk_overrides, table):
    """Pool overrides that differ between the running worker and the pool file on disk.
    ``live_settings``: {key: {value, origin}}; ``disk_overrides``: {key: (kind, value, file, line)}."""
    drift = []
    for key in sorted(set(live_settings) | set(disk_overrides)):
        if not key.startswith('opcache.') or key in STARTUP_ONLY:
            continue
        live = live_settings.get(key) or {}
        live_is_pool = live.get('origin') in ('php_admin_value', 'php_value')
        disk = disk_overrides.get(key)
        directive = table.get(key)
        vtype = directive.type if directive else None
        if disk is None and live_is_pool:
            drift.append({'directive': key, 'running': live.get('value'), 'disk': None, 'reason': 'override removed from the pool file'})
        elif disk is not None and not values_equal(key, live.get('value'), disk[1], vtype):
            drift.append({'directive': key, 'running': live.get('value'), 'disk': disk[1], 'reason': '%s changed' % disk[0],
                          'evidence': evidence(disk[2], disk[3])})
    return drift


def choose_extension(limit_extensions):
    """The probe's extension under ``security.limit_extensions``; LiveError if none is usable."""
    if limit_extensions is None or not str(limit_extensions).strip():
        limit_extensions = DEFAULT_LIMIT_EXTENSIONS
    allowed = str(limit_extensions).split()
    if '.php' in allowed:
        return '.php'
    for ext in allowed:
        if re.match(r'^\.[A-Za-z0-9_-]{1,16}$', ext):
            return ext
    raise LiveError('security.limit_extensions=%r allows no extension the probe can use; add .php to it' % (limit_extensions,))


def basedir_allows(open_basedir, path):
    """PHP's open_basedir check (string prefix of each ':'-separated entry; '.' is not resolved)."""
    if not open_basedir:
        return True
    for entry in str(open_basedir).split(':'):
        entry = entry.strip()
        if not entry or entry == '.':
            continue
        if path == entry.rstrip('/') or path.startswith(entry):
            return True
    return False


def plan_probe(base_dir, pool, open_basedir=None, restrict_api=None):
    """Where the probe for ``pool`` goes. ``pool``: dict with name, chroot, limit_extensions, group, user.

    Returns ``{host_dir, script_dir, ext, name, host_path, script_filename, warnings}``; raises LiveError
    when the pool cannot run it. Paths on the host keep the chroot prefix; ``script_*`` paths are what
    the worker sees after chroot()."""
    base_dir = posixpath.normpath('/' + str(base_dir or DEFAULT_PROBE_DIR).lstrip('/'))
    if base_dir == '/':
        raise LiveError('probe_dir / is not usable: give a directory of its own')
    ext = choose_extension(pool.get('limit_extensions'))
    chroot = pool.get('chroot')
    chroot = posixpath.normpath(chroot) if chroot else None
    if chroot == '/':
        chroot = None
    host_dir = posixpath.join(chroot, base_dir.lstrip('/')) if chroot else base_dir
    name = '%s%d-%s%s' % (PROBE_PREFIX, os.getpid(), secrets.token_hex(16), ext)
    script_filename = posixpath.join(base_dir, name)
    warnings = []
    if base_dir in ('/tmp', '/var/tmp') or base_dir.startswith(('/tmp/', '/var/tmp/')):
        warnings.append('probe_dir %s is under a temporary directory: a php-fpm with systemd PrivateTmp=yes does not see it' % base_dir)
    if not basedir_allows(open_basedir, script_filename):
        raise LiveError('open_basedir=%r does not allow the probe directory %s: add it to open_basedir (php_admin_value[open_basedir] = %s:%s/) '
                        'or set probe_dir to a directory open_basedir allows' % (open_basedir, base_dir, open_basedir, base_dir))
    if restrict_api and not script_filename.startswith(restrict_api):
        warnings.append('opcache.restrict_api=%r blocks opcache_get_status() for the probe in %s: set probe_dir under %s (not a document root) '
                        'to see the cache status; ini values are still read' % (restrict_api, base_dir, restrict_api))
    return {'host_dir': host_dir, 'script_dir': base_dir, 'ext': ext, 'name': name, 'chroot': chroot,
            'host_path': posixpath.join(host_dir, name), 'script_filename': script_filename, 'warnings': warnings}


def probe_group_id(pool):
    """gid the probe file is given: the pool's group, else the pool user's primary group."""
    group = pool.get('group')
    user = pool.get('user')
    if group:
        if str(group).isdigit():
            return int(group)
        try:
            return grp.getgrnam(group).gr_gid
        except (KeyError, AttributeError):
            raise LiveError('pool group %r does not exist' % (group,))
    if user:
        try:
            entry = pwd.getpwuid(int(user)) if str(user).isdigit() else pwd.getpwnam(user)
            return entry.pw_gid
        except (KeyError, AttributeError):
            raise LiveError('pool user %r does not exist' % (user,))
    return os.getegid()


# ---------------------------------------------------------------------------
# Probe files on disk
# ---------------------------------------------------------------------------

def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True


# Probe-named files this process is using right now (the invalidation's canary lives across many
# probe requests): the leftover cleanup must not take them for an earlier process's.
IN_USE = set()


def cleanup_leftovers(host_dir, now=None):
    """Remove probe files of interrupted runs: our name pattern only, written by a process that is
    gone (the writer's pid is in the name) or older than an hour. A concurrent run's probe stays."""
    removed = []
    now = time.time() if now is None else now
    try:
        names = os.listdir(host_dir)
    except OSError:
        return removed
    for name in sorted(names):
        match = PROBE_NAME_RE.match(name)
        if match:
            pid = int(match.group(1))
            path = os.path.join(host_dir, name)
            if path in IN_USE:
                continue
            try:
                old = now - os.lstat(path).st_mtime > LEFTOVER_MAX_AGE
            except OSError:
                continue
            if pid != os.getpid() and _pid_alive(pid) and not old:
                continue
            try:
                os.unlink(os.path.join(host_dir, name))
                removed.append(name)
            except OSError:
                pass
    return removed


def ensure_probe_dir(host_dir, gid=None):
    """Create our directory (0711, or 0750 root:<gid> when given) and refuse one we do not own."""
    mode = 0o750 if gid is not None else 0o711
    try:
        os.makedirs(posixpath.dirname(host_dir), 0o755)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise LiveError('cannot create %s: %s' % (posixpath.dirname(host_dir), error.strerror))
    try:
        os.mkdir(host_dir, mode)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise LiveError('cannot create the probe directory %s: %s' % (host_dir, error.strerror))
    info = os.lstat(host_dir)
    if not stat.S_ISDIR(info.st_mode):
        raise LiveError('probe directory %s is not a directory (a symlink?): refusing to use it' % host_dir)
    if info.st_uid != os.geteuid():
        raise LiveError('probe directory %s is owned by uid %d, not by us: refusing to use it' % (host_dir, info.st_uid))
    if info.st_mode & 0o022:
        os.chmod(host_dir, stat.S_IMODE(info.st_mode) & ~0o022)


def write_probe(site, gid, source=PROBE_SOURCE, mtime=None):
    """Write the probe file exclusively; 0640 root:<gid> when root, else 0644. ``mtime`` backdates it
    (OPcache caches a file only once it is older than opcache.file_update_protection)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0)
    fd = os.open(site['host_path'], flags, 0o600)
    try:
        os.write(fd, source.encode('utf-8'))
        if os.geteuid() == 0 and gid is not None:
            os.fchown(fd, 0, gid)
            os.fchmod(fd, 0o640)
        else:
            os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    if mtime is not None:
        os.utime(site['host_path'], (mtime, mtime))


def remove_probe(site):
    try:
        os.unlink(site['host_path'])
    except OSError:
        pass


# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------

def _explain_status(response, site, pool):
    body = response.body.decode('utf-8', 'replace').strip()
    if response.status == 403:
        return 'FPM refused the probe (403 %s): check security.limit_extensions=%r' % (body[:60], pool.get('limit_extensions'))
    if response.status == 404:
        hints = []
        if pool.get('chroot'):
            hints.append('chroot=%s (the probe was written to %s)' % (pool.get('chroot'), site['host_path']))
        hints.append('open_basedir (add %s)' % site['script_dir'])
        hints.append('read permission of the pool user on %s' % site['host_dir'])
        return 'FPM could not open the probe %s (404 %s): check %s' % (site['script_filename'], body[:60], '; '.join(hints))
    return 'the probe answered HTTP %d: %s' % (response.status, body[:120].replace('\n', ' '))


def request_probe(pool, site, payload, timeout=5.0, on_stdout=None):
    """Send the probe request to ``pool['listen']``; return the decoded JSON dict or raise LiveError.
    ``on_stdout``: see FastCGIClient.request (a held request streams part of its answer first)."""
    try:
        address = parse_listen(pool.get('listen'))
    except FastCGIError as error:
        raise LiveError(str(error))
    body = json.dumps(payload).encode('utf-8')
    params = build_php_params(site['script_filename'], method='POST', body=body, content_type='application/json')
    try:
        response = FastCGIClient(address, connect_timeout=min(3.0, timeout), read_timeout=timeout).request(params, body, on_stdout)
    except FastCGIError as error:
        raise LiveError(str(error))
    text = response.body.decode('utf-8', 'replace')
    if response.status != 200 or PROBE_MARKER not in text:
        if response.status == 200:
            raise LiveError('the probe produced no result (output: %s)' % (text.strip()[:120].replace('\n', ' ') or 'empty'))
        raise LiveError(_explain_status(response, site, pool))
    try:
        data = json.loads(text[text.rindex(PROBE_MARKER) + len(PROBE_MARKER):])
    except ValueError as error:
        raise LiveError('the probe returned invalid JSON: %s' % error)
    if not isinstance(data, dict) or data.get('probe') != 'phpops.opcache/1':
        raise LiveError('the probe returned an unexpected answer')
    return data


def probe_pool(pool, base_dir, payload, timeout=5.0, open_basedir=None, restrict_api=None, on_stdout=None):
    """Place, request and remove the probe for one pool. Returns (data, site); raises LiveError."""
    site = plan_probe(base_dir, pool, open_basedir, restrict_api)
    gid = probe_group_id(pool) if os.geteuid() == 0 else None
    ensure_probe_dir(site['host_dir'])
    cleanup_leftovers(site['host_dir'])
    try:
        write_probe(site, gid)
        data = request_probe(pool, site, payload, timeout, on_stdout)
    finally:
        remove_probe(site)
    return data, site


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------

def status_summary(status):
    if not isinstance(status, dict):
        return None
    stats = status.get('opcache_statistics') or {}
    memory = status.get('memory_usage') or {}
    return {
        'opcache_enabled': status.get('opcache_enabled'),
        'cache_full': status.get('cache_full'),
        'restart_pending': status.get('restart_pending'),
        'restart_in_progress': status.get('restart_in_progress'),
        'file_cache': status.get('file_cache'),
        'file_cache_only': status.get('file_cache_only', False),
        'memory_usage': memory,
        'interned_strings_usage': status.get('interned_strings_usage'),
        'statistics': dict((k, stats.get(k)) for k in (
            'num_cached_scripts', 'num_cached_keys', 'max_cached_keys', 'hits', 'misses', 'opcache_hit_rate', 'start_time',
            'last_restart_time', 'oom_restarts', 'hash_restarts', 'manual_restarts', 'blacklist_misses')),
        'jit': status.get('jit'),
        'preload_statistics': status.get('preload_statistics'),
    }


def _pool_settings(data, table):
    settings = {}
    for key, details in sorted((data.get('ini') or {}).items()):
        directive = table.get(key)
        access = details.get('access')
        settings[key] = {
            'value': details.get('local'),
            'origin': classify_origin(details.get('local'), details.get('global'), access, details.get('cfg'),
                                      directive.changeable if directive else None),
            'access': access,
            'global_value': details.get('global'),
            'cfg_value': details.get('cfg'),
        }
    return settings


def _pool_spec(pool, chain_values):
    overrides = {}
    for key in set(o.key for o in pool.overrides):
        winner, _beaten = pool.effective_override(key)
        overrides[key] = (winner.kind, winner.value, winner.file, winner.line)
    open_basedir = overrides['open_basedir'][1] if 'open_basedir' in overrides else chain_values.get('open_basedir')
    restrict_api = overrides['opcache.restrict_api'][1] if 'opcache.restrict_api' in overrides else chain_values.get('opcache.restrict_api')
    return {
        'name': pool.name,
        'file': pool.file,
        'listen': pool.get('listen'),
        'user': pool.get('user'),
        'group': pool.get('group'),
        'chroot': pool.get('chroot'),
        'limit_extensions': pool.get('security.limit_extensions'),
        'overrides': overrides,
        'open_basedir': open_basedir,
        'restrict_api': restrict_api,
    }


def pool_specs(fs, fpm, fpm_sapi=None, version=None):
    """(Pool, spec) for every pool of an FPM configuration; the spec holds what placing and
    requesting a probe needs (listen, user, group, chroot, limit_extensions, open_basedir, restrict_api)."""
    chain_guess = {}
    if fpm_sapi:
        # open_basedir / restrict_api of the file chain, to explain a blocked probe before sending it
        chain_guess = IniChain(fs, version=version).load(fpm_sapi.get('php_ini'), fpm_sapi.get('scan_dirs') or []).values()
    return [(pool, _pool_spec(pool, chain_guess)) for pool in fpm.pools]


def _mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def stale_scripts(scripts, cache_time, chroot=None, max_examples=10):
    """Cached scripts whose file changed after it was cached.

    ``scripts``: ``[[path, timestamp|None, last_used_timestamp, hits], ...]`` from the probe. With a
    timestamp (validate_timestamps on in the probing pool) a script is stale when the file's mtime
    differs from it; without one (or 0: compiled with validate_timestamps and file_update_protection
    off) when the file is newer than ``cache_time`` (max of start_time and last_restart_time).
    ``certain`` is true when the file changed after the script was last used as well."""
    count = 0
    examples = []
    for path, timestamp, last_used, _hits in scripts:
        local = posixpath.join(chroot, path.lstrip('/')) if chroot else path
        mtime = _mtime(local)
        if mtime is None:
            reason, stale = 'file removed', True
        elif timestamp:
            stale = int(mtime) != int(timestamp)
            reason = 'file mtime %d differs from the cached timestamp %d' % (int(mtime), int(timestamp))
        else:
            stale = cache_time is not None and mtime > cache_time
            reason = 'file modified at %d, after the cache was (re)started at %d' % (int(mtime), int(cache_time or 0))
        if not stale:
            continue
        count += 1
        if len(examples) < max_examples:
            examples.append({'path': path, 'mtime': mtime, 'cached_timestamp': timestamp or None, 'last_used': last_used,
                             'certain': bool(mtime is None or (last_used and mtime > last_used) or timestamp), 'reason': reason})
    return {'count': count, 'examples': examples}


def stale_file_cache(file_cache, paths, max_examples=10):
    """opcache.file_cache entries (``<dir>/<system id>/<path>.bin``) older than their source."""
    count = 0
    examples = []
    if not file_cache or not paths:
        return {'count': 0, 'examples': []}
    try:
        system_ids = [d for d in os.listdir(file_cache) if os.path.isdir(os.path.join(file_cache, d))]
    except OSError:
        return {'count': 0, 'examples': [], 'error': 'cannot read opcache.file_cache directory %s' % file_cache}
    for system_id in sorted(system_ids):
        root = os.path.join(file_cache, system_id)
        for app in paths:
            start = os.path.join(root, app.lstrip('/'))
            for dirpath, _dirs, files in os.walk(start):
                for name in files:
                    if not name.endswith('.bin'):
                        continue
                    entry = os.path.join(dirpath, name)
                    source = '/' + os.path.relpath(entry, root)[:-4]
                    src_mtime = _mtime(source)
                    bin_mtime = _mtime(entry)
                    if src_mtime is None or bin_mtime is None or src_mtime <= bin_mtime:
                        continue
                    count += 1
                    if len(examples) < max_examples:
                        examples.append({'path': source, 'cache_file': entry, 'mtime': src_mtime, 'cached_at': bin_mtime})
    return {'count': count, 'examples': examples}


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def match_installation(report, master):
    """The report's installation and fpm SAPI whose php-fpm.conf the master runs, or (None, None)."""
    for inst in (report or {}).get('installations', []):
        fpm = inst.get('sapis', {}).get('fpm')
        if fpm and fpm.get('fpm_conf') == master['config']:
            return inst, fpm
    return None, None


def _disk_chain(fs, master, running, fpm_sapi, version):
    """The file chain the master would read if it started now (same main ini and scan dirs)."""
    default_dir = None
    if fpm_sapi and fpm_sapi.get('scan_dirs'):
        default_dir = fpm_sapi['scan_dirs'][0]
    elif running.get('scanned_files'):
        default_dir = posixpath.dirname(running['scanned_files'][0])
    if master.get('scan_dir_env') is not None:
        scan_dirs = split_scan_dir(master['scan_dir_env'], default_dir)
    elif fpm_sapi and fpm_sapi.get('scan_dirs') is not None:
        scan_dirs = list(fpm_sapi['scan_dirs'])
    else:
        scan_dirs = sorted(set(posixpath.dirname(f) for f in running.get('scanned_files') or []))
    return IniChain(fs, version=version).load(running.get('loaded_file') or None, scan_dirs)


def _finding(code, severity, message, ev, inst_id=None, pool=None, directive=None):
    return Finding(code, severity, message, ev, inst_id, 'fpm', pool, directive)


def _master_report(fs, master, report, options, findings):
    inst, fpm_sapi = match_installation(report, master)
    inst_id = inst['id'] if inst else None
    base_dir = options.get('probe_dir') or DEFAULT_PROBE_DIR
    timeout = float(options.get('timeout') or 5.0)
    paths = [p.rstrip('/') + '/' for p in (options.get('paths') or [])]
    max_examples = int(options.get('max_examples') or 10)
    result = {
        'pid': master['pid'], 'config': master['config'], 'binary': master['binary'], 'binary_deleted': master['binary_deleted'],
        'start_time': master['start_time'], 'config_loaded_time': master['start_time'], 'installation': inst_id,
        'version': None, 'php_ini_loaded_file': None, 'php_ini_scanned_files': None, 'status': None, 'status_error': None,
        'configuration': None, 'probe_pool': None, 'pools': [], 'drift': [], 'fpm_files': [], 'stale_scripts': None,
        'worker_pools': sorted(master['worker_pools']), 'restart_pending_for': None,
    }
    try:
        fpm = read_fpm_config(fs, master['config'])
    except (HostFSError, OSError) as error:
        result['error'] = 'cannot read %s: %s' % (master['config'], error)
        return result
    result['fpm_files'] = fpm.files
    version = inst['version'] if inst else None
    table = directives_for(version)
    candidates = []
    for pool, spec in pool_specs(fs, fpm, fpm_sapi, version):
        entry = {'name': spec['name'], 'listen': spec['listen'], 'user': spec['user'], 'group': spec['group'], 'chroot': spec['chroot'],
                 'ok': False, 'error': None, 'warnings': [], 'worker_pid': None, 'worker_uid': None, 'settings': {}, 'drift': []}
        result['pools'].append(entry)
        try:
            data, site = probe_pool(spec, base_dir, {'scripts': False}, timeout, spec['open_basedir'], spec['restrict_api'])
        except LiveError as error:
            entry['error'] = 'pool %s (listen %s): %s' % (spec['name'], spec['listen'], error)
            findings.append(_finding('LIVE_PROBE_FAILED', 'warning', entry['error'], [evidence(spec['file'], pool.line)], inst_id, spec['name']))
            continue
        except (OSError, IOError) as error:
            entry['error'] = 'pool %s (listen %s): cannot place the probe: %s' % (spec['name'], spec['listen'], error)
            findings.append(_finding('LIVE_PROBE_FAILED', 'warning', entry['error'], [evidence(spec['file'], pool.line)], inst_id, spec['name']))
            continue
        entry['ok'] = True
        entry['warnings'] = site['warnings']
        entry['worker_pid'] = data.get('pid')
        entry['worker_uid'] = _proc_uid(options.get('proc', '/proc'), data.get('pid')) if data.get('pid') else None
        entry['settings'] = _pool_settings(data, table)
        entry['open_basedir'] = (data.get('other_ini') or {}).get('open_basedir', {}).get('local')
        if data.get('status_error') == 'false':
            restrict = (entry['settings'].get('opcache.restrict_api') or {}).get('value')
            if restrict and not site['script_filename'].startswith(restrict):
                entry['status_error'] = ('opcache.restrict_api=%r blocks opcache_get_status() for %s: set probe_dir under %s to read the cache status'
                                         % (restrict, site['script_filename'], restrict))
            else:
                entry['status_error'] = 'opcache_get_status() returned false (OPcache not started in this pool?)'
        elif data.get('status_error') == 'missing':
            entry['status_error'] = 'OPcache is not loaded in this pool (opcache_get_status() does not exist)'
        else:
            entry['status_error'] = None
        entry['drift'] = pool_drift(entry['settings'], spec['overrides'], table)
        candidates.append((data.get('status') is None, not php_bool((entry['settings'].get('opcache.validate_timestamps') or {}).get('value')),
                           len(candidates), spec, data, entry))
    if not candidates:
        return result
    candidates.sort(key=lambda c: c[:3])
    _s, _v, _i, spec, master_data, entry = candidates[0]
    result['probe_pool'] = spec['name']
    result['status_error'] = entry['status_error']
    if paths and master_data.get('status') is not None:
        try:
            scripts_data, _site = probe_pool(spec, base_dir, {'scripts': True, 'paths': paths, 'limit': MAX_SCRIPTS}, timeout,
                                             spec['open_basedir'], spec['restrict_api'])
            master_data['scripts'] = scripts_data.get('scripts')
        except (LiveError, OSError, IOError) as error:
            result['status_error'] = 'the cached script list could not be read through pool %s: %s' % (spec['name'], error)
    result['version'] = master_data.get('php_version')
    result['php_ini_loaded_file'] = master_data.get('loaded_file') or None
    result['php_ini_scanned_files'] = master_data.get('scanned_files') or []
    result['status'] = status_summary(master_data.get('status'))
    if result['status'] and result['status'].get('restart_pending'):
        # OPcache does not say since when a restart is pending: look again a moment later, so that a
        # restart held by a long request is told apart from one that happens right now
        time.sleep(RESTART_PENDING_RECHECK)
        try:
            again, dummy_site = probe_pool(spec, base_dir, {'scripts': False}, timeout, spec['open_basedir'], spec['restrict_api'])
        except (LiveError, OSError, IOError):
            again = {}
        summary = status_summary(again.get('status'))
        if summary is not None:
            master_data['status'] = again.get('status')
            result['status'] = summary
            result['restart_pending_for'] = RESTART_PENDING_RECHECK if summary.get('restart_pending') else None
    configuration = master_data.get('configuration') or {}
    result['configuration'] = {'version': configuration.get('version'), 'blacklist': configuration.get('blacklist')} if configuration else None
    stats = (result['status'] or {}).get('statistics') or {}
    if stats.get('start_time'):
        result['config_loaded_time'] = max(stats['start_time'], master['start_time'] or 0)
    if version is None:
        table = directives_for(result['version'])
    _compare_with_disk(fs, master, result, master_data, fpm_sapi, fpm, table, findings, inst_id)
    _status_findings(result, master_data, table, findings, inst_id)
    if paths:
        _stale(result, master_data, paths, max_examples, findings, inst_id, spec['chroot'])
    for entry in result['pools']:
        for item in entry['drift']:
            findings.append(_finding('LIVE_DRIFT', 'warning', 'pool %s of master %d runs %s=%r but its pool file now says %r (%s): reload php-fpm'
                                     % (entry['name'], master['pid'], item['directive'], item['running'], item['disk'], item['reason']),
                                     [item.get('evidence') or master['config']], inst_id, entry['name'], item['directive']))
    return result


def _compare_with_disk(fs, master, result, data, fpm_sapi, fpm, table, findings, inst_id):
    disk = _disk_chain(fs, master, data, fpm_sapi, result['version'])
    running_cfg = dict((k, v.get('cfg')) for k, v in (data.get('ini') or {}).items())
    disk_values = dict((k, a.value) for k, a in disk.settings.items() if k.startswith('opcache.'))
    result['drift'] = chain_drift(running_cfg, disk_values, table)
    for item in result['drift']:
        assignment = disk.settings.get(item['directive'])
        where = evidence(assignment.file, assignment.line) if assignment else 'removed from the ini files'
        item['evidence'] = where
        findings.append(_finding('LIVE_DRIFT', 'warning', 'php-fpm master %d (%s) runs %s=%r but the ini files now give %r (%s): reload php-fpm to apply'
                                 % (master['pid'], master['config'], item['directive'], item['running'], item['disk'], where),
                                 [where], inst_id, None, item['directive']))
    running_files = set(data.get('scanned_files') or [])
    disk_files = set(disk.scanned_files)
    if running_files != disk_files or (data.get('loaded_file') or None) != disk.loaded_file:
        result['fileset_differs'] = {'only_running': sorted(running_files - disk_files), 'only_disk': sorted(disk_files - running_files),
                                     'running_loaded_file': data.get('loaded_file') or None, 'disk_loaded_file': disk.loaded_file}
        findings.append(_finding('LIVE_FILESET_DIFFERS', 'warning',
                                 'php-fpm master %d loaded other ini files than the disk now has (only loaded by the master: %s; only on disk: %s): '
                                 'reload php-fpm' % (master['pid'], ', '.join(sorted(running_files - disk_files)) or '-',
                                                     ', '.join(sorted(disk_files - running_files)) or '-'),
                                 sorted(running_files ^ disk_files), inst_id))
    loaded = result['config_loaded_time']
    changed = []
    if loaded:
        for path in [data.get('loaded_file')] + sorted(running_files | disk_files) + list(fpm.files):
            if not path:
                continue
            mtime = _mtime(path)
            # the master's start time is known to about a second only (btime has whole seconds)
            if mtime is not None and mtime > loaded + START_TIME_SLACK and path not in [c['file'] for c in changed]:
                changed.append({'file': path, 'mtime': mtime})
    result['changed_after_start'] = changed
    if changed:
        findings.append(_finding('LIVE_INI_CHANGED_AFTER_START', 'warning',
                                 'php-fpm master %d loaded its configuration at %s; changed since: %s: reload php-fpm to apply'
                                 % (master['pid'], time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(loaded)), ', '.join(c['file'] for c in changed)),
                                 [c['file'] for c in changed], inst_id))


def _status_findings(result, data, table, findings, inst_id):
    status = data.get('status')
    if not isinstance(status, dict):
        return
    pid = result['pid']
    if status.get('cache_full'):
        findings.append(_finding('LIVE_CACHE_FULL', 'warning', 'the OPcache of php-fpm master %d is full: new scripts are not cached until a restart; '
                                 'raise opcache.memory_consumption or opcache.max_accelerated_files' % pid, [result['config']], inst_id))
    memory = status.get('memory_usage') or {}
    wasted = memory.get('current_wasted_percentage')
    limit = ((data.get('configuration') or {}).get('directives') or {}).get('opcache.max_wasted_percentage')
    if limit is not None and limit <= 1:
        limit = limit * 100.0
    if limit is None:
        raw = ((data.get('ini') or {}).get('opcache.max_wasted_percentage') or {}).get('local')
        try:
            limit = float(raw)
        except (TypeError, ValueError):
            limit = 5.0
    if wasted is not None and wasted > limit:
        findings.append(_finding('LIVE_WASTED_MEMORY', 'warning', 'php-fpm master %d wastes %.1f%% of OPcache memory (over max_wasted_percentage %.0f%%): '
                                 'a restart will happen only when the cache runs out of memory' % (pid, wasted, limit), [result['config']], inst_id))
    if status.get('restart_pending'):
        force = ((data.get('ini') or {}).get('opcache.force_restart_timeout') or {}).get('local')
        held = result.get('restart_pending_for')
        findings.append(_finding('LIVE_RESTART_PENDING', 'warning',
                                 'an OPcache restart of php-fpm master %d is %s: requests run uncached until no request that started before '
                                 'it is active, or until opcache.force_restart_timeout=%s s kills the holders'
                                 % (pid, 'still pending after %.0f s' % held if held else 'pending', force if force is not None else '180'),
                                 [result['config']], inst_id))


def _stale(result, data, paths, max_examples, findings, inst_id, chroot=None):
    scripts = data.get('scripts')
    stats = (result['status'] or {}).get('statistics') or {}
    cache_time = max(stats.get('start_time') or 0, stats.get('last_restart_time') or 0) or None
    if not isinstance(scripts, dict):
        result['stale_scripts'] = {'count': None, 'examples': [], 'error': result['status_error'] or 'the cached script list is not available'}
        return
    stale = stale_scripts(scripts['list'], cache_time, chroot, max_examples)
    stale['checked'] = scripts['matched']
    stale['truncated'] = scripts['matched'] > len(scripts['list'])
    if scripts.get('absent'):
        stale['error'] = 'the script list is absent (a restart is pending or OPcache is disabled)'
    file_cache = (result['status'] or {}).get('file_cache')
    stale['file_cache'] = stale_file_cache(file_cache, paths, max_examples) if file_cache else None
    result['stale_scripts'] = stale
    total = stale['count'] + ((stale['file_cache'] or {}).get('count') or 0)
    if total:
        examples = [e['path'] for e in stale['examples']] + [e['path'] for e in (stale['file_cache'] or {}).get('examples', [])]
        findings.append(_finding('LIVE_STALE_SCRIPTS', 'warning', 'php-fpm master %d serves %d cached script(s) older than their file (e.g. %s)%s: '
                                 'reset OPcache (or reload php-fpm)%s' % (
                                     result['pid'], total, ', '.join(examples[:3]),
                                     ' and the file cache holds stale entries' if (stale['file_cache'] or {}).get('count') else '',
                                     ' and purge opcache.file_cache' if file_cache else ''),
                                 examples[:max_examples], inst_id))


def same_binary_masters(master, masters):
    """The other masters of ``masters`` that run ``master``'s php-fpm binary."""
    return [m for m in masters if m['pid'] != master['pid'] and m.get('binary') and m.get('binary') == master.get('binary')]


def _restart_collateral_findings(masters, report):
    """Masters whose service restart would also stop other masters of the same binary."""
    findings = []
    for master in masters:
        collateral = restart_collateral(master['config'], same_binary_masters(master, masters))
        if collateral:
            inst, dummy_sapi = match_installation(report, master)
            findings.append(_finding('LIVE_RESTART_STOPS_OTHER_MASTERS', 'warning', 'restarting master %d (%s) is not contained: %s. Reload '
                                     'instead (it signals the pid file\'s master only), or run the other master from a binary or service of '
                                     'its own' % (master['pid'], master['config'], describe_collateral(collateral)),
                                     [collateral['script'], master['config']] + [m['config'] for m in collateral['masters']],
                                     inst['id'] if inst else None))
    return findings


def live_report(fs, report=None, options=None):
    """Probe every running php-fpm master (see the module docstring for options and result)."""
    options = dict(options or {})
    result = {'masters': [], 'not_running': [], 'findings': [], 'skipped': None}
    if getattr(fs, 'prefixed', False):
        result['skipped'] = 'the live view needs the target itself (root=/), not a filesystem under %s' % fs.root
        return result
    masters = options.get('masters')
    if masters is None:
        masters = find_fpm_masters(options.get('proc', '/proc'))
    findings = []
    for master in masters:
        result['masters'].append(_master_report(fs, master, report, options, findings))
    findings.extend(_restart_collateral_findings(masters, report))
    running_configs = set(m['config'] for m in masters)
    for inst in (report or {}).get('installations', []):
        fpm = inst.get('sapis', {}).get('fpm')
        if not fpm or not fpm.get('fpm_conf') or fpm['fpm_conf'] in running_configs:
            continue
        message = 'php-fpm is not running for %s (no master process "php-fpm: master process (%s)"): nothing live to compare' % (inst['id'], fpm['fpm_conf'])
        result['not_running'].append({'installation': inst['id'], 'config': fpm['fpm_conf'], 'error': message,
                                      'pools': [p['name'] for p in fpm.get('pools', [])]})
        findings.append(_finding('LIVE_PROBE_FAILED', 'info', message, [fpm['fpm_conf']], inst['id']))
    result['findings'] = [f.as_dict() for f in findings]
    return result
