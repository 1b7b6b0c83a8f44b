#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: opcache_reset
short_description: Invalidate OPcache on every PHP-FPM master and prove that the new code is served
version_added: 0.1.0
description:
  - For every running PHP-FPM master on the host (or those selected), invalidates the OPcache and then proves that PHP
    now serves the new code, instead of trusting that a reset or reload "worked".
  - "Before acting it reads the cache counters of each master and places a canary: a small PHP file that the pools cache,
    then changed on disk. For a reset this all happens inside the reset request itself: the request caches the canary,
    reports the counters and waits until the module has changed the canary, so fresh code does not wait for an extra
    round of requests through a busy pool."
  - "It acts: C(opcache_reset()) through a pool over FastCGI (zero downtime), or a reload or restart through the host's
    service manager (systemd, SysV init or OpenRC). When C(opcache.file_cache) is set its entries are purged first, because
    the file cache survives a reset, a reload and a restart."
  - "It verifies within a bounded wait: the restart really happened (for a reset C(restart_pending) is false and
    C(manual_restarts) rose; for a reload or restart the cache start time is new), and every pool serves the changed canary.
    Optionally no cached script under O(verify_paths) is stale, and O(verify_url) shows O(verify_content)."
  - With O(strategy=auto) it escalates reset, reload, restart until fresh code is proven, and fails with the evidence when
    nothing proves it.
  - "Preloading (C(opcache.preload)): C(opcache_reset()) keeps preloaded scripts, only a new master (a reload or a restart)
    preloads again. Before acting it reads the master's preloaded scripts; when one changed on disk since the master preloaded
    it (mtime or ctime), was removed, C(opcache.preload) now resolves to another file (a switched C(current) symlink), or one
    lies under O(verify_paths), O(strategy=auto) skips the reset and reloads, and O(strategy=reset) fails naming the files and
    the action needed, without resetting. After the action the new master's preload statistics must list its preloaded scripts
    with none changed since it preloaded them (RV(masters[].preload))."
author:
  - phpops.opcache maintainers (@phpops)
options:
  strategy:
    description:
      - V(auto) starts with a zero-downtime C(opcache_reset()) and escalates to reload and restart when the proof fails.
      - V(reset), V(reload) and V(restart) do only that (and fail when it is not proven). V(reset) fails without resetting
        when preloaded code must be preloaded again (see the description).
    type: str
    choices: [auto, reset, reload, restart]
    default: auto
  versions:
    description:
      - Only masters of these PHP versions (V(8.2) matches 8.2.x).
    type: list
    elements: str
  fpm_confs:
    description:
      - Only the masters running these C(php-fpm.conf) files.
    type: list
    elements: path
  pools:
    description:
      - Work through these pools only (the canary is checked in each of them). Default is every pool of each master.
    type: list
    elements: str
  allow_stopped:
    description:
      - When no selected PHP-FPM master runs, succeed without doing anything (reported in RV(not_running)) instead of failing.
      - "The role's handler uses it: a stopped PHP-FPM reads the new configuration when it starts."
    type: bool
    default: false
  wait:
    description:
      - Seconds to wait, per action, for the proof. A reset waits for idle workers; under constant load it may stay
        pending up to C(opcache.force_restart_timeout) (180 s by default), so O(strategy=auto) escalates after this wait.
    type: float
    default: 30
  verify_paths:
    description:
      - Application roots that must have no stale cached script after the invalidation.
    type: list
    elements: path
    default: []
  verify_url:
    description:
      - A URL served by the real web server that must show O(verify_content) after the invalidation (for example a version endpoint).
    type: str
  verify_content:
    description:
      - Text O(verify_url) must contain. Without it, any 2xx answer passes.
    type: str
  probe_dir:
    description:
      - Where the probe and the canary are written (readable only by root and each pool's group; removed afterwards).
      - "A reset that scheduled a restart leaves a note here, C(phpops-reset-<master pid>.json) (mode 0600, a few bytes),
        so that a later run that finds the restart still pending can say since when."
    type: path
    default: /run/phpops-opcache
  timeout:
    description:
      - Seconds for each FastCGI connection and response.
    type: float
    default: 5.0
extends_documentation_fragment:
  - phpops.opcache.attributes
attributes:
  check_mode:
    support: full
    description: Reads the counters of every selected master and returns what it would do; writes no canary and acts on nothing.
  diff_mode:
    support: none
    description: No file of the host changes; the result describes the actions instead.
notes:
  - Run it as root (the canary and probe files are given each pool's group, and reload/restart need the service manager).
  - All pools of one master share one cache, so one reset clears every pool; the canary is still checked in each pool
    after the action, because each pool may have its own C(opcache.validate_timestamps).
  - "Before any reload or restart it tests the configuration the master would load, with that master's own binary
    (C(php-fpm -t -y <php-fpm.conf>)). When the test fails, the action is refused with PHP-FPM's own message and the
    running master is left alone: a master reloaded into a configuration it cannot load does not come back."
  - "A reload of a master run in the foreground (C(php-fpm --nodaemonize), as systemd's unit runs it) re-executes it with the
    same pid; it is proven by the cache's new start time."
  - "A reset while an earlier OPcache restart is still pending (a long request holds it) fails with the reason: since
    when it is pending, which requests hold it (from the pools' C(pm.status_path) when set), and what happens next."
  - Without systemd, the restart of Debian's and Ubuntu's init script ends with C(start-stop-daemon --stop --exec), which stops
    every process of the php-fpm binary. When another master runs the same binary, a restart is refused with the reason
    instead of taking that master down too (a reload only signals the master of the pid file and goes ahead).
seealso:
  - module: phpops.opcache.opcache_info
'''

EXAMPLES = r'''
- name: After a deploy, invalidate and prove that PHP serves the new code
  phpops.opcache.opcache_reset:

- name: Zero-downtime reset only, checked through the web server too
  phpops.opcache.opcache_reset:
    strategy: reset
    versions: ["8.2"]
    verify_paths: [/srv/app/current]
    verify_url: http://127.0.0.1/version.php
    verify_content: "{{ release_id }}"
  register: invalidation

- name: How long it took until fresh code was proven
  ansible.builtin.debug:
    msg: "{{ invalidation.masters | map(attribute='ms_to_fresh') | list }}"
'''

RETURN = r'''
masters:
  description: One item per selected PHP-FPM master.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: The master's pid when the module started.
      type: int
    config:
      description: The C(php-fpm.conf) the master runs.
      type: str
    installation:
      description: The installation id (as in M(phpops.opcache.opcache_info)), when known.
      type: str
    pools:
      description: The pools worked through.
      type: list
      elements: str
    before:
      description: Cache counters before (C(start_time), C(last_restart_time), C(manual_restarts), C(restart_pending), C(num_cached_scripts)).
      type: dict
    after:
      description: The same counters once fresh code was proven.
      type: dict
      returned: when proven
    canary_stale_before:
      description:
        - Per pool that was asked before acting, whether the changed canary was still served from the old cache.
        - For a reset only the pool that ran it is asked (inside the reset request); for a reload or restart, every pool.
      type: dict
    steps:
      description:
        - Every step with C(step), C(ok), C(detail) and C(ms).
        - "With preloading: C(preload) (what the master preloaded and what must be preloaded again, in C(refresh)) before acting,
          and C(verify_preload) after it. A reset that was not done because of preloaded code has C(skipped=true)."
      type: list
      elements: dict
    preload:
      description:
        - The master's preloading (C(opcache.preload)) read before acting; null when it preloads nothing.
        - C(script) is C(opcache.preload), C(scripts) the preloaded files, C(loaded_at) when the master preloaded them at the
          earliest (epoch seconds; the latest of the cache start, the master start and this run's reload or restart).
        - "C(refresh) lists what a reset cannot refresh, each with C(file), C(changed_at) (epoch seconds, the later of mtime and
          ctime; null when gone) and C(reason): V(changed) (on disk at or after C(loaded_at)), V(removed), V(moved)
          (C(opcache.preload) resolves to this file now, and it was not preloaded) or V(verify_paths) (under O(verify_paths)).
          When it is not empty, O(strategy=auto) skips the reset and O(strategy=reset) fails."
        - C(after) is the same view read after the action (null when the master no longer preloads), and C(proven) whether
          it shows no preloaded file changed, removed or moved since the master preloaded.
      type: dict
      returned: when the master answered before acting
    action:
      description: The action that was proven to work (V(reset), V(reload) or V(restart)).
      type: str
      returned: when proven
    ms_to_fresh:
      description: Milliseconds from the action until fresh code was proven in every pool.
      type: int
      returned: when proven
    proven:
      description: Whether fresh code was proven.
      type: bool
    file_cache:
      description: The C(opcache.file_cache) directory, purged before the action.
      type: str
    warnings:
      description: Settings that matter for invalidation (C(process_control_timeout=0), C(restrict_api), OPcache disabled).
      type: list
      elements: str
    would:
      description: In check mode, what would be done.
      type: str
      returned: in check mode
not_running:
  description: With O(allow_stopped), the selected C(php-fpm.conf) files (or V(any)) that no running master uses.
  returned: when nothing ran
  type: list
  elements: str
'''

import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS, HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.live.masters import find_fpm_masters, select_masters
from ansible_collections.phpops.opcache.plugins.module_utils.live.probe import DEFAULT_PROBE_DIR, LiveError
from ansible_collections.phpops.opcache.plugins.module_utils.module_support import php_runner
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_invalidation import (
    STRATEGIES,
    InvalidationError,
    MasterInvalidation,
)
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import build_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            strategy=dict(type='str', default='auto', choices=list(STRATEGIES)),
            versions=dict(type='list', elements='str'),
            fpm_confs=dict(type='list', elements='path'),
            pools=dict(type='list', elements='str'),
            allow_stopped=dict(type='bool', default=False),
            wait=dict(type='float', default=30.0),
            verify_paths=dict(type='list', elements='path', default=[]),
            verify_url=dict(type='str'),
            verify_content=dict(type='str'),
            probe_dir=dict(type='path', default=DEFAULT_PROBE_DIR),
            timeout=dict(type='float', default=5.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    host = socket.gethostname()
    fs = HostFS('/')
    run = php_runner(module)
    try:
        report = build_report(fs, run, sapis=['fpm'])
        masters = select_masters(find_fpm_masters(), report, versions=params['versions'], fpm_confs=params['fpm_confs'])
    except (HostFSError, LiveError) as error:
        module.fail_json(msg='%s: %s' % (host, error))
    if not masters and params['allow_stopped']:
        module.exit_json(changed=False, masters=[], not_running=params['fpm_confs'] or ['any'])
    if not masters:
        module.fail_json(msg='%s: no running PHP-FPM master matches (versions=%s, fpm_confs=%s): nothing to invalidate; is PHP-FPM running?'
                         % (host, params['versions'], params['fpm_confs']))
    results = []
    for master in masters:
        job = None
        try:
            job = MasterInvalidation(fs, master, report, params, run, module.check_mode)
            results.append(job.run(params['strategy'], params['wait']))
        except (InvalidationError, LiveError, HostFSError, OSError) as error:
            results.append(job.result if job else {'pid': master.pid, 'config': master.config})
            module.fail_json(msg='%s: %s' % (host, error), masters=results)
    for result in results:
        for warning in result.get('warnings', []):
            module.warn('%s: %s' % (result['config'], warning))
    module.exit_json(changed=not module.check_mode, masters=results)


if __name__ == '__main__':
    main()
