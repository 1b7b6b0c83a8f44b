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
    - What the running PHP-FPM masters use (with O(live)). C(masters), one per running master, each with C(pid),
      C(config), C(installation), C(start_time), C(php_ini_loaded_file) and C(php_ini_scanned_files) of the RUNNING master,
      C(status) (memory, interned strings, statistics with C(start_time), C(last_restart_time), C(manual_restarts),
      C(restart_pending), C(cache_full), JIT), C(restart_pending_for) (when a restart was pending, the status is read again
      a second later; the seconds it was still pending then, else null), C(drift) (directives whose value on disk differs
      from the running one, each with C(directive), C(running) and C(disk), the value in effect on each side with the default filled
      in when the files do not set it, C(running_origin) and C(disk_origin) (V(ini) or V(default)), C(evidence)),
      C(stale_scripts) (with O(verify_paths); C(checked), C(count) and C(examples) of cached scripts that run older code
      than their file, each with C(path), C(mtime), C(ctime), C(cached_timestamp) (the mtime OPcache recorded when it
      compiled the script, null when it recorded none), C(last_used), C(certain) and C(reason); deploys that keep the
      build's mtime (rsync -a, tar, cp -p) are found by the file's ctime; C(inconclusive) and C(inconclusive_examples),
      scripts replaced after the cache started whose compile time cannot be told, and C(conclusive), false then),
      C(capacity) (C(memory), C(interned_strings) and C(keys), each with C(configured), C(used) and C(used_percent);
      C(hit_rate), C(oom_restarts), C(hash_restarts) and C(near_limit), one entry per resource at 90% or more, or with
      restarts, with C(code), C(directive), C(configured) and C(suggested), the value to raise it to),
      C(releases) (for each root of O(verify_paths), or found in the web server configuration, that is (or lies under) a symlink
      into a directory of releases, C(current -> releases/N);
      C(root), C(current), C(releases_dir), C(releases) with C(name), C(current), C(scripts) and C(memory) (bytes) cached
      per release, and C(old_releases), C(old_scripts) and C(old_memory) held by releases no longer current; null
      without such a root), C(preload) (C(script) and C(user), C(opcache.preload) and C(opcache.preload_user) of the
      master, C(memory), C(functions) and C(classes) (counts) and C(scripts) preloaded, C(changed) (preloaded files
      modified or removed since the master preloaded, each with C(file) and C(mtime)) and C(in_release) (the releases
      directory of a O(verify_paths) root the preload script lies in, else null)), C(jit) (C(mode) and
      C(buffer_size_configured) from the ini, C(enabled), C(on), C(buffer_size) and C(buffer_free) from
      C(opcache_get_status()), C(state) V(off), V(running), V(disabled) or V(unavailable), C(reason) and C(suspects), the
      loaded extensions known to hook the executor), C(config_test) (C(ok), C(command) and C(message) of C(php-fpm -t) when it ran)
      and C(pools), each with C(ok), C(error) and per directive C(value), C(origin)
      (V(ini), V(default), V(php_value), V(php_flag), V(php_admin_value), V(php_admin_flag), V(runtime) for C(ini_set()),
      C(.user.ini) or a C([PATH=]) section), C(file) and C(line) (the pool file line of a pool origin, else null),
      C(access), C(global_value) and C(cfg_value).
    - C(not_running) lists FPM installations without a running master.
  returned: when the live view ran
  type: dict
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
