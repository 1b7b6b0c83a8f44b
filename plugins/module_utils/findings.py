# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings: what an operator must know about the OPcache configuration, each with a stable code,
a one-line message and the file:line evidence. The codes are part of the public interface
(docs/findings.md); never rename one."""

from __future__ import annotations

import re

from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import (
    STARTUP_ONLY,
    known_directive_names,
    opcache_is_builtin,
    parse_version,
)

CRITICAL = 'critical'
WARNING = 'warning'
INFO = 'info'


def php_bool(value):
    """zend_ini_parse_bool: on/yes/true (any case) or a non-zero leading integer."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ('on', 'yes', 'true'):
        return True
    match = re.match(r'\s*[+-]?\d+', value)
    return bool(match and int(match.group(0)) != 0)


def evidence(file_path, line):
    if file_path is None:
        return 'default'
    return '%s:%s' % (file_path, line) if line else file_path


class Finding(object):
    __slots__ = ('code', 'severity', 'message', 'evidence', 'installation', 'sapi', 'pool', 'directive')

    def __init__(self, code, severity, message, evidence_list, installation=None, sapi=None, pool=None, directive=None):
        self.code = code
        self.severity = severity
        self.message = message
        self.evidence = evidence_list
        self.installation = installation
        self.sapi = sapi
        self.pool = pool
        self.directive = directive

    def as_dict(self):
        return dict((name, getattr(self, name)) for name in self.__slots__)


def _opcache_lines(config):
    return [e for e in config.extensions if e['kind'] == 'zend_extension' and re.search(r'(^|/)(php_)?opcache(\.so|\.dll)?$', e['value'].strip())]


def opcache_loaded(config, version):
    """Whether the chain loads OPcache (always true on PHP 8.5+, where it is built in)."""
    return opcache_is_builtin(version) or bool(_opcache_lines(config))


def sapi_findings(inst_id, version, sapi_name, config, directive_table):
    """Findings about one SAPI's file chain."""
    found = []

    def add(code, severity, message, ev, directive=None):
        found.append(Finding(code, severity, message, ev, inst_id, sapi_name, None, directive))

    for problem in config.problems:
        severity = WARNING if problem.code in ('INI_SYNTAX_ERROR', 'INI_FILE_UNREADABLE', 'INI_FILE_TOO_LARGE', 'INI_BINARY_CONTENT') else INFO
        add(problem.code, severity, problem.message, [evidence(problem.file, problem.line)])
    for ref in config.env_references:
        if ref['source'] != 'directive':
            add('INI_ENV_REFERENCE', INFO,
                '${%s} in %s comes from the environment (%s here); the PHP service may run with another environment'
                % (ref['name'], ref['file'], 'unset, so empty' if ref['value'] is None else repr(ref['value'])), [ref['file']])
    settings = config.settings
    for key, assignment in sorted(settings.items()):
        if not key.startswith('opcache.'):
            continue
        if assignment.overridden:
            files = set([assignment.file] + [o.file for o in assignment.overridden])
            if len(files) > 1:
                losers = ', '.join('%s=%r at %s' % (o.file, o.value, evidence(o.file, o.line)) for o in assignment.overridden)
                add('OPC_DIRECTIVE_MULTIPLE_FILES', WARNING,
                    '%s is set in %d files; %s wins with %r because it loads last (overrides %s)'
                    % (key, len(files), evidence(assignment.file, assignment.line), assignment.value, losers),
                    [evidence(assignment.file, assignment.line)] + [evidence(o.file, o.line) for o in assignment.overridden], key)
        if key not in directive_table:
            reason = 'does not exist in PHP %s' % version if key in known_directive_names() else 'is not an OPcache directive (typo?)'
            add('OPC_UNKNOWN_DIRECTIVE', WARNING, '%s %s; PHP ignores it' % (key, reason), [evidence(assignment.file, assignment.line)], key)
    for key in list(settings) + [c['key'] for c in config.conditional]:
        if key.startswith('#') and key.lstrip('#').strip().startswith('opcache.'):
            assignment = settings.get(key)
            where = evidence(assignment.file, assignment.line) if assignment else 'conditional section'
            add('OPC_HASH_COMMENT', WARNING, "%s: a line starting with '#' is not a comment since PHP 7.0; it sets a directive named %r" % (where, key),
                [where], key)
    for entry in config.conditional:
        if entry['key'].startswith('opcache.'):
            add('OPC_CONDITIONAL_SECTION', INFO, '%s in [%s] at %s applies only to FPM/CGI requests that match it, never to the CLI'
                % (entry['key'], entry['section'], evidence(entry['file'], entry['line'])), [evidence(entry['file'], entry['line'])], entry['key'])
    loaders = _opcache_lines(config)
    if opcache_is_builtin(version):
        for line in loaders:
            add('OPC_ZEND_EXTENSION_BUILTIN', WARNING, 'OPcache is built into PHP %s; %s loads it again and PHP warns "Module Zend OPcache is already loaded"'
                % (version, evidence(line['file'], line['line'])), [evidence(line['file'], line['line'])])
    elif len(loaders) > 1:
        add('OPC_EXTENSION_LOADED_TWICE', WARNING, 'OPcache is loaded by %d lines (%s); PHP warns that it is already loaded'
            % (len(loaders), ', '.join(evidence(x['file'], x['line']) for x in loaders)), [evidence(x['file'], x['line']) for x in loaders])
    elif not loaders:
        add('OPC_NOT_LOADED', WARNING if sapi_name == 'fpm' else INFO,
            'no zend_extension=opcache line in the %s chain: OPcache is not loaded, its settings have no effect' % sapi_name, [])
    return found


def effective_findings(inst_id, version, sapi_name, values, origins, pools_info):
    """Findings about effective values (after the file chain and, for FPM, per pool)."""
    found = []

    def add(code, severity, message, ev, pool=None, directive=None):
        found.append(Finding(code, severity, message, ev, inst_id, sapi_name, pool, directive))

    enable_key = 'opcache.enable_cli' if sapi_name == 'cli' else 'opcache.enable'
    disabled_by = [key for key in (enable_key, 'opcache.enable') if not php_bool(values.get(key))]
    if sapi_name == 'cli':
        # PHP's own default (opcache.enable_cli=0) is how every CLI starts: nothing to do about it.
        disabled_by = [key for key in disabled_by if origins.get(key) != 'default']
    if disabled_by:
        key = disabled_by[0]
        add('OPC_DISABLED', WARNING if sapi_name != 'cli' else INFO,
            'OPcache is disabled for %s: %s=%r (%s)' % (sapi_name, key, values.get(key), origins.get(key)), [origins.get(key)], directive=key)
    if not php_bool(values.get('opcache.validate_timestamps')):
        add('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING,
            'opcache.validate_timestamps is off (%s): changed PHP files are never picked up until the cache is reset or the service reloaded'
            % origins.get('opcache.validate_timestamps'), [origins.get('opcache.validate_timestamps')], directive='opcache.validate_timestamps')
        if values.get('opcache.file_cache'):
            add('OPC_FILE_CACHE_NO_VALIDATION', CRITICAL,
                'opcache.file_cache=%s (%s) with validate_timestamps off: stale bytecode survives opcache_reset(), reload and restart; '
                'purge the file cache on deploy' % (values['opcache.file_cache'], origins.get('opcache.file_cache')),
                [origins.get('opcache.file_cache'), origins.get('opcache.validate_timestamps')], directive='opcache.file_cache')
    found.extend(_jit_rewrite_findings(inst_id, version, sapi_name, values, origins, pools_info))
    chain_validates = php_bool(values.get('opcache.validate_timestamps'))
    for pool in pools_info:
        override = pool['overrides'].get('opcache.validate_timestamps')
        if chain_validates and override is not None and not php_bool(override['value']):
            # the files say on, the pool says off: an audit of the files alone would miss it
            where = evidence(override['file'], override['line'])
            add('OPC_VALIDATE_TIMESTAMPS_OFF', WARNING,
                'pool %s turns opcache.validate_timestamps off with %s (%s): changed PHP files this pool serves are never picked up '
                'until the cache is reset or the service reloaded' % (pool['name'], override['kind'], where),
                [where], pool['name'], 'opcache.validate_timestamps')
            if values.get('opcache.file_cache'):
                add('OPC_FILE_CACHE_NO_VALIDATION', CRITICAL,
                    'opcache.file_cache=%s (%s) with validate_timestamps off in pool %s: stale bytecode survives opcache_reset(), reload and '
                    'restart; purge the file cache on deploy' % (values['opcache.file_cache'], origins.get('opcache.file_cache'), pool['name']),
                    [origins.get('opcache.file_cache'), where], pool['name'], 'opcache.file_cache')
        for key, override in sorted(pool['overrides'].items()):
            if key in STARTUP_ONLY:
                add('OPC_POOL_STARTUP_ONLY', WARNING,
                    'pool %s sets %s=%r with %s (%s), but %s is fixed when the FPM master starts: '
                    'ini_get() shows the pool value, PHP does not use it'
                    % (pool['name'], key, override['value'], override['kind'], evidence(override['file'], override['line']), key),
                    [evidence(override['file'], override['line'])], pool['name'], key)
    per_pool_vt = dict((p['name'], p['settings'].get('opcache.validate_timestamps', {}).get('value')) for p in pools_info)
    if len(set(php_bool(v) for v in per_pool_vt.values())) > 1:
        add('OPC_POOL_VALIDATE_TIMESTAMPS_MIXED', WARNING,
            'pools of one FPM master disagree on opcache.validate_timestamps (%s): they share one cache, '
            'and a script cached by a pool with it off is never revalidated by the others'
            % ', '.join('%s=%r' % item for item in sorted(per_pool_vt.items())), [], directive='opcache.validate_timestamps')
    return found


def jit_empty_means_disable(version):
    """Whether ``opcache.jit=""`` (what an unquoted off/no/false/none/null becomes) disables the JIT
    for good. PHP 8.0-8.2 read "" as the number 0, which is "off": a pool or ini_set() may still
    switch the JIT on (checked against PHP 8.2). PHP 8.3's zend_jit_config() reads "" as "disable",
    and then a pool's or a script's opcache.jit is refused (php-src source; GH-14267, on 8.3.7).
    The other rewrite, on/yes/true -> "1", never matters: "1" is a synonym of "tracing" since 8.0."""
    wanted = parse_version(version)
    return wanted is None or wanted >= (8, 3)


def _jit_rewrite_findings(inst_id, version, sapi_name, values, origins, pools_info):
    jit_origin = origins.get('opcache.jit')
    if values.get('opcache.jit') != '' or jit_origin in (None, 'default') or not jit_empty_means_disable(version):
        return []
    found = []
    for pool in pools_info:
        override = pool['overrides'].get('opcache.jit')
        if override is None or override['value'].lower() in ('', 'disable', '0', 'off', 'no', 'false'):
            continue    # the pool wants the JIT off: refused or not, it is off
        where = evidence(override['file'], override['line'])
        found.append(Finding(
            'OPC_JIT_WORD_REWRITTEN', WARNING,
            'opcache.jit at %s reaches PHP %s as "" (the ini scanner rewrites an unquoted off/no/false/none/null), which PHP reads as '
            '"disable", not "off": pool %s sets opcache.jit=%r (%s) but PHP refuses it and the JIT stays off there; '
            'write opcache.jit="off" (quoted) to let pools switch it on' % (jit_origin, version, pool['name'], override['value'], where),
            [jit_origin, where], inst_id, sapi_name, pool['name'], 'opcache.jit'))
    return found


FRESHNESS_DIRECTIVES = ('opcache.validate_timestamps', 'opcache.revalidate_freq', 'opcache.enable', 'opcache.file_cache', 'opcache.jit')


def cross_sapi_findings(inst_id, sapi_values, directives=FRESHNESS_DIRECTIVES):
    """CLI and FPM reading different values for the directives that decide freshness."""
    found = []
    if 'cli' not in sapi_values or 'fpm' not in sapi_values:
        return found
    for key in directives:
        cli_value, cli_origin = sapi_values['cli'].get(key, (None, None))
        fpm_value, fpm_origin = sapi_values['fpm'].get(key, (None, None))
        if cli_value != fpm_value:
            found.append(Finding('OPC_SAPI_MISMATCH', INFO,
                                 '%s differs between CLI (%r, %s) and FPM (%r, %s): a check with `php -i` does not describe what PHP-FPM runs'
                                 % (key, cli_value, cli_origin, fpm_value, fpm_origin), [cli_origin, fpm_origin], inst_id, None, None, key))
    return found
