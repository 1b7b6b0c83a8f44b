# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live probe: a small PHP script, where it is placed, and the FastCGI request that runs it.

The probe is written for the duration of one request into a directory we create
(``/run/phpops-opcache``, mode 0711, root-owned; never /tmp which systemd's PrivateTmp hides, never
a document root), named ``phpops-probe-<writer pid>-<128 random bits><ext>`` with mode 0640
root:<pool group>, requested over FastCGI (``SCRIPT_FILENAME``) through a pool's ``listen`` address
and removed on every way out; leftovers of interrupted runs (our name pattern only) are removed
before every placement (``probe_pools``, which asks the pools of a master at once: once per probe
directory, before any of its probes is placed). With a pool ``chroot`` the file goes inside the chroot and the prefix is
stripped from ``SCRIPT_FILENAME``. ``security.limit_extensions``, ``open_basedir`` and
``opcache.restrict_api`` are checked before the request and explained when they block it.

``PROBE_SOURCE`` only reads: ini values through ``ini_get_all()`` and ``get_cfg_var($variable)`` (a
literal ``ini_get('opcache.x')`` may be constant-folded by the optimizer and the folded opcodes are
shared by all pools of a master), the cache status and, when asked, the cached scripts under given
paths. ``probe_source(actions)`` builds a probe that runs more PHP between the two (live.hold does,
for the invalidation). With the default ``opcache.file_update_protection=2`` the freshly written
probe is never cached.
"""

from __future__ import annotations

import collections
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

DEFAULT_PROBE_DIR = '/run/phpops-opcache'
PROBE_PREFIX = 'phpops-probe-'
PROBE_NAME_RE = re.compile(r'^phpops-probe-(\d+)-[0-9a-f]{32}\.[A-Za-z0-9_-]{1,16}$')
PROBE_MARKER = '@@PHPOPS-PROBE@@'
LEFTOVER_MAX_AGE = 3600
DEFAULT_LIMIT_EXTENSIONS = '.php .phar'
MAX_CONCURRENT_PROBES = 8  # pools of one master asked at the same time (each request waits for a worker of its own pool)

# What placing and requesting a probe in one pool needs. ``overrides``: {directive: (kind, value,
# file, line)} of the pool's php_value/php_admin_value; ``open_basedir`` and ``restrict_api``: the
# pool's, else the file chain's.
PoolSpec = collections.namedtuple('PoolSpec', 'name listen user group chroot limit_extensions open_basedir restrict_api overrides file line')
PoolSpec.__new__.__defaults__ = (None,) * 10


class LiveError(Exception):
    """A one-line, operator-facing explanation of why a pool could not be probed."""


_PROBE_READ = r'''<?php
// phpops.opcache live probe, removed right after the request.
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
    'extensions' => array_merge(get_loaded_extensions(), get_loaded_extensions(true)),
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
'''

_PROBE_STATUS = r'''if (!function_exists('opcache_get_status')) {
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
                            isset($info['hits']) ? $info['hits'] : null,
                            isset($info['memory_consumption']) ? $info['memory_consumption'] : null);
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


def probe_source(actions=''):
    """The probe's PHP: read, then ``actions`` (PHP run after the ini values are read and before the
    status is), then the status."""
    return _PROBE_READ + actions + _PROBE_STATUS


PROBE_SOURCE = probe_source()


# ---------------------------------------------------------------------------
# Placement
# ---------------------------------------------------------------------------

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


def _base_dir(base_dir):
    return posixpath.normpath('/' + str(base_dir or DEFAULT_PROBE_DIR).lstrip('/'))


def _chroot(pool):
    chroot = posixpath.normpath(pool.chroot) if pool.chroot else None
    return None if chroot == '/' else chroot


def probe_host_dir(base_dir, pool):
    """The directory on the host that holds the probe of ``pool`` (under its chroot, if any)."""
    base_dir = _base_dir(base_dir)
    chroot = _chroot(pool)
    return posixpath.join(chroot, base_dir.lstrip('/')) if chroot else base_dir


def plan_probe(base_dir, pool, open_basedir=None, restrict_api=None):
    """Where the probe for ``pool`` (a PoolSpec: chroot and limit_extensions count here) goes.

    Returns ``{host_dir, script_dir, ext, name, host_path, script_filename, warnings}``; raises LiveError
    when the pool cannot run it. Paths on the host keep the chroot prefix; ``script_*`` paths are what
    the worker sees after chroot()."""
    base_dir = _base_dir(base_dir)
    if base_dir == '/':
        raise LiveError('probe_dir / is not usable: give a directory of its own')
    ext = choose_extension(pool.limit_extensions)
    chroot = _chroot(pool)
    host_dir = probe_host_dir(base_dir, pool)
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
    group = pool.group
    user = pool.user
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


def cleanup_leftovers(host_dir, now=None, in_use=()):
    """Remove probe files of interrupted runs: our name pattern only, written by a process that is
    gone (the writer's pid is in the name) or older than an hour. A concurrent run's probe stays, and
    so do the paths of ``in_use`` (the caller's own files that live across requests, such as the
    invalidation's canary)."""
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
            if path in in_use:
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
        return 'FPM refused the probe (403 %s): check security.limit_extensions=%r' % (body[:60], pool.limit_extensions)
    if response.status == 404:
        hints = []
        if pool.chroot:
            hints.append('chroot=%s (the probe was written to %s)' % (pool.chroot, site['host_path']))
        hints.append('open_basedir (add %s)' % site['script_dir'])
        hints.append('read permission of the pool user on %s' % site['host_dir'])
        return 'FPM could not open the probe %s (404 %s): check %s' % (site['script_filename'], body[:60], '; '.join(hints))
    return 'the probe answered HTTP %d: %s' % (response.status, body[:120].replace('\n', ' '))


def request_probe(pool, site, payload, timeout=5.0, on_stdout=None):
    """Send the probe request to ``pool.listen``; return the decoded JSON dict or raise LiveError.
    ``on_stdout``: see FastCGIClient.request (a held request streams part of its answer first)."""
    try:
        address = parse_listen(pool.listen)
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


def probe_pool(pool, base_dir, payload, timeout=5.0, on_stdout=None, source=PROBE_SOURCE, in_use=(), cleanup=True):
    """Place, request and remove the probe for one pool (a PoolSpec). Returns (data, site); raises
    LiveError. ``source``: the read-only probe, or one that can act (see live.hold); ``in_use``: see
    cleanup_leftovers; ``cleanup`` False: the caller removed the leftovers already (probe_pools,
    whose concurrent probes must not remove each other's files)."""
    site = plan_probe(base_dir, pool, pool.open_basedir, pool.restrict_api)
    gid = probe_group_id(pool) if os.geteuid() == 0 else None
    ensure_probe_dir(site['host_dir'])
    if cleanup:
        cleanup_leftovers(site['host_dir'], in_use=in_use)
    try:
        write_probe(site, gid, source)
        data = request_probe(pool, site, payload, timeout, on_stdout)
    finally:
        remove_probe(site)
    return data, site


# What probe_pools gives for one pool: the probe's answer and site, or the error (LiveError, or the
# OSError of placing the probe) with data and site None.
ProbeAnswer = collections.namedtuple('ProbeAnswer', 'data site error')


def probe_pools(pools, base_dir, payload, timeout=5.0, workers=MAX_CONCURRENT_PROBES):
    """Probe ``pools`` (PoolSpec) at once, at most ``workers`` at a time: a ProbeAnswer per pool, in
    the order of ``pools``. The leftovers of interrupted runs are removed once per probe directory
    before the probes start (each probe's file has a name of its own and removes only itself); each
    request keeps its own ``timeout``, so a pool that hangs delays only itself."""
    host_dirs = set(probe_host_dir(base_dir, pool) for pool in pools) if _base_dir(base_dir) != '/' else ()
    for host_dir in sorted(host_dirs):
        try:
            ensure_probe_dir(host_dir)
            cleanup_leftovers(host_dir)
        except (LiveError, OSError, IOError):
            pass  # the pool's own probe says why it cannot be placed

    def one(pool):
        try:
            data, site = probe_pool(pool, base_dir, payload, timeout, cleanup=False)
        except (LiveError, OSError, IOError) as error:
            return ProbeAnswer(None, None, error)
        return ProbeAnswer(data, site, None)

    if len(pools) <= 1 or workers <= 1:
        return [one(pool) for pool in pools]
    from concurrent.futures import ThreadPoolExecutor  # only a master with several pools needs threads

    with ThreadPoolExecutor(max_workers=min(workers, len(pools)), thread_name_prefix='phpops-probe') as executor:
        # submit + result rather than map: an unexpected error of one pool must not cancel the pools not
        # yet started (map's iterator does), every pool is asked and removes its own probe either way
        futures = [executor.submit(one, pool) for pool in pools]
        return [future.result() for future in futures]


# ---------------------------------------------------------------------------
# What the probe tells
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


def pool_spec(pool, chain_values):
    """The PoolSpec of an fpm_config.Pool; ``chain_values``: {directive: value} of the SAPI's ini chain."""
    overrides = {}
    for key in set(o.key for o in pool.overrides):
        winner, _beaten = pool.effective_override(key)
        overrides[key] = (winner.kind, winner.value, winner.file, winner.line)
    open_basedir = overrides['open_basedir'][1] if 'open_basedir' in overrides else chain_values.get('open_basedir')
    restrict_api = overrides['opcache.restrict_api'][1] if 'opcache.restrict_api' in overrides else chain_values.get('opcache.restrict_api')
    return PoolSpec(name=pool.name, file=pool.file, line=pool.line, listen=pool.get('listen'), user=pool.get('user'),
                    group=pool.get('group'), chroot=pool.get('chroot'), limit_extensions=pool.get('security.limit_extensions'),
                    overrides=overrides, open_basedir=open_basedir, restrict_api=restrict_api)


def pool_specs(fpm, chain_values=None):
    """The PoolSpec of every pool of an FPM configuration (fpm_config.FpmConfig). ``chain_values``:
    {directive: value} of the FPM SAPI's ini chain (open_basedir and restrict_api of the file chain
    explain a blocked probe before it is sent)."""
    return [pool_spec(pool, chain_values or {}) for pool in fpm.pools]
