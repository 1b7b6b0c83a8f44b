# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running PHP-FPM masters of this host, read from /proc (no PHP, no FastCGI: cheap to import
and to run, so that ``live: auto`` can decide whether there is anything live to look at).

``find_fpm_masters(proc='/proc')`` returns ``Master`` records sorted by pid; ``select_masters``
applies the collection's one selection rule (``php_discovery.version_matches``) to them.
"""

from __future__ import annotations

import collections
import os
import re

from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import name_selected, version_matches

MASTER_TITLE_RE = re.compile(r'^php-fpm[0-9.]*: master process \((.*)\)\s*$')
POOL_TITLE_RE = re.compile(r'^php-fpm[0-9.]*: pool (\S+)\s*$')

# One running master. ``start_time``: epoch seconds of the process (/proc/<pid>/stat field 22 +
# ``btime`` of /proc/stat); ``scan_dir_env``: its PHP_INI_SCAN_DIR when /proc still shows it;
# ``worker_pools``: {pool name: [worker pids]}.
Master = collections.namedtuple('Master', 'pid ppid title config binary binary_deleted start_time uid scan_dir_env worker_pools')
Master.as_dict = Master._asdict


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


def proc_uid(proc, pid):
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
    """Every running php-fpm master process, sorted by pid (see the module docstring and ``Master``)."""
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
            raw = _read(os.path.join(base, 'cmdline'), True)
            if b'php-fpm' not in raw:
                continue  # most processes: one read, not two
            title = parse_cmdline(raw)
            config = parse_master_title(title)
            pool = parse_pool_title(title) if config is None else None
            if config is None and pool is None:
                continue
            ppid, ticks = parse_pid_stat(_read(os.path.join(base, 'stat')))
        except (OSError, IOError, ValueError, IndexError):
            continue
        if config is not None and not _in_our_view(proc, entry):
            # a master in a container or chroot on this machine is another host's business
            continue
        if config is None:
            workers.append((ppid, pool, int(entry)))
            continue
        try:
            binary = os.readlink(os.path.join(base, 'exe'))
        except OSError:
            binary = None
        deleted = bool(binary and binary.endswith(' (deleted)'))
        if deleted:
            binary = binary[:-len(' (deleted)')]
        masters[int(entry)] = Master(
            pid=int(entry),
            ppid=ppid,
            title=title,
            config=config,
            binary=binary,
            binary_deleted=deleted,
            start_time=round(btime + float(ticks) / clock_ticks, 2) if btime is not None else None,
            uid=proc_uid(proc, entry),
            scan_dir_env=_proc_environ(proc, entry, 'PHP_INI_SCAN_DIR'),
            worker_pools={},
        )
    # a worker forked a moment ago still carries its master's title: it is not a second master
    for pid in [pid for pid, m in masters.items() if m.ppid in masters and masters[m.ppid].config == m.config]:
        del masters[pid]
    for ppid, pool, pid in workers:
        if ppid in masters:
            masters[ppid].worker_pools.setdefault(pool, []).append(pid)
    for master in masters.values():
        for pids in master.worker_pools.values():
            pids.sort()
    return [masters[pid] for pid in sorted(masters)]


def same_binary_masters(master, masters):
    """The other masters of ``masters`` that run ``master``'s php-fpm binary."""
    return [m for m in masters if m.pid != master.pid and m.binary and m.binary == master.binary]


def select_masters(masters, report=None, versions=None, fpm_confs=None):
    """The masters the user asked for: ``versions`` by the collection's selection rule (a version
    selects itself and everything below it: ``8`` selects 8.2.36, ``8.2.3`` does not) on the version
    of the installation that runs the master (``report``: an opcache_report.Report), ``fpm_confs``
    by the master's php-fpm.conf path."""
    chosen = []
    for master in masters:
        if versions:
            found = report.fpm_sapi_for(master.config) if report is not None else None
            if not version_matches(found[0].version if found else None, versions):
                continue
        if not name_selected(master.config, fpm_confs):
            continue
        chosen.append(master)
    return chosen
