#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: opcache_config
short_description: Write the managed OPcache ini file of each PHP installation and SAPI and neutralise files that would override it
version_added: 0.1.0
description:
  - For every PHP installation and SAPI found on the host (or the chosen subset), validates the requested C(opcache.*)
    settings against the directive table of that PHP version, renders them so PHP reads them as meant, and writes them to
    a managed file in the SAPI's scan directory whose name sorts after the distribution's files
    (default C(zz-phpops-opcache.ini)). The file only sets directives; it never loads the extension.
  - Using the collection's ini engine, every other ini file that loads B(after) the managed file and assigns one of its
    directives is renamed to C(<name>.DISABLED) (a symbolic link is renamed itself, not its target). An existing
    C(.DISABLED) name is never overwritten; C(<name>.DISABLED.1), C(.2), ... are used instead.
  - A later file that also sets anything else (other directives, extension loads) is not renamed. By default the module
    fails naming the file, the lines and the options; with O(conflict_policy=comment_lines) only the conflicting lines are
    commented out, after a copy of the file is kept.
  - Every rename and edit is recorded in a manifest (O(manifest_path)) with the original path, the new path, the sha256 and
    the time; O(state=restored) puts every file back byte for byte and removes the managed files.
  - Earlier files that assign managed directives and FPM pool C(php_value)/C(php_admin_value) lines that override one are
    reported (RV(earlier), RV(pool_overrides), warnings).
  - Before anything is considered done, the real binaries check the result (C(php-fpm -t), C(php -r)); if they report an
    error, every change is rolled back and the module fails with PHP's message.
author:
  - phpops.opcache contributors (@phpops)
extends_documentation_fragment:
  - phpops.opcache.attributes
attributes:
  check_mode:
    support: full
    description: Computes and reports the exact changes (file diffs, renames) and changes nothing.
  diff_mode:
    support: full
    description: Shows the managed files' and edited files' diffs, and one entry per rename.
options:
  state:
    description:
      - V(present) writes the managed files and quarantines conflicting files.
      - V(restored) undoes everything recorded in the manifest and removes the manifest.
    type: str
    choices: [present, restored]
    default: present
  settings:
    description:
      - C(opcache.*) directives for every targeted installation and SAPI (for example the role's profile merged with its
        overrides). A V(null) value removes a directive from the managed set.
    type: dict
    default: {}
  version_settings:
    description:
      - Per PHP version (V(8.2) matches every 8.2.x), directives merged over O(settings).
    type: dict
    default: {}
  sapi_settings:
    description:
      - Per SAPI name (V(fpm), V(cli), V(apache2), ...), directives merged over O(settings) and O(version_settings).
    type: dict
    default: {}
  versions:
    description:
      - Only these PHP versions (V(8.2) style). Empty means every installation found.
    type: list
    elements: str
    default: []
  sapis:
    description:
      - Only these SAPIs. Empty means every SAPI found.
    type: list
    elements: str
    default: []
  profile:
    description:
      - The profile name written into the managed file's header (informational).
    type: str
    default: custom
  file_name:
    description:
      - Name of the managed file in each scan directory. It must sort after every file the distribution ships
        (byte order; V(zz-...) beats V(99-...)).
    type: str
    default: zz-phpops-opcache.ini
  conflict_policy:
    description:
      - What to do with a later-loading file that sets managed directives B(and) other settings.
      - V(fail) stops before anything is written, naming the file, lines and options.
      - V(comment_lines) keeps a copy of the file next to the manifest and comments out only the conflicting lines.
    type: str
    choices: [fail, comment_lines]
    default: fail
  pool_override_policy:
    description:
      - What to do with PHP-FPM pool C(php_value)/C(php_admin_value)/C(php_flag)/C(php_admin_flag) lines for a managed
        directive, which win over every ini file in that pool.
      - V(report) lists them in RV(pool_overrides) and warns.
      - V(comment_lines) keeps a copy of the pool file next to the manifest and comments out those lines (restorable).
    type: str
    choices: [report, comment_lines]
    default: report
  manifest_path:
    description:
      - Where the record of renames and edits is kept on the host.
    type: path
    default: /var/lib/phpops-opcache/manifest.json
  validate:
    description:
      - Run C(php-fpm -t) and C(php -r) for each targeted installation after writing, and roll everything back if they fail.
      - Skipped (with a warning) when O(root) is set.
    type: bool
    default: true
  root:
    description:
      - Work on the tree under this path as if it were C(/) (tests, images). No command is run then.
    type: path
    default: /
  environment:
    description:
      - Environment variables that C(${NAME}) references in ini files resolve to.
    type: dict
    default: {}
notes:
  - Runs with the Python standard library only.
  - Renamed files stay renamed when the profile changes; only O(state=restored) brings them back.
  - Restore refuses (and changes nothing) if a renamed file's original name exists again or a copy no longer matches its
    sha256.
seealso:
  - module: phpops.opcache.opcache_info
'''

EXAMPLES = r'''
- name: Production values for every PHP-FPM on the host
  phpops.opcache.opcache_config:
    profile: production
    sapis: [fpm]
    settings:
      opcache.enable: true
      opcache.validate_timestamps: false
      opcache.memory_consumption: 256
  register: opcache_config

- name: Comment out conflicting lines in mixed files instead of failing
  phpops.opcache.opcache_config:
    settings:
      opcache.jit: tracing
    sapi_settings:
      cli:
        opcache.jit: disable
    conflict_policy: comment_lines

- name: Put every renamed or edited file back
  phpops.opcache.opcache_config:
    state: restored
'''

RETURN = r'''
managed_files:
  description: The managed files, with whether each was changed.
  returned: state=present
  type: list
  elements: dict
  sample: [{"path": "/etc/php/8.2/fpm/conf.d/zz-phpops-opcache.ini", "changed": true, "sapis": ["fpm"]}]
renamed:
  description: Later-loading files moved out of PHP's way (C(path), C(to), C(directives), C(lines), C(symlink)).
  returned: state=present
  type: list
  elements: dict
commented:
  description: Files whose conflicting lines were commented out (C(path), C(lines), C(directives)).
  returned: state=present
  type: list
  elements: dict
earlier:
  description: Assignments of managed directives in files that load before the managed file (they lose).
  returned: state=present
  type: list
  elements: dict
conditional:
  description: Managed directives inside C([PATH=])/C([HOST=]) sections (applied per request by FPM/CGI).
  returned: state=present
  type: list
  elements: dict
pool_overrides:
  description: FPM pool C(php_value)/C(php_admin_value) lines that override a managed directive.
  returned: state=present
  type: list
  elements: dict
expected:
  description: Per installation, SAPI and directive, the value PHP's parser will hand the directive from the managed file.
  returned: state=present
  type: list
  elements: dict
  sample: [{"installation": "debian:/etc/php/8.2", "sapi": "fpm", "directive": "opcache.enable", "value": "1"}]
fpm_services:
  description: Service names of the PHP-FPM installations whose configuration changed (to reload); empty when O(root) is set.
  returned: always
  type: list
  elements: str
  sample: [php8.2-fpm]
fpm_confs:
  description: The C(php-fpm.conf) files of those installations, to select their masters with M(phpops.opcache.opcache_reset).
  returned: always
  type: list
  elements: str
  sample: [/etc/php/8.2/fpm/php-fpm.conf]
check_mode:
  description: Whether the module ran in check mode (then nothing was written and there is nothing to verify yet).
  returned: state=present
  type: bool
validation:
  description: The validation commands run, with their exit code and output.
  returned: when something changed and validation ran
  type: list
  elements: dict
restored:
  description: What the restore did (or would do in check mode).
  returned: state=restored
  type: list
  elements: dict
'''

import os
import posixpath
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS, HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.ini_quarantine import (
    QuarantineError,
    apply_plan,
    fpm_service_name,
    plan,
    plan_changes,
    plan_diff,
    restore,
)
from ansible_collections.phpops.opcache.plugins.module_utils.module_support import php_runner
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import DiscoveryError, discover

# Output lines that mean PHP did not take an ini file as written.
_PROBLEM_RE = re.compile(r'PHP:\s+syntax error|PHP (Parse|Fatal) error|PHP Warning|^\s*(Warning|Fatal error|Parse error):|\bERROR:', re.MULTILINE)


def _validation_commands(targets):
    seen = set()
    commands = []
    for target in targets:
        binary = target.inst.binaries.get(target.sapi_name)
        if not binary:
            continue
        if target.sapi_name == 'fpm':
            argv = [binary, '-t']
        elif target.sapi_name in ('cli', 'cgi'):
            argv = [binary, '-r', 'echo "phpops-opcache-ok";']
        else:
            continue
        if binary not in seen:
            seen.add(binary)
            commands.append(argv)
    return commands


def _problem_lines(output):
    return [line.strip() for line in output.splitlines() if _PROBLEM_RE.search(line)]


def _fpm_targets(fs, installations):
    """The PHP-FPM services and php-fpm.conf files of the changed installations (none under a root)."""
    services, confs = [], []
    for inst in installations:
        if fs.prefixed:
            break
        conf = inst.sapis['fpm'].fpm_conf
        name = fpm_service_name(inst)
        if name and name not in services:
            services.append(name)
        if conf and conf not in confs:
            confs.append(conf)
    return {'fpm_services': services, 'fpm_confs': confs}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'restored'], default='present'),
            settings=dict(type='dict', default={}),
            version_settings=dict(type='dict', default={}),
            sapi_settings=dict(type='dict', default={}),
            versions=dict(type='list', elements='str', default=[]),
            sapis=dict(type='list', elements='str', default=[]),
            profile=dict(type='str', default='custom'),
            file_name=dict(type='str', default='zz-phpops-opcache.ini'),
            conflict_policy=dict(type='str', choices=['fail', 'comment_lines'], default='fail'),
            pool_override_policy=dict(type='str', choices=['report', 'comment_lines'], default='report'),
            manifest_path=dict(type='path', default='/var/lib/phpops-opcache/manifest.json'),
            validate=dict(type='bool', default=True),
            root=dict(type='path', default='/'),
            environment=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.isdir(params['root']):
        module.fail_json(msg='root %s is not a directory' % params['root'])
    fs = HostFS(params['root'])
    run = None if fs.prefixed else php_runner(module)
    try:
        installations = discover(fs, run)
    except (DiscoveryError, HostFSError) as error:
        module.fail_json(msg='discovery failed: %s' % error)

    if params['state'] == 'restored':
        try:
            actions = restore(fs, params['manifest_path'], check_mode=module.check_mode)
        except QuarantineError as error:
            module.fail_json(msg='restore failed, nothing was changed: ' + '; '.join(error.errors), errors=error.errors)
        except (OSError, IOError) as error:
            module.fail_json(msg='restore failed part-way: %s (the manifest is kept; run it again)' % error)
        touched = set(posixpath.dirname(a['to']) for a in actions)
        changed_fpm = [inst for inst in installations
                       if inst.sapis.get('fpm') and touched & set(d.rstrip('/') for d in inst.sapis['fpm'].scan_dirs())]
        result = dict(changed=bool(actions), restored=actions, **_fpm_targets(fs, changed_fpm))
        if module._diff and actions:
            result['diff'] = [{'before_header': a.get('from', a['to']), 'after_header': a['to'],
                               'before': '%s %s\n' % (a['action'], a.get('from', a['to'])), 'after': 'file %s\n' % a['to']}
                              for a in actions]
        module.exit_json(**result)

    try:
        the_plan = plan(fs, run, params, installations)
    except QuarantineError as error:
        module.fail_json(msg='nothing was written: ' + '; '.join(error.errors), errors=error.errors)
    except HostFSError as error:
        module.fail_json(msg='nothing was written: cannot read %s: %s' % (error.path, error.reason))
    changed = plan_changes(the_plan)
    for warning in the_plan['warnings']:
        module.warn(warning)

    validation = []

    def validate():
        problems = []
        for argv in commands:
            rc, out, err = run(argv)
            output = (out or '') + (err or '')
            new_lines = [line for line in _problem_lines(output) if line not in baseline.get(argv[0], set())]
            validation.append({'command': argv, 'rc': rc, 'output': output.strip()})
            if rc != 0 or new_lines:
                problems.append('%s exited %d: %s' % (' '.join(argv), rc, ' | '.join(new_lines or [output.strip()])))
        return problems

    commands = []
    baseline = {}
    if changed and not module.check_mode:
        validator = None
        if params['validate']:
            if run is None:
                module.warn('root is set: the result is not validated with the real PHP binaries')
            else:
                commands = _validation_commands(the_plan['targets'])
                # Warnings PHP already prints before the change are not blamed on it; a failing exit code always is.
                for argv in commands:
                    rc, out, err = run(argv)
                    baseline[argv[0]] = set(_problem_lines((out or '') + (err or '')))
                validator = validate
        try:
            apply_plan(fs, the_plan, params['manifest_path'], params['profile'], validator)
        except QuarantineError as error:
            module.fail_json(msg='; '.join(error.errors), errors=error.errors, validation=validation)

    changed_fpm = [t.inst for t in the_plan['targets'] if t.sapi_name == 'fpm'] if changed else []
    result = dict(
        changed=changed,
        managed_files=[{'path': f['path'], 'changed': f['before'] != f['text'], 'sapis': [t.sapi_name for t in f['targets']],
                        'installation': f['targets'][0].inst.id} for f in the_plan['files']],
        renamed=[dict((k, r[k]) for k in ('path', 'to', 'directives', 'lines', 'symlink')) for r in the_plan['renames']],
        commented=[dict((k, c[k]) for k in ('path', 'lines', 'directives')) for c in the_plan['comments']],
        earlier=the_plan['earlier'],
        conditional=the_plan['conditional'],
        pool_overrides=the_plan['pool_overrides'],
        expected=the_plan['expected'],
        validation=validation,
        check_mode=module.check_mode,
        **_fpm_targets(fs, changed_fpm)
    )
    if module._diff and changed:
        result['diff'] = plan_diff(the_plan)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
