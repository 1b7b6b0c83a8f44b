#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: opcache_diagnose
short_description: Answer "I changed the PHP code, why does the old code still run?" with ranked causes and evidence
version_added: 0.1.0
description:
  - Takes what you know (the files you changed, the application root, the URL that shows old code, the PHP-FPM you
    restarted) and checks every known cause in turn.
  - Returns the causes found, most likely first. Each cause has evidence (C(file:line), pool, master pid, timestamps)
    and the fix. Every check is listed in RV(checked) with its outcome, so "nothing explains it" says what was checked.
  - "Checks: OPcache off for the SAPI; C(opcache.validate_timestamps=0), with the file and line that turned it off and
    any fix file that lost the load order; a C(revalidate_freq) window still open for the changed file; C(file_update_protection)
    and a just-written file; a later file or a pool C(php_value)/C(php_admin_value) overriding a freshness setting;
    C(opcache.file_cache) bringing old bytecode back; a master started before its ini files changed (reload needed), or an
    OPcache restart still pending; the URL served by another PHP-FPM master or version than the one restarted (nginx
    C(nginx -T), Apache C(proxy_fcgi) handlers); a symlinked release and the realpath cache; C(php -i) (CLI) reading
    other values than PHP-FPM; a preloaded changed file; the running masters still holding an old compiled copy of the changed file."
  - Uses the same engine as M(phpops.opcache.opcache_info), including its live view of the running PHP-FPM masters.
  - Read-only. It never resets, reloads or restarts anything. The live view places a temporary probe script and removes it,
    as M(phpops.opcache.opcache_info) does; C(nginx -T) only reads and tests the nginx configuration.
author:
  - phpops.opcache maintainers (@phpops)
extends_documentation_fragment:
  - phpops.opcache.attributes
  - phpops.opcache.attributes.info_module
  - phpops.opcache.opcache_target.installations
options:
  changed_files:
    description:
      - The files you changed and expect to run. Their modification times are compared with C(revalidate_freq),
        C(file_update_protection), the masters' start and reset times, and the file cache; the running masters are asked
        whether they still cache an older copy.
    type: list
    elements: path
    default: []
    aliases: [changed_file]
  app_root:
    description:
      - The application root (for example C(/srv/app/current)). Symlinks on this path (a release layout) are examined,
        and the running masters' cached scripts under it are checked for stale copies.
    type: path
  url:
    description:
      - A URL that shows the old code (for example V(http://shop.example/checkout)). It is followed through the web server's
        configuration (server block or virtual host, location, C(fastcgi_pass) or C(proxy_fcgi) handler) to the PHP-FPM pool,
        master and PHP version that serve it. The URL is not requested.
    type: str
  restarted:
    description:
      - The PHP-FPM you restarted or reset, as a service name (V(php8.2-fpm)), a version (V(8.2)), a C(php-fpm.conf) path
        or a master pid. Without O(url) it narrows the checks to that PHP-FPM; with O(url) a different PHP-FPM serving
        the URL is reported.
    type: str
  web_server:
    description:
      - Which web server configuration to follow O(url) through. V(auto) uses nginx when the O(nginx_binary) exists and
        the Apache configuration otherwise.
    type: str
    choices: [auto, nginx, apache]
    default: auto
  nginx_binary:
    description:
      - The nginx binary to run C(nginx -T) with.
    type: str
    default: nginx
  nginx_conf:
    description:
      - The nginx main configuration file (C(nginx -T -c)); default the binary's compiled-in one.
    type: path
  apache_conf:
    description:
      - The Apache main configuration file; default the first of C(/etc/apache2/apache2.conf), C(/etc/httpd/conf/httpd.conf)
        and C(/etc/apache2/httpd.conf) that exists.
    type: path
  environment:
    description:
      - Environment variables that C(${NAME}) references in ini files resolve to, as the PHP service sees them.
    type: dict
    default: {}
  live:
    description:
      - Ask the running PHP-FPM masters (see M(phpops.opcache.opcache_info)). V(auto) when a master runs; V(true) fails
        when none can be asked; V(false) checks the files only (reload, pending restart and stale copies are then skipped).
    type: str
    choices: [auto, 'true', 'false']
    default: auto
  probe_dir:
    description:
      - Where the live view places its transient probe script.
    type: path
    default: /run/phpops-opcache
  timeout:
    description:
      - Seconds to wait for each pool's answer. The old name O(live_timeout) is deprecated.
    type: float
    default: 5.0
    aliases: [live_timeout]
notes:
  - Runs with the Python standard library only.
seealso:
  - module: phpops.opcache.opcache_info
  - module: phpops.opcache.opcache_reset
'''

EXAMPLES = r'''
- name: Why does the old code still run?
  phpops.opcache.opcache_diagnose:
    changed_files: [/srv/app/current/app/Http/Controllers/CallController.php]
    app_root: /srv/app/current
    url: https://shop.example/api/health
    restarted: php8.2-fpm
  register: why

- name: Show the causes, most likely first
  ansible.builtin.debug:
    msg: "{{ why.causes | map(attribute='title') | list }}"

- name: Fail when the incident's cause is back
  ansible.builtin.assert:
    that: why.causes | selectattr('code', 'equalto', 'VALIDATION_OFF') | list | length == 0
'''

RETURN = r'''
causes:
  description: What explains the old code, most likely first.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description:
        - A stable code. V(VALIDATION_OFF), V(REVALIDATE_WINDOW), V(FILE_UPDATE_PROTECTION), V(SETTING_OVERRIDDEN), V(FILE_CACHE),
          V(RELOAD_NEEDED), V(RESTART_PENDING), V(OTHER_FPM_SERVES_URL), V(SYMLINK_REALPATH_CACHE), V(CLI_VS_FPM),
          V(OPCACHE_OFF), V(PRELOADED), V(STALE_CACHED_COPY), V(STALE_COPY_INCONCLUSIVE).
      type: str
      sample: VALIDATION_OFF
    rank:
      description: 1 for the most likely cause.
      type: int
      sample: 1
    score:
      description: How directly the cause explains old code running (0-100); causes under 50 are possibilities, not explanations.
      type: int
      sample: 99
    title:
      description: One line for a human.
      type: str
      sample: "opcache.validate_timestamps is off (/etc/php/8.2/fpm/conf.d/99-opcache-optimization.ini:3): PHP never looks at changed files"
    evidence:
      description: What shows it, each with its C(file:line), pool, master pid or timestamps.
      type: list
      elements: str
    fix:
      description: What to do.
      type: str
    installation:
      description: The installation concerned, if any.
      type: str
    pool:
      description: The PHP-FPM pool concerned, if any.
      type: str
    pid:
      description: The PHP-FPM master concerned, if any.
      type: int
checked:
  description: Every check, in order, with its outcome (V(cause), V(ok) or V(skipped)) and a detail.
  returned: always
  type: list
  elements: dict
  sample: [{"check": "validate_timestamps", "outcome": "cause", "detail": "off for debian:/etc/php/8.2 fpm pool www master 1234"}]
explained:
  description: Whether a cause with a score of 50 or more was found.
  returned: always
  type: bool
summary:
  description: One line; when nothing explains it, says so and lists what was checked.
  returned: always
  type: str
served_by:
  description: The installations, SAPIs, pools and masters the checks looked at, and why (the URL's route, the restarted service, or all).
  returned: always
  type: list
  elements: dict
route:
  description: How O(url) was followed through the web server configuration (C(steps) with C(file:line), C(fastcgi) addresses).
  returned: when O(url) is given and the configuration could be read
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.phpops.opcache.plugins.module_utils.diagnose import diagnose, gather_facts, realpath_ttls
from ansible_collections.phpops.opcache.plugins.module_utils.host_fs import HostFS
from ansible_collections.phpops.opcache.plugins.module_utils.info_module import report_from_params, target_argument_spec
from ansible_collections.phpops.opcache.plugins.module_utils.webserver import (
    APACHE_MAIN_FILES,
    WebServerError,
    read_apache,
    read_local_text,
    route_apache,
    route_nginx,
    run_nginx_dump,
)

ENGINE_OPTIONS = ('installations', 'families', 'environment', 'live', 'probe_dir', 'timeout')


def engine_report(module, paths):
    """The opcache_info result for this host, from the shared reporting engine (the one call site):
    every SAPI and directive, the live view with stale scripts under ``paths``."""
    module.params.update(root='/', versions=None, sapis=None, directives=None, verify_paths=paths, max_examples=1000)
    return report_from_params(module).as_dict()


def web_route(module):
    """Follow the url through nginx (nginx -T) or Apache; (route, error)."""
    params = module.params
    if not params['url']:
        return None, None
    server = params['web_server']
    binary = params['nginx_binary']
    has_nginx = module.get_bin_path(binary) if not os.path.isabs(binary) else (os.access(binary, os.X_OK) and binary)
    try:
        if server == 'nginx' or (server == 'auto' and has_nginx):
            if not has_nginx:
                return None, 'web_server=nginx but nginx_binary %s is not found' % binary
            dump = run_nginx_dump(lambda argv: module.run_command(argv, check_rc=False), has_nginx, params['nginx_conf'])
            return route_nginx(dump, params['url']), None
        main = params['apache_conf'] or next((p for p in APACHE_MAIN_FILES if os.path.isfile(p)), None)
        if not main:
            return None, 'no nginx binary (%s) and no Apache configuration (%s): cannot follow url %s' % (binary, ', '.join(APACHE_MAIN_FILES),
                                                                                                          params['url'])
        return route_apache(read_apache(read_local_text, main), params['url']), None
    except WebServerError as error:
        return None, str(error)


def main():
    spec = dict((name, value) for name, value in target_argument_spec().items() if name in ENGINE_OPTIONS)
    spec.update(
        changed_files=dict(type='list', elements='path', default=[], aliases=['changed_file']),
        app_root=dict(type='path'),
        url=dict(type='str'),
        restarted=dict(type='str'),
        web_server=dict(type='str', default='auto', choices=['auto', 'nginx', 'apache']),
        nginx_binary=dict(type='str', default='nginx'),
        nginx_conf=dict(type='path'),
        apache_conf=dict(type='path'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    for path in params['changed_files']:
        if not os.path.exists(path):
            module.fail_json(msg='changed_files: %s does not exist' % path)
    if params['app_root'] and not os.path.isdir(params['app_root']):
        module.fail_json(msg='app_root: %s is not a directory' % params['app_root'])
    if params['url'] and '://' not in params['url']:
        module.fail_json(msg='url: %r is not an absolute URL (http://host/path)' % params['url'])
    if params['nginx_conf'] and not os.path.isfile(params['nginx_conf']):
        module.fail_json(msg='nginx_conf: %s is not a file' % params['nginx_conf'])
    if params['apache_conf'] and not os.path.isfile(params['apache_conf']):
        module.fail_json(msg='apache_conf: %s is not a file' % params['apache_conf'])
    paths = sorted(set([os.path.dirname(p) for p in params['changed_files']] + [os.path.realpath(os.path.dirname(p)) for p in params['changed_files']] +
                       ([params['app_root'], os.path.realpath(params['app_root'])] if params['app_root'] else [])))
    route, route_error = web_route(module)
    report = engine_report(module, paths)
    facts = gather_facts(report, params['changed_files'], params['app_root'], realpath_ttls(HostFS('/'), report))
    facts.update(route=route, route_error=route_error, restarted=params['restarted'])
    result = diagnose(report, facts)
    if route is not None:
        result['route'] = route
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
