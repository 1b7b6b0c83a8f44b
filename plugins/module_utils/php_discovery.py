# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the PHP installations of a host and the ini chain of each of their SAPIs.

The filesystem layout tells where each distribution family keeps its files; a real binary, when
one is present and commands may run, confirms the version (and, for binaries given explicitly,
the compiled-in paths). Everything is described with target paths.
"""

from __future__ import annotations

import json
import re

# Debian's per-SAPI directories and the SAPI module name PHP uses for php-<name>.ini.
SAPI_MODULE_NAMES = {
    'cli': 'cli', 'fpm': 'fpm-fcgi', 'apache2': 'apache2handler', 'cgi': 'cgi-fcgi',
    'embed': 'embed', 'phpdbg': 'phpdbg', 'litespeed': 'litespeed',
}
FAMILIES = ('debian', 'rhel', 'remi', 'alpine', 'arch', 'docker', 'explicit')

_VERSION_DIR = re.compile(r'^\d+\.\d+$')


class DiscoveryError(Exception):
    """An explicit installation that cannot be used, with the reason."""


class SapiConfig(object):
    """Where one SAPI of one installation reads its configuration."""

    def __init__(self, name, config_dir, default_scan_dir, binary=None, fpm_conf=None, scan_dir_raw=None):
        self.name = name
        self.config_dir = config_dir
        self.default_scan_dir = default_scan_dir
        self.scan_dir_raw = scan_dir_raw
        self.binary = binary
        self.fpm_conf = fpm_conf
        self.main_ini_override = None

    def main_ini(self, fs):
        """The main ini PHP opens: php-<sapi>.ini, then php.ini, in the compiled-in directory."""
        if self.main_ini_override is not None:
            return self.main_ini_override or None
        if not self.config_dir:
            return None
        module_name = SAPI_MODULE_NAMES.get(self.name, self.name)
        for name in ('php-%s.ini' % module_name, 'php.ini'):
            path = self.config_dir.rstrip('/') + '/' + name
            if fs.is_file(path):
                return path
        return None

    def scan_dirs(self):
        # imported here: a module imports discovery (and starts its PHP commands, see
        # planned_commands) before the ini parser is loaded
        from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import split_scan_dir

        return split_scan_dir(self.scan_dir_raw, self.default_scan_dir)


class Installation(object):
    def __init__(self, family, version, base):
        self.family = family
        self.version = version
        self.version_source = 'layout' if version else None
        self.base = base
        self.sapis = {}
        self.binaries = {}

    @property
    def id(self):
        return '%s:%s' % (self.family, self.base)


def _add_sapi(fs, inst, name, config_dir, scan_dir, binary=None, fpm_conf=None):
    if binary and not fs.exists(binary):
        binary = None
    if fpm_conf and not fs.exists(fpm_conf):
        fpm_conf = None
    inst.sapis[name] = SapiConfig(name, config_dir, scan_dir, binary, fpm_conf)
    if binary:
        inst.binaries[name] = binary


def _debian(fs):
    found = []
    if not fs.is_dir('/etc/php'):
        return found
    for version in sorted(fs.listdir('/etc/php')):
        base = '/etc/php/' + version
        if not _VERSION_DIR.match(version) or not fs.is_dir(base):
            continue
        inst = Installation('debian', version, base)
        for sapi in ('cli', 'fpm', 'apache2', 'cgi', 'embed', 'phpdbg'):
            config_dir = base + '/' + sapi
            if not fs.is_dir(config_dir):
                continue
            binary = {'cli': '/usr/bin/php' + version, 'fpm': '/usr/sbin/php-fpm' + version,
                      'cgi': '/usr/bin/php-cgi' + version, 'phpdbg': '/usr/bin/phpdbg' + version}.get(sapi)
            fpm_conf = config_dir + '/php-fpm.conf' if sapi == 'fpm' else None
            _add_sapi(fs, inst, sapi, config_dir, config_dir + '/conf.d', binary, fpm_conf)
        if inst.sapis:
            found.append(inst)
    return found


def _single_tree(fs, family, base, config_dir, scan_dir, cli_binary, fpm_binary, fpm_conf, version=None):
    """Layouts where all SAPIs share one php.ini and scan dir (RHEL, Remi, Alpine, Arch, Docker)."""
    if not (fs.is_file(config_dir.rstrip('/') + '/php.ini') or fs.is_dir(scan_dir)):
        return None
    inst = Installation(family, version, base)
    _add_sapi(fs, inst, 'cli', config_dir, scan_dir, cli_binary)
    if fs.exists(fpm_conf) or (fpm_binary and fs.exists(fpm_binary)):
        _add_sapi(fs, inst, 'fpm', config_dir, scan_dir, fpm_binary, fpm_conf)
    return inst


def _others(fs):
    found = []
    rhel = _single_tree(fs, 'rhel', '/etc/php.ini', '/etc', '/etc/php.d', '/usr/bin/php', '/usr/sbin/php-fpm', '/etc/php-fpm.conf')
    if rhel and (fs.exists('/etc/php.ini') or fs.is_dir('/etc/php.d')):
        found.append(rhel)
    if fs.is_dir('/etc/opt/remi'):
        for name in sorted(fs.listdir('/etc/opt/remi')):
            match = re.match(r'^php(\d)(\d+)$', name)
            if not match:
                continue
            base = '/etc/opt/remi/' + name
            root = '/opt/remi/%s/root' % name
            inst = _single_tree(fs, 'remi', base, base, base + '/php.d', root + '/usr/bin/php', root + '/usr/sbin/php-fpm',
                                base + '/php-fpm.conf', '%s.%s' % match.groups())
            if inst:
                found.append(inst)
    for name in sorted(fs.listdir('/etc')) if fs.is_dir('/etc') else []:
        match = re.match(r'^php(\d)(\d*)$', name)
        if not match or not fs.is_dir('/etc/' + name):
            continue
        base = '/etc/' + name
        version = '%s.%s' % match.groups() if match.group(2) else None
        inst = _single_tree(fs, 'alpine', base, base, base + '/conf.d', '/usr/bin/' + name, '/usr/sbin/php-fpm' + name[3:],
                            base + '/php-fpm.conf', version)
        if inst:
            found.append(inst)
    for base, suffix in (('/etc/php', ''), ('/etc/php-legacy', '-legacy')):
        if fs.is_file(base + '/php.ini') and not any(_VERSION_DIR.match(n) for n in fs.listdir(base)):
            inst = _single_tree(fs, 'arch', base, base, base + '/conf.d', '/usr/bin/php' + suffix, '/usr/bin/php-fpm' + suffix,
                                base + '/php-fpm.conf')
            if inst:
                found.append(inst)
    docker = _single_tree(fs, 'docker', '/usr/local/etc/php', '/usr/local/etc/php', '/usr/local/etc/php/conf.d',
                          '/usr/local/bin/php', '/usr/local/sbin/php-fpm', '/usr/local/etc/php-fpm.conf')
    if docker:
        found.append(docker)
    return found


_PATHS_CODE = 'echo json_encode([PHP_VERSION, PHP_CONFIG_FILE_PATH, PHP_CONFIG_FILE_SCAN_DIR]);'


def _paths_argv(binary):
    """The command that asks a binary given explicitly for its version and compiled-in paths."""
    if binary.rsplit('/', 1)[-1].startswith('php-fpm'):
        return [binary, '-i']
    return [binary, '-n', '-r', _PATHS_CODE]


def _version_argv(binary):
    """The command that asks a discovered binary for its full version, cheaply: ``-n -v`` loads no extension."""
    return [binary, '-n', '-v']


def _probe_binary(run_command, binary):
    """Ask a real binary for its version and compiled-in paths. Returns a dict or None."""
    if binary.rsplit('/', 1)[-1].startswith('php-fpm'):
        rc, out, dummy = run_command(_paths_argv(binary))
        if rc != 0:
            return None
        info = {}
        for line in out.splitlines():
            key, sep, value = line.partition(' => ')
            if not sep:
                continue
            if key == 'PHP Version' and 'version' not in info:
                info['version'] = value.strip()
            elif key == 'Configuration File (php.ini) Path':
                info['config_dir'] = value.strip()
            elif key == 'Scan this dir for additional .ini files':
                info['scan_dir'] = None if value.strip() == '(none)' else value.strip()
        if 'version' not in info or 'config_dir' not in info:
            return None
        info.setdefault('scan_dir', None)
        return info
    rc, out, dummy = run_command(_paths_argv(binary))
    if rc != 0:
        return None
    try:
        version, config_dir, scan_dir = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return {'version': version, 'config_dir': config_dir, 'scan_dir': scan_dir or None}


def _explicit(fs, spec, run_command):
    """An installation given by the user: a binary, or a main ini and scan dirs."""
    sapi = spec.get('sapi') or 'cli'
    binary = spec.get('binary')
    inst = Installation('explicit', spec.get('version'), binary or spec.get('php_ini') or spec.get('name') or 'explicit')
    config = SapiConfig(sapi, None, None, binary, spec.get('fpm_conf'))
    if binary:
        if run_command is None:
            raise DiscoveryError('installation with binary %s: commands cannot run here (root is set); give php_ini and scan_dirs instead' % binary)
        if not fs.exists(binary):
            raise DiscoveryError('installation binary %s does not exist' % binary)
        info = _probe_binary(run_command, binary)
        if info is None:
            raise DiscoveryError('installation binary %s did not report its version and paths (is it a PHP binary?)' % binary)
        inst.version = inst.version or info['version']
        inst.version_source = 'binary'
        config.config_dir = info['config_dir']
        config.default_scan_dir = info['scan_dir']
        inst.binaries[sapi] = binary
    if spec.get('php_ini') is not None:
        config.main_ini_override = spec['php_ini']
    if spec.get('scan_dirs') is not None:
        config.default_scan_dir = None
        config.scan_dir_raw = ':'.join(spec['scan_dirs'])
    inst.sapis[sapi] = config
    return inst


def _layout(fs, families=None):
    """The installations the filesystem layout shows (no command runs)."""
    installations = _debian(fs) + _others(fs)
    if families:
        installations = [i for i in installations if i.family in families]
    return installations


def _version_binaries(inst):
    """The binaries that may confirm the version of a discovered installation, in the order asked."""
    return [inst.binaries[sapi] for sapi in ('cli', 'fpm', 'cgi', 'phpdbg') if inst.binaries.get(sapi)]


def planned_commands(fs, explicit=None, families=None):
    """The commands ``discover(fs, run_command, explicit, families)`` will run, in order, so that a
    caller can start them before slower work (``run_command.start``) and ``discover`` collects
    them. Only the first command of a binary given explicitly is known in advance."""
    if explicit:
        return [_paths_argv(spec['binary']) for spec in explicit if spec.get('binary') and fs.exists(spec['binary'])]
    # the first binary of each installation answers unless it is broken (then discover asks the next)
    return [_version_argv(binaries[0]) for binaries in (_version_binaries(inst) for inst in _layout(fs, families)) if binaries]


def discover(fs, run_command=None, explicit=None, families=None):
    """Every installation on the target. ``run_command(argv) -> (rc, out, err)`` runs a binary with
    PHPRC and PHP_INI_SCAN_DIR removed from its environment, to confirm versions and compiled-in
    paths; pass None when commands must not run (a ``root`` prefix)."""
    installations = []
    if explicit:
        for spec in explicit:
            installations.append(_explicit(fs, spec, run_command))
        if families:
            installations = [i for i in installations if i.family in families]
    else:
        installations = _layout(fs, families)
    if run_command is not None:
        for inst in installations:
            if inst.version_source == 'binary':
                continue
            for binary in _version_binaries(inst):
                info = _probe_binary_version(run_command, binary)
                if info:
                    inst.version = info
                    inst.version_source = 'binary'
                    break
    return installations


def _probe_binary_version(run_command, binary):
    """The full version (8.2.36) of a binary, or None."""
    rc, out, dummy = run_command(_version_argv(binary))
    if rc != 0:
        return None
    match = re.match(r'PHP (\d+\.\d+\.\d+\S*)', out.strip())
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------------------
# Selection: the one rule every module uses for versions and SAPIs
# ---------------------------------------------------------------------------------------------

def version_matches(version, wanted):
    """Whether an installation of ``version`` is selected by ``wanted`` (a list of versions; empty
    or None selects everything). Each item selects the versions it is a dotted prefix of: ``8``
    selects 8.1 and 8.2.36, ``8.2`` selects 8.2 and 8.2.36, ``8.2.3`` selects neither 8.2.36 nor 8.2.
    An installation whose version is unknown is selected only when nothing is asked for."""
    if not wanted:
        return True
    if not version:
        return False
    parts = str(version).strip().split('.')
    return any(parts[:len(want)] == want for want in (str(item).strip().split('.') for item in wanted))


def name_selected(name, wanted):
    """Whether a SAPI, pool or php-fpm.conf called ``name`` is selected by ``wanted`` (a list of
    exact names; empty or None selects every one)."""
    return not wanted or name in wanted


def unknown_sapis(wanted, installations=()):
    """The names of ``wanted`` that are no SAPI this collection knows nor one of ``installations`` has."""
    known = set(SAPI_MODULE_NAMES)
    for inst in installations:
        known.update(inst.sapis)
    return sorted(set(wanted or ()) - known), sorted(known)
