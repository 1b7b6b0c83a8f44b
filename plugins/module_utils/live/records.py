# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records of the live view: ``LiveView`` (what ``live.report.live_report`` returns) holds a
``LiveMaster`` per running master, each with a ``LivePool`` per pool, the ``NotRunning`` FPM SAPIs
and the findings (``findings.Finding``). Other layers read their attributes; ``as_dict()`` gives the
``live`` part of the module result (see live.report for its shape), only at ``exit_json``.

Leaves stay plain data as they come from the probe and the pure comparisons (``status``: see
``live.probe.status_summary``; ``settings`` and ``drift``: see ``live.drift``; ``capacity``,
``jit``, ``releases``, ``preload``: see ``live.runtime`` and ``live.releases``).
"""

from __future__ import annotations


class LivePool(object):
    """One pool of a running master as its probe saw it (``ok`` False: ``error`` says why)."""

    __slots__ = ('name', 'listen', 'user', 'group', 'chroot', 'ok', 'error', 'warnings', 'worker_pid', 'worker_uid', 'settings',
                 'drift', 'open_basedir', 'status_error')

    def __init__(self, spec):
        """``spec``: the pool's live.probe.PoolSpec."""
        self.name = spec.name
        self.listen = spec.listen
        self.user = spec.user
        self.group = spec.group
        self.chroot = spec.chroot
        self.ok = False
        self.error = None
        self.warnings = []
        self.worker_pid = None
        self.worker_uid = None
        self.settings = {}  # {directive: {value, origin, access, global_value, cfg_value, file, line}}
        self.drift = []
        self.open_basedir = None
        self.status_error = None

    def value(self, directive):
        """The value ``directive`` has in the pool, or None."""
        return (self.settings.get(directive) or {}).get('value')

    def values(self):
        """{directive: value} of the pool."""
        return dict((key, item.get('value')) for key, item in self.settings.items())

    def as_dict(self):
        result = {'name': self.name, 'listen': self.listen, 'user': self.user, 'group': self.group, 'chroot': self.chroot, 'ok': self.ok,
                  'error': self.error, 'warnings': self.warnings, 'worker_pid': self.worker_pid, 'worker_uid': self.worker_uid,
                  'settings': self.settings, 'drift': self.drift}
        if self.ok:  # only a pool that answered has them
            result['open_basedir'] = self.open_basedir
            result['status_error'] = self.status_error
        return result


class LiveMaster(object):
    """One running php-fpm master: what /proc tells (``master``, a live.masters.Master), its
    installation (``installation``: its id, or None) and what its pools answered."""

    __slots__ = ('pid', 'config', 'binary', 'binary_deleted', 'start_time', 'config_loaded_time', 'installation', 'version',
                 'php_ini_loaded_file', 'php_ini_scanned_files', 'status', 'status_error', 'configuration', 'probe_pool', 'pools',
                 'drift', 'fpm_files', 'stale_scripts', 'worker_pools', 'restart_pending_for', 'config_test', 'jit', 'capacity',
                 'releases', 'preload', 'error', 'fileset_differs', 'changed_after_start')

    # in the result only when set: the FPM configuration could not be read; the ini files differ;
    # the disk was compared (a list, possibly empty)
    _OPTIONAL = ('error', 'fileset_differs', 'changed_after_start')

    def __init__(self, master, installation=None):
        self.pid = master.pid
        self.config = master.config
        self.binary = master.binary
        self.binary_deleted = master.binary_deleted
        self.start_time = master.start_time
        self.config_loaded_time = master.start_time
        self.installation = installation
        self.version = None
        self.php_ini_loaded_file = None
        self.php_ini_scanned_files = None
        self.status = None
        self.status_error = None
        self.configuration = None
        self.probe_pool = None
        self.pools = []  # LivePool, in the order of the FPM configuration
        self.drift = []
        self.fpm_files = []
        self.stale_scripts = None
        self.worker_pools = sorted(master.worker_pools)
        self.restart_pending_for = None
        self.config_test = None
        self.jit = None
        self.capacity = None
        self.releases = None
        self.preload = None
        self.error = None
        self.fileset_differs = None
        self.changed_after_start = None

    @property
    def statistics(self):
        return (self.status or {}).get('statistics') or {}

    @property
    def opcache_enabled(self):
        return (self.status or {}).get('opcache_enabled')

    @property
    def restart_pending(self):
        return (self.status or {}).get('restart_pending')

    def as_dict(self):
        result = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if name not in self._OPTIONAL or value is not None:
                result[name] = value
        result['pools'] = [pool.as_dict() for pool in self.pools]
        return result


class NotRunning(object):
    """An FPM SAPI of the report without a running master."""

    __slots__ = ('installation', 'config', 'error', 'pools')

    def __init__(self, installation, config, error, pools):
        self.installation = installation
        self.config = config
        self.error = error
        self.pools = pools  # names

    def as_dict(self):
        return {'installation': self.installation, 'config': self.config, 'error': self.error, 'pools': self.pools}


class LiveView(object):
    """The live part of a run: ``masters`` (LiveMaster), ``not_running`` (NotRunning), ``findings``
    (findings.Finding) and ``skipped`` (None, or why the live view did not run)."""

    __slots__ = ('masters', 'not_running', 'findings', 'skipped')

    def __init__(self, skipped=None):
        self.masters = []
        self.not_running = []
        self.findings = []
        self.skipped = skipped

    def as_dict(self, findings=True):
        """The ``live`` result; ``findings`` False leaves them out (the module merges them into the report's)."""
        result = {'masters': [m.as_dict() for m in self.masters], 'not_running': [n.as_dict() for n in self.not_running]}
        if findings:
            result['findings'] = [f.as_dict() for f in self.findings]
        result['skipped'] = self.skipped
        return result
