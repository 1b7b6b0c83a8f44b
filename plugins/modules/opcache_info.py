#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: opcache_info
short_description: Report the effective OPcache settings of every PHP installation and SAPI, with the file and line that set each
version_added: 0.1.0
description:
  - Finds every PHP installation on the host (Debian/Ubuntu, RHEL, Remi SCL, Alpine, Arch, official Docker
    images, or installations given explicitly) and, for each SAPI (cli, fpm, apache2, ...), loads the ini files
    exactly in PHP's order.
  - Every C(opcache.*) directive is reported with the value PHP uses, the file and line that set it, and every
    earlier assignment it overrode; directives nothing sets show PHP's default for that version.
  - For PHP-FPM, reads C(php-fpm.conf), its includes and every pool, and reports pool C(php_value)/C(php_admin_value)
    overrides with whether they can take effect.
  - With O(live), asks every running PHP-FPM master over FastCGI which values it really uses and compares them with the
    files on disk.
  - Raises findings with stable codes, for example a later file overriding an earlier one, C(validate_timestamps)
    off, file cache without validation, or an unquoted C(opcache.jit) word rewritten by the ini scanner.
  - The ini files are parsed by a re-implementation of PHP's ini scanner that is tested against a real C(php) binary.
author:
  - phpops.opcache maintainers (@phpops)
extends_documentation_fragment:
  - phpops.opcache.opcache_target
  - phpops.opcache.opcache_target.installations
  - phpops.opcache.attributes
  - phpops.opcache.attributes.info_module
notes:
  - Runs with the Python standard library only. With O(root) unset, it runs C(php -n -v) or C(php-fpm -i) to learn
    exact versions and compiled-in paths; with O(root) set, it runs nothing.
seealso:
  - module: phpops.opcache.opcache_facts
'''

EXAMPLES = r'''
- name: Which file decides opcache.validate_timestamps for PHP-FPM?
  phpops.opcache.opcache_info:
    sapis: [fpm]
    directives: [opcache.validate_timestamps, opcache.enable]
  register: opcache

- name: Show the winner
  ansible.builtin.debug:
    msg: >-
      {{ item.sapis.fpm.settings['opcache.validate_timestamps'].value }} set by
      {{ item.sapis.fpm.settings['opcache.validate_timestamps'].file }}:{{ item.sapis.fpm.settings['opcache.validate_timestamps'].line }}
  loop: "{{ opcache.installations }}"
  loop_control:
    label: "{{ item.id }}"

- name: Fail the play when a later file overrides OPcache settings
  ansible.builtin.assert:
    that: opcache.findings | selectattr('code', 'equalto', 'OPC_DIRECTIVE_MULTIPLE_FILES') | list | length == 0

- name: Analyse a container image's root filesystem without running anything
  phpops.opcache.opcache_info:
    root: /var/lib/images/app-rootfs

- name: Analyse an explicit tree
  phpops.opcache.opcache_info:
    installations:
      - php_ini: /opt/app/php.ini
        scan_dirs: [/opt/app/conf.d]
        version: "8.3"
'''

RETURN = r'''
installations:
  description: One item per PHP installation found.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: A stable identifier, C(<family>:<base path>).
      type: str
      sample: debian:/etc/php/8.2
    family:
      description: The layout family (debian, rhel, remi, alpine, arch, docker, explicit).
      type: str
      sample: debian
    version:
      description: The PHP version (full when a binary confirmed it, else from the layout; null when unknown).
      type: str
      sample: 8.2.36
    version_source:
      description: Where the version came from (V(binary) or V(layout)).
      type: str
    binaries:
      description: The binaries found per SAPI.
      type: dict
      sample: {"cli": "/usr/bin/php8.2", "fpm": "/usr/sbin/php-fpm8.2"}
    sapis:
      description: Per SAPI name (cli, fpm, apache2, cgi, embed, phpdbg).
      type: dict
      contains:
        php_ini:
          description: The main ini file PHP loads, or null.
          type: str
          sample: /etc/php/8.2/fpm/php.ini
        scan_dirs:
          description: The scan directories, in order.
          type: list
          elements: str
        scanned_files:
          description: The files PHP parses from the scan directories, exactly as C(php_ini_scanned_files()) lists them.
          type: list
          elements: str
        opcache_loaded:
          description: Whether the chain loads OPcache (always true on PHP 8.5+).
          type: bool
        settings:
          description:
            - Per directive, C(value) (the string C(get_cfg_var()) returns, or PHP's default), C(file) and C(line)
              that set it (null for defaults), and C(overridden), the earlier assignments it beat, latest first.
          type: dict
          sample: {"opcache.validate_timestamps": {"value": "0", "file": "/etc/php/8.2/fpm/conf.d/99-opcache-optimization.ini",
                   "line": 2, "overridden": [{"value": "1", "file": "/etc/php/8.2/fpm/conf.d/10-opcache.ini", "line": 3}]}}
        conditional:
          description: OPcache directives inside C([PATH=])/C([HOST=]) sections (FPM/CGI per request only).
          type: list
          elements: dict
        fpm_conf:
          description: The FPM configuration file read (fpm only).
          type: str
        pools:
          description:
            - FPM pools (fpm only), each with C(name), C(file), C(line), C(listen), C(user), C(group), C(chroot),
              C(overrides) (pool C(php_value)/C(php_admin_value)/... for opcache directives) and C(settings), the
              pool-level effective value of each directive with C(source) and C(takes_effect) (false for startup-only
              directives that a pool cannot change).
          type: list
          elements: dict
live:
  description:
    - What the running PHP-FPM masters use (with O(live)).
  returned: when the live view ran
  type: dict
  contains:
    masters:
      description: One item per running PHP-FPM master.
      type: list
      elements: dict
      contains:
        pid:
          description: The master's process id.
          type: int
        config:
          description: The C(php-fpm.conf) the master runs (from its process title).
          type: str
          sample: /etc/php/8.2/fpm/php-fpm.conf
        binary:
          description: The master's executable.
          type: str
        binary_deleted:
          description: Whether that executable was replaced or removed on disk since the master started (a package upgrade).
          type: bool
        installation:
          description: The id of the installation whose FPM configuration the master runs, or null when none matches.
          type: str
        start_time:
          description: When the master started (epoch seconds).
          type: float
        config_loaded_time:
          description: When the master loaded its configuration (its start, or the later OPcache start after a reload).
          type: float
        version:
          description: The PHP version the master runs (null when no pool answered).
          type: str
        php_ini_loaded_file:
          description: The main ini file the RUNNING master loaded.
          type: str
        php_ini_scanned_files:
          description: The scanned ini files the RUNNING master loaded, in order.
          type: list
          elements: str
        worker_pools:
          description: The pool names of the master's worker processes.
          type: list
          elements: str
        fpm_files:
          description: The FPM configuration files (C(php-fpm.conf) and its includes).
          type: list
          elements: str
        status:
          description:
            - From C(opcache_get_status(false)) of the probing pool, null when no pool answered. C(opcache_enabled),
              C(cache_full), C(restart_pending), C(restart_in_progress), C(file_cache), C(file_cache_only),
              C(memory_usage), C(interned_strings_usage), C(statistics) (C(num_cached_scripts), C(num_cached_keys),
              C(max_cached_keys), C(hits), C(misses), C(opcache_hit_rate), C(start_time), C(last_restart_time),
              C(oom_restarts), C(hash_restarts), C(manual_restarts), C(blacklist_misses)), C(jit) and
              C(preload_statistics), as PHP reports them.
          type: dict
        status_error:
          description: Why the status could not be read (C(opcache.restrict_api), OPcache not loaded in the pool), else null.
          type: str
        error:
          description: Why the master's FPM configuration could not be read; only present then.
          type: str
        configuration:
          description: C(version) and C(blacklist) from C(opcache_get_configuration()), null when no pool answered.
          type: dict
        probe_pool:
          description: The pool whose answer describes the master (status, drift, stale code), null when none answered.
          type: str
        restart_pending_for:
          description: When a restart was pending, the status is read again a second later; the seconds it was still pending then, else null.
          type: float
        drift:
          description:
            - Directives whose value on disk differs from the running one, each with C(directive), C(running) and C(disk),
              the value in effect on each side with the default filled in when the files do not set it, C(running_origin)
              and C(disk_origin) (V(ini) or V(default)) and C(evidence).
          type: list
          elements: dict
        changed_after_start:
          description: Ini and FPM configuration files modified after the master loaded its configuration, each with C(file) and C(mtime).
          type: list
          elements: dict
        fileset_differs:
          description:
            - Only present when the master loaded another set of ini files than the disk now has; C(only_running),
              C(only_disk), C(running_loaded_file) and C(disk_loaded_file).
          type: dict
        config_test:
          description: C(ok), C(command) and C(message) of C(php-fpm -t) when it ran (files changed since the start), else null.
          type: dict
        stale_scripts:
          description:
            - With O(verify_paths), else null. C(checked), C(count) and C(examples) of cached scripts that run older code
              than their file, each with C(path), C(mtime), C(ctime), C(cached_timestamp) (the mtime OPcache recorded when
              it compiled the script, null when it recorded none), C(last_used), C(certain) and C(reason); deploys that keep
              the build's mtime (rsync -a, tar, cp -p) are found by the file's ctime. C(inconclusive) and
              C(inconclusive_examples), scripts replaced after the cache started whose compile time cannot be told, and
              C(conclusive), false then. C(truncated), C(file_cache) (stale file-cache entries) and C(error).
          type: dict
        jit:
          description: The JIT configured vs what runs; null when no pool answered.
          type: dict
          contains:
            mode:
              description: C(opcache.jit) of the probing pool.
              type: str
              sample: tracing
            buffer_size_configured:
              description: C(opcache.jit_buffer_size) in bytes.
              type: int
            enabled:
              description: C(opcache_get_status()['jit']['enabled']) (null when PHP has no JIT).
              type: bool
            "on":
              description: C(opcache_get_status()['jit']['on']).
              type: bool
            buffer_size:
              description: The JIT buffer PHP reserved, in bytes.
              type: int
            buffer_free:
              description: The free part of the JIT buffer, in bytes.
              type: int
            state:
              description:
                - V(off) (configured off, or a zero buffer), V(running), V(disabled) (configured on but not running, finding
                  C(LIVE_JIT_DISABLED)) or V(unavailable) (PHP built without JIT).
              type: str
            reason:
              description: Why the JIT is off, disabled or unavailable, else null.
              type: str
            suspects:
              description: The loaded extensions known to hook the executor (which make PHP disable the JIT), when it is disabled.
              type: list
              elements: str
        capacity:
          description: Memory, interned strings and key slots used vs configured; null when no pool answered.
          type: dict
          contains:
            memory:
              description: C(configured), C(used), C(free) and C(wasted) bytes of shared memory, C(used_percent) (used and wasted).
              type: dict
            interned_strings:
              description: C(configured), C(used) and C(free) bytes of the interned strings buffer, C(strings) (count), C(used_percent).
              type: dict
            keys:
              description: C(configured) key slots (the prime OPcache uses), C(used) keys, C(scripts) cached, C(used_percent).
              type: dict
            hit_rate:
              description: C(opcache_hit_rate) in percent.
              type: float
            oom_restarts:
              description: Restarts for lack of memory.
              type: int
            hash_restarts:
              description: Restarts for lack of key slots.
              type: int
            near_limit:
              description:
                - One entry per resource at 90% or more, or with restarts (the findings C(LIVE_MEMORY_NEAR_LIMIT),
                  C(LIVE_INTERNED_STRINGS_NEAR_LIMIT), C(LIVE_KEYS_NEAR_LIMIT)), each with C(code), C(directive),
                  C(used_percent), C(configured), C(suggested) (the value to raise it to) and C(message).
              type: list
              elements: dict
        releases:
          description:
            - For each root of O(verify_paths) (or, without them, found in the web server configuration) that is, or lies under,
              a symlink into a directory of releases (C(current -> releases/N)); null without such a root.
          type: list
          elements: dict
          contains:
            root:
              description: The root as given (or as the web server configuration names it).
              type: str
              sample: /var/www/shop/current
            current:
              description: The release directory it points to.
              type: str
              sample: /var/www/shop/releases/3
            releases_dir:
              description: The directory of releases.
              type: str
            releases:
              description: The releases with cached scripts, each with C(name), C(path), C(current), C(scripts) and C(memory) (bytes).
              type: list
              elements: dict
            old_releases:
              description: The names of cached releases that are no longer current.
              type: list
              elements: str
            old_scripts:
              description: Scripts cached from those releases (finding C(LIVE_OLD_RELEASES_CACHED)).
              type: int
            old_memory:
              description: Their memory, in bytes.
              type: int
        preload:
          description: Preloading of the master; null when no pool answered.
          type: dict
          contains:
            script:
              description: C(opcache.preload), null when unset.
              type: str
            user:
              description: C(opcache.preload_user).
              type: str
            memory:
              description: Memory of the preloaded scripts, in bytes.
              type: int
            functions:
              description: How many functions were preloaded.
              type: int
            classes:
              description: How many classes were preloaded.
              type: int
            scripts:
              description: The preloaded scripts.
              type: list
              elements: str
            changed:
              description:
                - Preloaded files changed or removed since the master preloaded, each with C(file) and C(mtime), the later of
                  the file's mtime and ctime, so that a deploy keeping the build's mtime (C(rsync -a)) counts (null when
                  removed) (finding C(LIVE_PRELOAD_CHANGED)).
              type: list
              elements: dict
            in_release:
              description:
                - The releases directory of a O(verify_paths) root the preload script lies in (finding
                  C(LIVE_PRELOAD_IN_RELEASE)), else null.
              type: str
        pools:
          description:
            - Every pool of the master, each with C(name), C(listen), C(user), C(group), C(chroot), C(ok), C(error),
              C(warnings), C(worker_pid), C(worker_uid), C(open_basedir), C(status_error), C(drift) and per directive in
              C(settings) C(value), C(origin) (V(ini), V(default), V(php_value), V(php_flag), V(php_admin_value),
              V(php_admin_flag), V(runtime) for C(ini_set()), C(.user.ini) or a C([PATH=]) section), C(file) and C(line)
              (the pool file line of a pool origin, else null), C(access), C(global_value) and C(cfg_value).
          type: list
          elements: dict
    not_running:
      description: FPM installations without a running master, each with C(installation), C(config), C(error) and C(pools).
      type: list
      elements: dict
    skipped:
      description: Why the live view did not run (a target under O(root)), else null.
      type: str
findings:
  description: What needs attention, most severe first.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: A stable code, documented in the collection's docs/findings.md.
      type: str
      sample: OPC_VALIDATE_TIMESTAMPS_OFF
    severity:
      description: V(critical), V(warning) or V(info).
      type: str
    message:
      description: One line for a human.
      type: str
    evidence:
      description: C(file:line) locations.
      type: list
      elements: str
    installation:
      description: The installation id.
      type: str
    sapi:
      description: The SAPI, when the finding is about one.
      type: str
    pool:
      description: The FPM pool, when the finding is about one.
      type: str
    directive:
      description: The directive concerned, if any.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.phpops.opcache.plugins.module_utils.info_module import report_from_params, target_argument_spec


def main():
    module = AnsibleModule(argument_spec=target_argument_spec(), supports_check_mode=True)
    report = report_from_params(module)
    module.exit_json(changed=False, **report.as_dict())


if __name__ == '__main__':
    main()
