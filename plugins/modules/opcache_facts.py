#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: opcache_facts
short_description: Gather the effective OPcache settings of every PHP installation as facts
version_added: 0.1.0
description:
  - The same analysis as M(phpops.opcache.opcache_info), returned as C(ansible_facts.opcache) in a compact form
    (value and origin per directive, finding codes and messages).
  - It can run as part of fact gathering, see the examples.
author:
  - phpops.opcache maintainers (@phpops)
extends_documentation_fragment:
  - phpops.opcache.opcache_target
  - phpops.opcache.opcache_target.installations
  - phpops.opcache.attributes
  - phpops.opcache.attributes.info_module
  - phpops.opcache.attributes.facts
notes:
  - Read the facts as C(ansible_facts['opcache']), not through injected top-level variables.
  - When run by C(gather_facts) through C(ansible_facts_modules), options come from C(module_defaults).
seealso:
  - module: phpops.opcache.opcache_info
'''

EXAMPLES = r'''
- name: Gather OPcache facts
  phpops.opcache.opcache_facts:

- name: Show which file set validate_timestamps for FPM
  ansible.builtin.debug:
    msg: "{{ ansible_facts['opcache'].installations[0].sapis.fpm.origins['opcache.validate_timestamps'] }}"

# Make fact gathering collect them for every play (inventory or group_vars):
#   ansible_facts_modules:
#     - ansible.builtin.setup
#     - phpops.opcache.opcache_facts
- name: Gather standard and OPcache facts in one step
  hosts: web
  vars:
    ansible_facts_modules: [ansible.builtin.setup, phpops.opcache.opcache_facts]
  module_defaults:
    phpops.opcache.opcache_facts:
      sapis: [fpm, cli]
  tasks:
    - name: Warn about stale-code risks
      ansible.builtin.debug:
        msg: "{{ ansible_facts['opcache'].findings | map(attribute='message') | list }}"
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: dict
  contains:
    opcache:
      description: Per installation, C(id), C(family), C(version) and C(sapis); per SAPI, C(php_ini), C(scanned_files),
        C(opcache_loaded), C(settings) (directive to value), C(origins) (directive to C(file:line) or V(default)) and, for fpm,
        C(pools) (name to C(listen) and C(overrides)); plus C(findings) (code, severity, message).
      returned: always
      type: dict
      sample: {"installations": [{"id": "debian:/etc/php/8.2", "family": "debian", "version": "8.2.36", "sapis": {"fpm": {
               "php_ini": "/etc/php/8.2/fpm/php.ini", "settings": {"opcache.validate_timestamps": "0"},
               "origins": {"opcache.validate_timestamps": "/etc/php/8.2/fpm/conf.d/99-opcache-optimization.ini:2"}}}}],
               "findings": [{"code": "OPC_VALIDATE_TIMESTAMPS_OFF", "severity": "warning", "message": "..."}]}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.phpops.opcache.plugins.module_utils.info_module import report_from_params, target_argument_spec


def main():
    module = AnsibleModule(argument_spec=target_argument_spec(), supports_check_mode=True)
    report = report_from_params(module)
    # imported after report_from_params, which loads the report's code once discovery's commands run
    from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import compact_facts

    module.exit_json(changed=False, ansible_facts={'opcache': compact_facts(report)})


if __name__ == '__main__':
    main()
