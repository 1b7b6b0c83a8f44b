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
  - B(One owner.) Using the collection's ini engine, every other active ini file that assigns a managed directive is
    neutralised, wherever it loads (O(scope=all), the default; O(scope=later) touches only files that load after the managed
    file, the behaviour before 0.2.0). So after the run the managed file is the only active file that assigns each managed
    directive, and removing it later cannot bring an old value such as the incident's C(opcache.validate_timestamps=0) back.
  - A file whose only settings are managed directives (comments, blank lines and section headers aside) is renamed to
    C(<name>.DISABLED) (a symbolic link is renamed itself, not its target). An existing C(.DISABLED) name is never
    overwritten; C(<name>.DISABLED.1), C(.2), ... are used instead.
  - Any other file (the main C(php.ini), a file that also loads an extension or sets other directives, a file with bytes the
    engine cannot account for such as NUL bytes) is never renamed. Only the conflicting lines are commented out after a copy
    is kept (O(conflict_policy=comment_lines), the default with O(scope=all)), or the module fails naming the file, the lines
    and the options (O(conflict_policy=fail), the default with O(scope=later)). The extension load is never touched. A
    symbolic link (Debian's C(conf.d/10-opcache.ini)) is edited in its target only when every SAPI that reads the target is
    targeted with those directives.
  - A file the engine cannot read completely (too large, unreadable) makes one owner unprovable, so the module fails naming it.
  - Every rename and edit is recorded in a manifest (O(manifest_path)) with the original path, the new path, the sha256 and
    the time; O(state=restored) puts every file back byte for byte and removes the managed files.
  - With O(scope=later), earlier files that assign managed directives are reported (RV(earlier)). FPM pool
    C(php_value)/C(php_admin_value) lines that override one are reported (RV(pool_overrides), warnings).
  - Before anything is considered done, the real binaries check the result (C(php-fpm -t), C(php-fpm -i), C(php -i)). A new
    warning, a failing exit code or a managed directive they show with another value rolls every change back and the module
    fails with PHP's message.
  - After writing, the files are read again with the engine. RV(mismatches) lists every managed directive that is not what
    was asked, every other active assignment of it (O(scope=all)) and every FPM pool line that overrides it.
  - Changing runs on one host are serialised with a lock file next to the manifest (C(<manifest_path>.lock)); a run that
    cannot get it within O(lock_timeout) fails naming the process that holds it and since when.
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
      - V(present) writes the managed files and neutralises conflicting files.
      - V(restored) undoes everything recorded in the manifest and removes the manifest, the copies and the directories it
        created. Without a manifest it names the managed files (by their header), the C(.DISABLED) files and the commented
        lines it finds, and fails when a managed file exists, since nothing can then be undone with certainty.
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
  scope:
    description:
      - Which files that assign a managed directive are neutralised.
      - V(all) (one owner) every active ini file, wherever it loads. Example, the incident this collection exists for.
        C(99-opcache-optimization.ini) with C(opcache.validate_timestamps=0) loads before C(zz-phpops-opcache.ini) and loses
        today, but would win again as soon as the managed file is removed; with V(all) it is renamed to C(.DISABLED).
      - V(later) only files that load after the managed file (they would beat it); earlier files are left as they are
        and reported in RV(earlier). For users who want the distribution's files untouched.
    type: str
    choices: [all, later]
    default: all
  conflict_policy:
    description:
      - What to do with a file that sets managed directives B(and) anything else (or the main C(php.ini)).
      - V(fail) stops before anything is written, naming the file, lines and options.
      - V(comment_lines) keeps a copy of the file next to the manifest and comments out only the conflicting lines.
      - V(auto) is V(comment_lines) with O(scope=all) and V(fail) with O(scope=later).
    type: str
    choices: [auto, fail, comment_lines]
    default: auto
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
      - Run C(php-fpm -t), C(php-fpm -i) and C(php -i) for each targeted installation after writing, and roll everything back
        if they fail, warn, or show a managed directive with another value.
      - Skipped (with a warning) when O(root) is set.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for another changing run on the same host (the lock C(<manifest_path>.lock)).
    type: float
    default: 60
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
  - A package upgrade that brings a neutralised file back is neutralised again by the next run (C(.DISABLED.1), ...);
    restore then puts the file back once and removes the older copy when it has the same bytes.
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

- name: Only neutralise files that load after the managed file; fail on mixed ones
  phpops.opcache.opcache_config:
    settings:
      opcache.jit: tracing
    sapi_settings:
      cli:
        opcache.jit: disable
    scope: later
    conflict_policy: fail

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
  description: Files moved out of PHP's way (C(path), C(to), C(directives), C(lines), C(symlink)).
  returned: state=present
  type: list
  elements: dict
commented:
  description: Files whose conflicting lines were commented out (C(path), C(lines), C(directives), C(via) the links that read it).
  returned: state=present
  type: list
  elements: dict
earlier:
  description: With O(scope=later), assignments of managed directives in files that load before the managed file (they lose).
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
mismatches:
  description:
    - After writing (not in check mode), every managed directive that is not what was asked, every other active assignment
      of it (O(scope=all)) and every FPM pool line that overrides it, with a message naming the winner. Empty when the
      managed file is the only owner of every managed directive.
  returned: state=present
  type: list
  elements: dict
  sample: [{"installation": "debian:/etc/php/8.2", "sapi": "fpm", "pool": "www", "directive": "opcache.validate_timestamps",
            "wanted": "0", "got": "1", "file": "/etc/php/8.2/fpm/pool.d/www.conf", "line": 3,
            "message": "debian:/etc/php/8.2 fpm pool [www]: opcache.validate_timestamps is 1, not 0 (winner: php_admin_value at ...)"}]
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
msg:
  description: For O(state=restored), what was found and done (for example that there was nothing to restore).
  returned: state=restored
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import service_name_for
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS, HostFSError
from ansible_collections.phpops.opcache.plugins.module_utils.module_support import php_runner
from ansible_collections.phpops.opcache.plugins.module_utils.php_discovery import DiscoveryError, discover
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.apply import apply_plan
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.plan import (
    POLICIES,
    POOL_POLICIES,
    SCOPES,
    Request,
    plan,
    plan_changes,
    plan_diff,
)
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.restore import reads_any, restore
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.store import (
    DEFAULT_FILE_NAME,
    DEFAULT_MANIFEST,
    LOCK_WAIT,
    HostLock,
    QuarantineError,
    remove_empty_dirs,
)
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.validate import Validation
from ansible_collections.phpops.opcache.plugins.module_utils.quarantine.verify import mismatches


def _fpm_targets(fs, installations):
    """The PHP-FPM services and php-fpm.conf files of the changed installations (none under a root)."""
    services, confs = [], []
    for inst in installations:
        if fs.prefixed:
            break
        conf = inst.sapis['fpm'].fpm_conf
        name = service_name_for(conf) if conf else None
        if name and name not in services:
            services.append(name)
        if conf and conf not in confs:
            confs.append(conf)
    return {'fpm_services': services, 'fpm_confs': confs}


def _lock(module, fs):
    try:
        return HostLock(fs, module.params['manifest_path'], module.params['lock_timeout']).acquire()
    except QuarantineError as error:
        module.fail_json(msg='; '.join(error.errors), errors=error.errors)
    except (OSError, IOError) as error:
        module.fail_json(msg='cannot create the lock %s.lock: %s' % (module.params['manifest_path'], error))


def run_restore(module, fs, installations):
    manifest_path = module.params['manifest_path']
    lock = None
    if not module.check_mode and os.path.exists(fs.local(manifest_path)):
        lock = _lock(module, fs)
    try:
        outcome = restore(fs, manifest_path, installations, check_mode=module.check_mode)
    except QuarantineError as error:
        module.fail_json(msg='restore failed, nothing was changed: ' + '; '.join(error.errors), errors=error.errors)
    except (OSError, IOError) as error:
        module.fail_json(msg='restore failed part-way: %s (the manifest is kept; run it again)' % error)
    finally:
        if lock is not None:
            lock.release(remove=True)
    if not module.check_mode:
        remove_empty_dirs([fs.local(d) for d in outcome['created_dirs']])
    for warning in outcome['warnings']:
        module.warn(warning)
    actions = outcome['actions']
    touched = [a['to'] for a in actions] + [v for a in actions for v in a.get('via', [])]
    changed_fpm = [inst for inst in installations if inst.sapis.get('fpm') and reads_any(fs, inst.sapis['fpm'], touched)]
    result = dict(changed=bool(actions), restored=actions, msg='; '.join(outcome['notes']) or 'restored %d file(s)' % len(actions),
                  **_fpm_targets(fs, changed_fpm))
    if module._diff and actions:
        result['diff'] = [{'before_header': a.get('from', a['to']), 'after_header': a['to'],
                           'before': '%s %s\n' % (a['action'], a.get('from', a['to'])), 'after': 'file %s\n' % a['to']}
                          for a in actions]
    module.exit_json(**result)


def make_plan(module, fs, request, installations):
    try:
        return plan(fs, request, installations)
    except QuarantineError as error:
        module.fail_json(msg='nothing was written: ' + '; '.join(error.errors), errors=error.errors)
    except HostFSError as error:
        module.fail_json(msg='nothing was written: cannot read %s: %s' % (error.path, error.reason))


def apply_locked(module, fs, request, installations, run, created_dirs):
    """Plan again under the host lock and apply, validating with the real binaries."""
    the_plan = make_plan(module, fs, request, installations)
    validation = None
    if not plan_changes(the_plan):
        return the_plan, []
    if module.params['validate']:
        if run is None:
            module.warn('root is set: the result is not validated with the real PHP binaries')
        else:
            validation = Validation(run, the_plan['targets'])
            validation.baseline()
    try:
        apply_plan(fs, the_plan, module.params['manifest_path'], request.profile, validation, created_dirs)
    except QuarantineError as error:
        module.fail_json(msg='; '.join(error.errors), errors=error.errors, validation=validation.runs if validation else [])
    return the_plan, validation.runs if validation else []


def request_from(params):
    return Request(settings=params['settings'], version_settings=params['version_settings'], sapi_settings=params['sapi_settings'],
                   versions=params['versions'], sapis=params['sapis'], profile=params['profile'], file_name=params['file_name'],
                   scope=params['scope'], conflict_policy=params['conflict_policy'],
                   pool_override_policy=params['pool_override_policy'], environment=params['environment'])


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
            file_name=dict(type='str', default=DEFAULT_FILE_NAME),
            scope=dict(type='str', choices=list(SCOPES), default='all'),
            conflict_policy=dict(type='str', choices=list(POLICIES), default='auto'),
            pool_override_policy=dict(type='str', choices=list(POOL_POLICIES), default='report'),
            manifest_path=dict(type='path', default=DEFAULT_MANIFEST),
            validate=dict(type='bool', default=True),
            lock_timeout=dict(type='float', default=LOCK_WAIT),
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
        run_restore(module, fs, installations)

    request = request_from(params)
    the_plan = make_plan(module, fs, request, installations)
    changed = plan_changes(the_plan)
    validation = []
    if changed and not module.check_mode:
        lock = _lock(module, fs)
        try:
            the_plan, validation = apply_locked(module, fs, request, installations, run, lock.created_dirs)
        finally:
            # Nothing recorded (failed, rolled back, or another run did it): leave no lock or directory behind.
            unused = not os.path.exists(fs.local(params['manifest_path']))
            lock.release(remove=unused)
            if unused:
                remove_empty_dirs([fs.local(d) for d in lock.created_dirs])
        changed = plan_changes(the_plan)
    for warning in the_plan['warnings']:
        module.warn(warning)
    changed_fpm = [t.inst for t in the_plan['targets'] if t.sapi_name == 'fpm'] if changed else []
    result = dict(
        changed=changed,
        managed_files=[{'path': f['path'], 'changed': f['before'] != f['text'], 'sapis': [t.sapi_name for t in f['targets']],
                        'installation': f['targets'][0].inst.id} for f in the_plan['files']],
        renamed=[dict((k, r[k]) for k in ('path', 'to', 'directives', 'lines', 'symlink')) for r in the_plan['renames']],
        commented=[dict((k, c[k]) for k in ('path', 'lines', 'directives', 'via')) for c in the_plan['comments']],
        earlier=the_plan['earlier'],
        conditional=the_plan['conditional'],
        pool_overrides=the_plan['pool_overrides'],
        expected=the_plan['expected'],
        mismatches=[] if module.check_mode else mismatches(fs, request, the_plan),
        validation=validation,
        check_mode=module.check_mode,
        **_fpm_targets(fs, changed_fpm)
    )
    if module._diff and changed:
        result['diff'] = plan_diff(the_plan)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
