# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the modules that analyse a host's PHP installations."""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  root:
    description:
      - Analyse the tree under this path as if it were C(/).
      - Symbolic links are resolved inside O(root), no command is run, and paths in the result are
        paths inside the tree (without the prefix). Use it for container images, chroots and tests.
    type: path
    default: /
  versions:
    description:
      - Only report installations of these PHP versions, and with O(live) only their PHP-FPM masters.
      - The rule every module of the collection uses, M(phpops.opcache.opcache_reset) included, an item selects the
        versions it is a dotted prefix of, V(8) selects 8.1 and 8.2.36, V(8.2) selects 8.2.36, V(8.2.3) does not.
    type: list
    elements: str
    version_added: 0.2.0
  sapis:
    description:
      - Only report these SAPIs (for example V(cli), V(fpm), V(apache2)).
      - A name that is no SAPI gets a warning listing the known ones.
    type: list
    elements: str
  directives:
    description:
      - Only report these directives; shell-style patterns such as V(opcache.jit*) are allowed.
      - Findings are computed from all directives regardless.
      - A name or pattern that matches no OPcache directive gets a warning listing the known ones.
    type: list
    elements: str
  environment:
    description:
      - Environment variables that C(${NAME}) references in ini files resolve to, as the PHP
        service sees them. Unset names resolve to an empty string, as in PHP.
    type: dict
    default: {}
  live:
    description:
      - Also ask every running PHP-FPM master, over FastCGI through its pools, which values it really uses, and compare
        with the files on disk (drift, files changed since the master started, stale cached scripts).
      - V(auto) does it when O(root=/) and a PHP-FPM master runs; V(true) fails when it cannot; V(false) never does.
      - When a file of a running master's configuration changed after it started, and for an FPM installation
        without a running master, C(php-fpm -t -y <php-fpm.conf>) tests whether a (re)start would succeed
        (finding C(FPM_CONFIG_INVALID) when not).
      - A small probe script is written to O(probe_dir) for each request (readable only by root and the pool's group,
        never under a document root) and removed on every path out; leftovers of interrupted runs are removed.
    type: str
    choices: [auto, 'true', 'false']
    default: auto
  verify_paths:
    description:
      - Application roots whose cached scripts are checked for stale bytecode (live view only).
      - When empty, the document roots the web server passes to the running masters' pools (nginx C(root) of server blocks
        whose C(fastcgi_pass) reaches a pool, read with C(nginx -T) when an nginx binary exists, at most 3 seconds; Apache
        C(DocumentRoot) with a C(proxy_fcgi) handler) are used when they are symlinks into a directory of releases
        (C(current -> releases/N)).
      - The same option as in M(phpops.opcache.opcache_reset). The old name O(paths) is deprecated.
    type: list
    elements: path
    default: []
    aliases: [paths]
  max_examples:
    description:
      - How many stale scripts to list as examples.
    type: int
    default: 10
  probe_dir:
    description:
      - Where the live probe is written. It must be allowed by the pools' C(open_basedir) and, to read the status,
        lie under C(opcache.restrict_api) when that is set. Not C(/tmp), which systemd's C(PrivateTmp) hides from PHP-FPM.
    type: path
    default: /run/phpops-opcache
  timeout:
    description:
      - Seconds to wait for each FastCGI connection and response (live view only).
      - The same option as in M(phpops.opcache.opcache_reset). The old name O(live_timeout) is deprecated.
    type: float
    default: 5.0
    aliases: [live_timeout]
'''

    # Which installations to analyse: also used by opcache_diagnose, which takes none of the other options.
    INSTALLATIONS = r'''
options:
  installations:
    description:
      - Analyse these installations instead of discovering them.
      - Each item names a PHP binary whose compiled-in paths are used, or a main ini file and scan directories.
    type: list
    elements: dict
    suboptions:
      binary:
        description:
          - A C(php) or C(php-fpm) binary; its version and compiled-in configuration paths are used.
        type: path
      php_ini:
        description:
          - The main ini file. An empty string means none (as with C(php -n) for the main file only).
        type: path
      scan_dirs:
        description:
          - Scan directories, in order, like the elements of E(PHP_INI_SCAN_DIR).
        type: list
        elements: path
      sapi:
        description:
          - The SAPI name to report this installation under.
        type: str
        default: cli
      fpm_conf:
        description:
          - The C(php-fpm.conf) to read pools from (with O(installations[].sapi=fpm)).
        type: path
      version:
        description:
          - The PHP version, when no binary tells it (decides defaults and which directives exist).
        type: str
  families:
    description:
      - Only report installations of these layout families.
    type: list
    elements: str
    choices: [debian, rhel, remi, alpine, arch, docker]
'''
