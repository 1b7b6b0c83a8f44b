#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: opcache_audit_report
short_description: Write the fleet's OPcache audit as an HTML page, a Markdown summary and JSON on the controller
version_added: 0.1.0
description:
  - Collects the registered M(phpops.opcache.opcache_info) result of every host of the play and writes, on the
    controller, into O(dest) - C(index.html), one self-contained page (inline CSS, no scripts, no external assets;
    it opens from a file) with the fleet at a glance (hosts by severity, the hosts with problems first) and, per
    host, the findings with their evidence and fix, the effective settings of every installation and SAPI with the
    file and line that set them, the running value where a PHP-FPM master differs from the disk, the pools and the
    state of each running master - its JIT (configured vs running), capacity (memory, interned strings, key slots,
    hit rate, restarts), cached releases and preload, marked where a finding's limit is reached, C(not probed) when
    no pool of the master answered; C(summary.md), the same as a Markdown summary; C(audit.json), every host's
    full result.
  - Hosts whose audit failed or that were unreachable are listed with their error (register the result with
    C(ignore_errors) and C(ignore_unreachable) so that they have one); hosts without a result are listed as such.
  - Every value comes from the hosts and is escaped.
  - This is an action plugin. It runs on the controller only and never connects to a host. Run it once
    (C(run_once=true)).
author:
  - phpops.opcache maintainers (@phpops)
options:
  dest:
    description:
      - The directory to write the report to, created when missing; relative to the current directory of
        C(ansible-playbook). Existing report files in it are replaced.
    type: path
    default: opcache-report
  var:
    description:
      - The name of the variable each host registered the M(phpops.opcache.opcache_info) result under.
    type: str
    default: opcache_audit
  hosts:
    description:
      - The hosts to report. The default is every host of the play (C(ansible_play_hosts_all)), including the ones
        that failed or were unreachable.
    type: list
    elements: str
  results:
    description:
      - The results to report, as a dictionary of host name to M(phpops.opcache.opcache_info) result, instead of
        reading O(var) from each host's variables.
    type: dict
  directives:
    description:
      - The key directives, shown first for every installation and SAPI (every other directive a file sets follows).
    type: list
    elements: str
    default: [opcache.enable, opcache.enable_cli, opcache.validate_timestamps, opcache.revalidate_freq,
              opcache.memory_consumption, opcache.file_cache, opcache.jit]
  title:
    description:
      - The title of the page.
    type: str
    default: PHP OPcache audit
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; RV(files) says where the report would go.
  diff_mode:
    support: none
  platform:
    platforms: all
    details: Runs on the controller.
notes:
  - C(changed) is true when a report file's content changed (the page carries the time it was generated).
seealso:
  - module: phpops.opcache.opcache_info
'''

EXAMPLES = r'''
- name: Audit every host
  phpops.opcache.opcache_info:
  register: opcache_audit
  ignore_errors: true
  ignore_unreachable: true

- name: Write the report on the controller
  phpops.opcache.opcache_audit_report:
    dest: ./opcache-report
  run_once: true
'''

RETURN = r'''
dest:
  description: The absolute path of the report directory.
  returned: always
  type: str
  sample: /home/ops/opcache-report
files:
  description: The absolute paths of the report files.
  returned: always
  type: dict
  sample: {"html": "/home/ops/opcache-report/index.html", "markdown": "/home/ops/opcache-report/summary.md",
           "json": "/home/ops/opcache-report/audit.json"}
hosts:
  description: The hosts in the order the report lists them (hosts with problems first).
  returned: always
  type: list
  elements: str
  sample: [host2, host1, host3]
counts:
  description: Per host, the number of findings per severity and the audit C(status) (V(ok), V(failed), V(unreachable), V(missing), V(skipped)).
  returned: always
  type: dict
  sample: {"host2": {"critical": 0, "warning": 2, "info": 1, "status": "ok"}}
not_audited:
  description: The hosts whose audit failed, that were unreachable or that have no result.
  returned: always
  type: list
  elements: str
'''
