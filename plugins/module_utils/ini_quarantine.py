# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the role's managed OPcache ini file and neutralise the files that would beat it.

PHP reads the main php.ini, then every scan directory in byte order, and the last assignment of a
directive wins (see docs/architecture.md). The managed file is therefore named so that it sorts after
what distributions ship (``zz-phpops-opcache.ini``: ``z`` is 0x7A, after every digit and upper-case
letter, so it loads after ``10-opcache.ini`` and also after ``99-anything.ini``). A file that loads
*after* it and assigns one of its directives would still win; such a file is renamed to
``<name>.DISABLED`` (PHP reads only names whose last extension is exactly ``.ini``). Every change is
recorded in a manifest on the host so that :func:`restore` can put each file back byte for byte.

Everything here is planned first (:func:`plan`): nothing is written while any problem is known.
:func:`apply_plan` then writes atomically, runs the caller's validation, and undoes everything when
that validation fails.

The ini files are read only through the engine (``ini_chain.IniChain``, ``ini_parser``); discovery
of installations and SAPIs comes from ``php_discovery``.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile

from ansible_collections.phpops.opcache.plugins.module_utils.fpm_config import read_fpm_config
from ansible_collections.phpops.opcache.plugins.module_utils.fpm_service import service_name_for
from ansible_collections.phpops.opcache.plugins.module_utils.ini_chain import IniChain, list_scan_dir
from ansible_collections.phpops.opcache.plugins.module_utils.ini_parser import (
    ENTRY_VALUE,
    parse_ini_text,
)
from ansible_collections.phpops.opcache.plugins.module_utils.opcache_directives import (
    JIT_WORDS,
    STARTUP_ONLY,
    directives_for,
    known_directive_names,
    parse_version,
)

DEFAULT_FILE_NAME = 'zz-phpops-opcache.ini'
DEFAULT_MANIFEST = '/var/lib/phpops-opcache/manifest.json'
DISABLED_SUFFIX = '.DISABLED'
MAX_DISABLED_INDEX = 99
MANAGED_MARKER = '; Managed by phpops.opcache'
COMMENT_PREFIX = '; disabled by phpops.opcache: '
POLICIES = ('fail', 'comment_lines')
MANIFEST_VERSION = 1

# Ranges PHP accepts (ext/opcache/zend_accelerator_module.c OnUpdate* handlers). Outside of them
# PHP keeps its default and logs a warning nobody reads, so they are rejected here instead.
_RANGES = {
    'opcache.memory_consumption': (8, None),
    'opcache.interned_strings_buffer': (0, 4095),
    'opcache.max_accelerated_files': (200, 1000000),
    'opcache.max_wasted_percentage': (1, 50),
    'opcache.revalidate_freq': (0, None),
    'opcache.file_update_protection': (0, None),
    'opcache.force_restart_timeout': (0, None),
    'opcache.max_file_size': (0, None),
    'opcache.log_verbosity_level': (0, 4),
}
_BOOL_STRINGS = {'1': '1', '0': '0', 'on': '1', 'off': '0', 'true': '1', 'false': '0', 'yes': '1', 'no': '0', '': '0'}
_INT_RE = re.compile(r'^[+-]?(?:\d+|0[xX][0-9a-fA-F]+)$')
_SIZE_RE = re.compile(r'^\d+[KkMmGg]?$')
_FLOAT_RE = re.compile(r'^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$')
_JIT_DIGITS_RE = re.compile(r'^[0-9]{4}$')
_SAFE_STRING_RE = re.compile(r'^[^"\n\r\x00\\]*$')


class QuarantineError(Exception):
    """A problem that stops the run; ``errors`` holds every one found (each names file and option)."""

    def __init__(self, errors):
        if isinstance(errors, str):
            errors = [errors]
        super(QuarantineError, self).__init__('; '.join(errors))
        self.errors = list(errors)


# ---------------------------------------------------------------------------------------------
# values

def render_value(name, value, directive):
    """Render ``value`` for ``directive`` so PHP reads it as meant.

    Returns ``(text, php_value)``: the text after ``=`` and the string PHP's parser hands to the
    directive (checked by parsing the rendered line with the engine). Raises ValueError with a
    message naming the option."""
    kind = directive.type
    if value is None:
        raise ValueError('%s: no value given' % name)
    if kind == 'bool':
        if isinstance(value, bool):
            text = '1' if value else '0'
        elif isinstance(value, int) and value in (0, 1):
            text = str(value)
        elif isinstance(value, str) and value.strip().lower() in _BOOL_STRINGS:
            text = _BOOL_STRINGS[value.strip().lower()]
        else:
            raise ValueError('%s expects a boolean (true/false, 1/0, on/off), got %r' % (name, value))
    elif kind == 'int':
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not _INT_RE.match(str(value).strip()):
            raise ValueError('%s expects an integer, got %r' % (name, value))
        text = str(value).strip()
        limits = _RANGES.get(name)
        if limits is not None and not text.lower().startswith(('0x', '+0x', '-0x')):
            number = int(text)
            low, high = limits
            if (low is not None and number < low) or (high is not None and number > high):
                raise ValueError('%s must be between %s and %s, got %s' % (name, low, high if high is not None else 'unlimited', text))
    elif kind == 'size':
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not _SIZE_RE.match(str(value).strip()):
            raise ValueError('%s expects a size such as 64M or 0, got %r' % (name, value))
        text = str(value).strip()
    elif kind == 'float':
        if isinstance(value, bool) or not isinstance(value, (int, float, str)) or not _FLOAT_RE.match(str(value).strip()):
            raise ValueError('%s expects a number, got %r' % (name, value))
        text = str(value).strip()
    elif kind == 'jit':
        # YAML turns an unquoted off/on into a boolean: take it as the word meant.
        if isinstance(value, bool):
            value = 'on' if value else 'off'
        word = str(value).strip().lower()
        if word in JIT_WORDS:
            # Unquoted, the scanner would turn off/on into ""/"1" before opcache.jit sees them.
            text = '"%s"' % word
        elif _JIT_DIGITS_RE.match(word):
            text = word
        else:
            raise ValueError('%s expects one of %s or a four-digit CRTO number, got %r' % (name, ', '.join(sorted(JIT_WORDS)), value))
    else:  # string, path
        if not isinstance(value, str) or isinstance(value, bool):
            raise ValueError('%s expects a string, got %r' % (name, value))
        if not _SAFE_STRING_RE.match(value) or '${' in value:
            raise ValueError('%s: the value may not contain double quotes, backslashes, ${...} or line breaks: %r' % (name, value))
        # Always quoted: a bare path or word could be read as a boolean word or a constant.
        text = '"%s"' % value
    parsed = parse_ini_text('%s=%s\n' % (name, text))
    entries = [e for e in parsed.entries if e.kind == ENTRY_VALUE and e.key == name]
    if parsed.errors or len(entries) != 1:
        raise ValueError('%s: the value %r cannot be written so that PHP reads it back' % (name, value))
    php_value = entries[0].value
    if kind in ('string', 'path') and php_value != value:
        raise ValueError('%s: PHP would read %r instead of %r' % (name, php_value, value))
    return text, php_value


def check_settings(settings, version):
    """Validate ``{directive: value}`` against the directive table of ``version``.

    Returns ``(rendered, errors)``: rendered is ``{name: (text, php_value)}``."""
    table = directives_for(version)
    known = known_directive_names()
    rendered = {}
    errors = []
    label = 'PHP %s' % version if version else 'the newest PHP version known'
    for name in sorted(settings):
        value = settings[name]
        if value is None:
            continue
        if not name.startswith('opcache.'):
            errors.append('%s is not an OPcache directive: this role manages opcache.* only' % name)
            continue
        if name not in table:
            if name in known:
                errors.append('%s does not exist in %s (removed or not yet added)' % (name, label))
            else:
                errors.append('%s is not a known OPcache directive' % name)
            continue
        try:
            rendered[name] = render_value(name, value, table[name])
        except ValueError as error:
            errors.append(str(error))
    return rendered, errors


def render_file(rendered, profile, version, sapis):
    """The managed file's text: a header, then one directive per line, sorted. Never an
    extension line: loading OPcache stays with the distribution's file."""
    lines = [
        MANAGED_MARKER + ' (role phpops.opcache.opcache, module phpops.opcache.opcache_config).',
        '; Profile: %s. PHP %s, SAPI %s.' % (profile or 'custom', version or 'unknown', ', '.join(sorted(sapis))),
        '; Do not edit: change the role variables (opcache_profile, opcache_settings, opcache_sapi_settings,',
        '; opcache_version_settings) and run the play again. Undo everything with the role\'s "restore" entry point.',
        '; The name sorts after every distribution file (byte order, the last assignment wins); later files that',
        '; assign these directives are renamed to <name>.DISABLED and recorded in the manifest.',
    ]
    for name in sorted(rendered):
        lines.append('%s = %s' % (name, rendered[name][0]))
    return '\n'.join(lines) + '\n'


def merge_settings(base, version_settings, sapi_settings, version, sapi):
    """global < per version (``'8.2'`` matches 8.2.x) < per SAPI. A None value removes a directive."""
    merged = dict(base or {})
    wanted = parse_version(version)
    for key, values in sorted((version_settings or {}).items()):
        if wanted is not None and parse_version(key) == wanted:
            merged.update(values or {})
    merged.update((sapi_settings or {}).get(sapi) or {})
    return dict((k, v) for k, v in merged.items() if v is not None)


def version_matches(version, wanted_list):
    if not wanted_list:
        return True
    parsed = parse_version(version)
    return any(parse_version(w) == parsed for w in wanted_list)


def fpm_service_name(inst):
    """The init service of an installation's PHP-FPM (one naming rule for the whole collection)."""
    fpm = inst.sapis.get('fpm')
    return service_name_for(fpm.fpm_conf) if fpm else None


# ---------------------------------------------------------------------------------------------
# files

def _name_key(name):
    return name.encode('utf-8', 'surrogateescape')


def sha256_path(local_path):
    """sha256 of a file's bytes, or of ``symlink:<target>`` for a symlink (the link itself moves)."""
    if os.path.islink(local_path):
        return hashlib.sha256(b'symlink:' + os.readlink(local_path).encode('utf-8', 'surrogateescape')).hexdigest()
    digest = hashlib.sha256()
    with open(local_path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(65536), b''):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(local_path, data, mode=0o644, like=None):
    """Write ``data`` to a temporary file in the same directory and rename it into place."""
    directory = os.path.dirname(local_path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.phpops-opcache-', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if like is not None:
            os.chmod(tmp, stat.S_IMODE(like.st_mode))
            try:
                os.chown(tmp, like.st_uid, like.st_gid)
            except OSError:
                pass
        else:
            os.chmod(tmp, mode)
        os.rename(tmp, local_path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def free_disabled_name(fs, path, taken=()):
    """``<path>.DISABLED``, or the first free ``<path>.DISABLED.<n>``: an existing file is never
    overwritten (it may be an earlier quarantine of a file with the same name)."""
    candidates = [path + DISABLED_SUFFIX] + ['%s%s.%d' % (path, DISABLED_SUFFIX, n) for n in range(1, MAX_DISABLED_INDEX + 1)]
    for candidate in candidates:
        if candidate not in taken and not os.path.lexists(fs.local(candidate)):
            return candidate
    raise QuarantineError('%s: %s and %s.1 to .%d all exist; remove the stale copies' % (path, path + DISABLED_SUFFIX, DISABLED_SUFFIX, MAX_DISABLED_INDEX))


def load_manifest(fs, manifest_path):
    local = fs.local(manifest_path)
    if not os.path.exists(local):
        return {'version': MANIFEST_VERSION, 'entries': []}
    try:
        with open(local, 'rb') as handle:
            data = json.loads(handle.read().decode('utf-8'))
    except (IOError, OSError, ValueError) as error:
        raise QuarantineError('manifest %s cannot be read: %s' % (manifest_path, error))
    if not isinstance(data, dict) or not isinstance(data.get('entries'), list):
        raise QuarantineError('manifest %s is not a phpops.opcache manifest' % manifest_path)
    return data


def _manifest_bytes(manifest):
    return (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------------------------------------
# planning

class Target(object):
    """One SAPI of one installation to configure."""

    def __init__(self, inst, sapi_name, sapi, managed_path, settings, rendered):
        self.inst = inst
        self.sapi_name = sapi_name
        self.sapi = sapi
        self.managed_path = managed_path
        self.settings = settings
        self.rendered = rendered


def _load_order(fs, main_ini, scan_dirs, managed_path):
    """The files PHP reads, in order, with the managed file inserted where PHP would read it."""
    order = []
    if main_ini:
        order.append(main_ini)
    managed_dir = posixpath.dirname(managed_path)
    for directory in scan_dirs:
        files, dummy = list_scan_dir(fs, directory)
        files = [f for f in files if f != managed_path]
        if directory.rstrip('/') == managed_dir:
            files.append(managed_path)
            files.sort(key=lambda p: _name_key(posixpath.basename(p)))
        order.extend(files)
    return order


def _entries_by_file(config):
    """Per file, every assignment the engine attributed to it: value entries, extension loads,
    array entries and [PATH=]/[HOST=] entries."""
    by_file = {}
    for key, winner in config.settings.items():
        for assignment in [winner] + list(winner.overridden):
            by_file.setdefault(assignment.file, []).append(('value', key, assignment.line, assignment.value))
    for ext in config.extensions:
        by_file.setdefault(ext['file'], []).append((ext['kind'], ext['kind'], ext['line'], ext['value']))
    for key, items in config.arrays.items():
        for item in items:
            by_file.setdefault(item['file'], []).append(('array', key, item['line'], item['value']))
    for cond in config.conditional:
        by_file.setdefault(cond['file'], []).append(('conditional', cond['key'], cond['line'], cond['value']))
    for entries in by_file.values():
        entries.sort(key=lambda e: e[2] or 0)
    return by_file


def _describe(entries):
    parts = []
    for kind, key, line, value in entries:
        if kind in ('extension', 'zend_extension'):
            parts.append('%s=%s (line %s)' % (kind, value, line))
        elif kind == 'conditional':
            parts.append('%s inside a [PATH=]/[HOST=] section (line %s)' % (key, line))
        else:
            parts.append('%s (line %s)' % (key, line))
    return ', '.join(parts)


def _comment_out(text, lines, managed_keys):
    """Comment out the given 1-based lines; verify with the engine that only those assignments went."""
    raw_lines = text.splitlines(True)
    for number in sorted(set(lines)):
        if 1 <= number <= len(raw_lines):
            raw_lines[number - 1] = COMMENT_PREFIX + raw_lines[number - 1]
    new_text = ''.join(raw_lines)

    def others(parsed):
        return [(e.kind, e.key, e.offset, e.value, e.section) for e in parsed.entries
                if not (e.kind == ENTRY_VALUE and e.section is None and e.key in managed_keys)]

    before = parse_ini_text(text)
    after = parse_ini_text(new_text)
    still = [e for e in after.entries if e.kind == ENTRY_VALUE and e.section is None and e.key in managed_keys]
    if after.errors or still or others(before) != others(after):
        return None
    return new_text


def _comment_out_pool_lines(fs, path, lines):
    """Comment out pool override lines (php_value/php_admin_value/... [opcache.x]) of an FPM file;
    PHP-FPM reads its files line by line, so a commented line is simply gone. Returns the comments
    entry, or an error message naming the file."""
    if fs.is_link(path):
        return '%s: pool overrides in a symbolic link are not edited (the target may be shared); fix it by hand' % path
    text = fs.read_text(path)
    raw_lines = text.splitlines(True)
    directives = set()
    for number in lines:
        line = raw_lines[number - 1] if 1 <= number <= len(raw_lines) else ''
        match = re.match(r'\s*(php_(?:admin_)?(?:value|flag))\s*\[\s*([^\]]+?)\s*\]', line)
        if not match:
            return '%s line %d is not a pool php_value/php_admin_value line any more; run again' % (path, number)
        directives.add(match.group(2))
        raw_lines[number - 1] = COMMENT_PREFIX + line
    return {'path': path, 'lines': list(lines), 'directives': sorted(directives), 'before': text, 'after': ''.join(raw_lines)}


def plan(fs, run_command, params, discovered):
    """Work out every change for the options in ``params`` (see the module) and the installations
    ``discovered``. Raises QuarantineError listing every problem; nothing is written here."""
    errors = []
    warnings = []
    targets = []
    file_name = params.get('file_name') or DEFAULT_FILE_NAME
    if '/' in file_name or not file_name.endswith('.ini'):
        raise QuarantineError('file_name %s must be a plain file name ending in .ini' % file_name)
    policy = params.get('conflict_policy') or 'fail'
    wanted_sapis = params.get('sapis') or []
    for inst in discovered:
        if not version_matches(inst.version, params.get('versions')):
            continue
        for sapi_name in sorted(inst.sapis):
            if wanted_sapis and sapi_name not in wanted_sapis:
                continue
            sapi = inst.sapis[sapi_name]
            settings = merge_settings(params.get('settings'), params.get('version_settings'), params.get('sapi_settings'),
                                      inst.version, sapi_name)
            if not settings:
                continue
            rendered, problems = check_settings(settings, inst.version)
            errors.extend('%s %s: %s' % (inst.id, sapi_name, p) for p in problems)
            scan_dirs = sapi.scan_dirs()
            directory = sapi.default_scan_dir if sapi.default_scan_dir in scan_dirs else (scan_dirs[-1] if scan_dirs else None)
            if not directory:
                errors.append('%s %s: PHP reads no scan directory, so there is nowhere to put %s' % (inst.id, sapi_name, file_name))
                continue
            if not fs.is_dir(directory):
                errors.append('%s %s: scan directory %s does not exist' % (inst.id, sapi_name, directory))
                continue
            targets.append(Target(inst, sapi_name, sapi, directory.rstrip('/') + '/' + file_name, settings, rendered))
    if not targets and not errors:
        warnings.append('no PHP installation/SAPI matched (versions=%s, sapis=%s): nothing to configure'
                        % (params.get('versions') or 'all', wanted_sapis or 'all'))

    # One managed file per path; SAPIs that share a scan directory must agree on it.
    files = {}
    for target in targets:
        entry = files.get(target.managed_path)
        if entry is None:
            files[target.managed_path] = {'path': target.managed_path, 'rendered': target.rendered, 'targets': [target],
                                          'version': target.inst.version}
        else:
            if dict((k, v[0]) for k, v in entry['rendered'].items()) != dict((k, v[0]) for k, v in target.rendered.items()):
                errors.append('%s is read by several SAPIs (%s, %s) that were given different settings; they share one scan directory'
                              % (target.managed_path, ', '.join(t.sapi_name for t in entry['targets']), target.sapi_name))
            entry['targets'].append(target)
    for entry in files.values():
        sapis = [t.sapi_name for t in entry['targets']]
        entry['text'] = render_file(entry['rendered'], params.get('profile'), entry['version'], sapis)
        local = fs.local(entry['path'])
        if os.path.islink(local):
            errors.append('%s is a symbolic link; the managed file must be a regular file' % entry['path'])
            entry['before'] = None
        elif os.path.exists(local):
            with open(local, 'rb') as handle:
                entry['before'] = handle.read().decode('utf-8', 'surrogateescape')
        else:
            entry['before'] = None

    renames = {}
    comments = {}
    earlier = []
    conditional = []
    pool_overrides = []
    pool_lines = {}
    pool_policy = params.get('pool_override_policy') or 'report'
    expected = []
    env = dict((str(k), str(v)) for k, v in (params.get('environment') or {}).items())
    for target in targets:
        # Conflicts are judged on every directive asked for, valid or not, so that one bad value
        # does not also turn a later file into a "mixed" one in the error list.
        keys = set(target.settings)
        main_ini = target.sapi.main_ini(fs)
        scan_dirs = target.sapi.scan_dirs()
        config = IniChain(fs, env=env, version=target.inst.version).load(main_ini, scan_dirs)
        order = _load_order(fs, main_ini, scan_dirs, target.managed_path)
        position = dict((path, index) for index, path in enumerate(order))
        managed_index = position[target.managed_path]
        by_file = _entries_by_file(config)
        for name in sorted(target.rendered):
            expected.append({'installation': target.inst.id, 'sapi': target.sapi_name, 'directive': name,
                             'value': target.rendered[name][1], 'file': target.managed_path})
        for path in order:
            if path == target.managed_path or path not in by_file:
                continue
            entries = by_file[path]
            hits = [e for e in entries if e[0] == 'value' and e[1] in keys]
            cond_hits = [e for e in entries if e[0] == 'conditional' and e[1] in keys]
            for kind, key, line, value in cond_hits:
                conditional.append({'file': path, 'line': line, 'directive': key, 'value': value, 'sapi': target.sapi_name,
                                    'installation': target.inst.id})
            if not hits:
                continue
            if position[path] < managed_index:
                for kind, key, line, value in hits:
                    earlier.append({'file': path, 'line': line, 'directive': key, 'value': value, 'sapi': target.sapi_name,
                                    'installation': target.inst.id})
                continue
            if path in renames or path in comments:
                continue
            others = [e for e in entries if e not in hits]
            if not others:
                renames[path] = {'path': path, 'lines': [e[2] for e in hits], 'directives': sorted(set(e[1] for e in hits)),
                                 'symlink': fs.is_link(path)}
                continue
            if policy == 'comment_lines':
                local = fs.local(path)
                if os.path.islink(local):
                    errors.append('%s loads after %s and sets %s, but it is a symbolic link that also sets %s: '
                                  'comment_lines does not edit through links (the target may be shared); fix it by hand'
                                  % (path, target.managed_path, _describe(hits), _describe(others)))
                    continue
                text = fs.read_text(path)
                new_text = _comment_out(text, [e[2] for e in hits], keys)
                if new_text is None:
                    errors.append('%s: commenting out lines %s would change more than %s; fix it by hand'
                                  % (path, ', '.join(str(e[2]) for e in hits), ', '.join(sorted(set(e[1] for e in hits)))))
                    continue
                comments[path] = {'path': path, 'lines': [e[2] for e in hits], 'directives': sorted(set(e[1] for e in hits)),
                                  'before': text, 'after': new_text}
            else:
                errors.append('%s loads after %s and sets %s, but also sets %s, so it is not renamed. '
                              'Move those OPcache lines out of it, or set conflict_policy=comment_lines '
                              '(opcache_conflict_policy) to comment out only those lines after keeping a copy'
                              % (path, target.managed_path, _describe(hits), _describe(others)))
        if target.sapi_name == 'fpm' and target.sapi.fpm_conf:
            fpm = read_fpm_config(fs, target.sapi.fpm_conf, env)
            for pool in fpm.pools:
                for key in sorted(target.rendered):
                    winner, beaten = pool.effective_override(key)
                    if winner is None:
                        continue
                    if pool_policy == 'comment_lines':
                        for override in [winner] + beaten:
                            pool_lines.setdefault(override.file, set()).add(override.line)
                        continue
                    pool_overrides.append({'installation': target.inst.id, 'pool': pool.name, 'directive': key, 'kind': winner.kind,
                                           'value': winner.value, 'file': winner.file, 'line': winner.line,
                                           'takes_effect': key not in STARTUP_ONLY})
                    note = ''
                    if key in STARTUP_ONLY:
                        note = " (startup-only directive: PHP reports the pool value but uses the master's)"
                    warnings.append('%s:%s pool [%s] %s[%s] = %s overrides the managed value %s%s'
                                    % (winner.file, winner.line, pool.name, winner.kind, key, winner.value, target.rendered[key][1], note))
    for path in sorted(pool_lines):
        entry = _comment_out_pool_lines(fs, path, sorted(pool_lines[path]))
        if isinstance(entry, str):
            errors.append(entry)
        else:
            comments[path] = entry
    if errors:
        raise QuarantineError(errors)
    taken = set()
    for path in sorted(renames):
        renames[path]['to'] = free_disabled_name(fs, path, taken)
        taken.add(renames[path]['to'])
    return {
        'files': [files[p] for p in sorted(files)],
        'renames': [renames[p] for p in sorted(renames)],
        'comments': [comments[p] for p in sorted(comments)],
        'earlier': earlier,
        'conditional': conditional,
        'pool_overrides': pool_overrides,
        'expected': expected,
        'targets': targets,
        'warnings': warnings,
    }


def plan_changes(the_plan):
    """Whether applying ``the_plan`` changes anything."""
    return bool(the_plan['renames'] or the_plan['comments'] or any(f['before'] != f['text'] for f in the_plan['files']))


def plan_diff(the_plan):
    """Ansible diff entries: the managed files, the commented files, and one entry per rename."""
    diffs = []
    for entry in the_plan['files']:
        if entry['before'] != entry['text']:
            diffs.append({'before_header': entry['path'] if entry['before'] is not None else '%s (absent)' % entry['path'],
                          'after_header': entry['path'], 'before': entry['before'] or '', 'after': entry['text']})
    for entry in the_plan['comments']:
        diffs.append({'before_header': entry['path'], 'after_header': entry['path'] + ' (conflicting lines commented out)',
                      'before': entry['before'], 'after': entry['after']})
    for entry in the_plan['renames']:
        diffs.append({'before_header': entry['path'], 'after_header': '%s (renamed to %s)' % (entry['path'], entry['to']),
                      'before': 'file %s\n' % entry['path'], 'after': 'file %s\n' % entry['to']})
    return diffs


# ---------------------------------------------------------------------------------------------
# applying, with undo

class _Undo(object):
    def __init__(self):
        self.steps = []

    def rollback(self):
        problems = []
        for step in reversed(self.steps):
            try:
                step()
            except (OSError, IOError) as error:
                problems.append(str(error))
        self.steps = []
        return problems


def _write_with_undo(undo, local, data):
    if os.path.lexists(local):
        with open(local, 'rb') as handle:
            previous = handle.read()
        like = os.stat(local)
        atomic_write(local, data, like=like)
        undo.steps.append(lambda: atomic_write(local, previous, like=like))
    else:
        atomic_write(local, data)
        undo.steps.append(lambda: os.path.lexists(local) and os.unlink(local))


def _rename_with_undo(undo, src, dst):
    if os.path.lexists(dst):
        raise QuarantineError('%s already exists; it is never overwritten' % dst)
    os.rename(src, dst)
    undo.steps.append(lambda: os.rename(dst, src))


# Debian's phpenmod/phpdismod keep, per version and SAPI, which modules the admin or the package
# maintainer scripts enabled or disabled (/usr/lib/php/php-helper record_state). A package upgrade
# re-creates a conf.d link unless the module is recorded as disabled_by_admin, so renaming such a
# link records that state too, exactly as `phpdismod -v X.Y -s SAPI module` would.
DEBIAN_STATES = ('enabled_by_admin', 'enabled_by_maint', 'disabled_by_admin', 'disabled_by_maint')
_DEBIAN_CONF_D = re.compile(r'^/etc/php/(\d+\.\d+)/([^/]+)/conf\.d/[^/]+$')


def debian_module_of(fs, path):
    """(state_dir, module) when ``path`` is a Debian conf.d link into mods-available, else None."""
    match = _DEBIAN_CONF_D.match(path)
    if not match or not fs.is_link(path):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(path), fs.readlink(path)))
    module = re.match(r'^/etc/php/%s/mods-available/([^/]+)\.ini$' % re.escape(match.group(1)), target)
    if not module:
        return None
    return '/var/lib/php/modules/%s/%s' % (match.group(1), match.group(2)), module.group(1)


def debian_state(fs, state_dir, module):
    return [name for name in DEBIAN_STATES if os.path.lexists(fs.local(posixpath.join(state_dir, name, module)))]


def set_debian_state(fs, state_dir, module, wanted, undo=None):
    """Make exactly the ``wanted`` state files exist for ``module``; ``undo`` records the way back."""
    for name in DEBIAN_STATES:
        local = fs.local(posixpath.join(state_dir, name, module))
        exists = os.path.lexists(local)
        if name in wanted and not exists:
            os.makedirs(os.path.dirname(local), mode=0o755, exist_ok=True)
            with open(local, 'wb'):
                pass
            if undo is not None:
                undo.steps.append(lambda local=local: os.path.lexists(local) and os.unlink(local))
        elif name not in wanted and exists:
            os.unlink(local)
            if undo is not None:
                undo.steps.append(lambda local=local: open(local, 'wb').close())


def apply_plan(fs, the_plan, manifest_path, profile=None, validate=None):
    """Make the planned changes. ``validate()`` returns a list of error strings (empty when the real
    binaries accept the result); on any error every change is undone and QuarantineError raised."""
    undo = _Undo()
    manifest = load_manifest(fs, manifest_path)
    manifest_local = fs.local(manifest_path)
    now = _now()
    try:
        os.makedirs(os.path.dirname(manifest_local), mode=0o755, exist_ok=True)
        backup_dir = os.path.join(os.path.dirname(manifest_local), 'backups')
        recorded = set(e.get('original') for e in manifest['entries'])
        for entry in the_plan['files']:
            if entry['path'] not in recorded:
                item = {'action': 'managed_file', 'original': entry['path'], 'time': now, 'backup': None, 'sha256': None}
                if entry['before'] is not None:
                    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
                    item['sha256'] = sha256_path(fs.local(entry['path']))
                    item['backup'] = posixpath.join(posixpath.dirname(manifest_path), 'backups',
                                                    '%s-%s' % (item['sha256'][:16], posixpath.basename(entry['path'])))
                    shutil.copy2(fs.local(entry['path']), fs.local(item['backup']))
                manifest['entries'].append(item)
        for entry in the_plan['renames']:
            item = {'action': 'rename', 'original': entry['path'], 'moved_to': entry['to'],
                    'sha256': sha256_path(fs.local(entry['path'])), 'symlink': entry['symlink'],
                    'directives': entry['directives'], 'time': now, 'profile': profile}
            module = debian_module_of(fs, entry['path'])
            if module:
                item['debian_state'] = {'dir': module[0], 'module': module[1], 'before': debian_state(fs, module[0], module[1])}
            manifest['entries'].append(item)
        for entry in the_plan['comments']:
            os.makedirs(backup_dir, mode=0o700, exist_ok=True)
            digest = sha256_path(fs.local(entry['path']))
            backup = posixpath.join(posixpath.dirname(manifest_path), 'backups', '%s-%s' % (digest[:16], posixpath.basename(entry['path'])))
            shutil.copy2(fs.local(entry['path']), fs.local(backup))
            manifest['entries'].append({'action': 'comment_lines', 'original': entry['path'], 'backup': backup, 'sha256': digest,
                                        'lines': entry['lines'], 'directives': entry['directives'], 'time': now, 'profile': profile})
        # The manifest goes first: a crash half-way still leaves a record of what may have moved.
        _write_with_undo(undo, manifest_local, _manifest_bytes(manifest))
        for entry in the_plan['renames']:
            module = debian_module_of(fs, entry['path'])
            _rename_with_undo(undo, fs.local(entry['path']), fs.local(entry['to']))
            if module:
                set_debian_state(fs, module[0], module[1], ['disabled_by_admin'], undo)
        for entry in the_plan['comments']:
            _write_with_undo(undo, fs.local(entry['path']), entry['after'].encode('utf-8', 'surrogateescape'))
        for entry in the_plan['files']:
            if entry['before'] != entry['text']:
                _write_with_undo(undo, fs.local(entry['path']), entry['text'].encode('utf-8', 'surrogateescape'))
        problems = validate() if validate is not None else []
    except QuarantineError as error:
        rollback = undo.rollback()
        raise QuarantineError(error.errors + ['rollback: %s' % p for p in rollback])
    except (OSError, IOError) as error:
        rollback = undo.rollback()
        hint = ''
        if error.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
            hint = ' (is the file immutable (chattr +i), on a read-only filesystem, or not ours to change?); every change was rolled back'
        raise QuarantineError(['cannot apply: %s%s' % (error, hint)] + ['rollback: %s' % p for p in rollback])
    if problems:
        rollback = undo.rollback()
        raise QuarantineError(['validation failed, every change was rolled back: ' + p for p in problems]
                              + ['rollback: %s' % p for p in rollback])
    return manifest


# ---------------------------------------------------------------------------------------------
# restore

def plan_restore(fs, manifest_path):
    """What :func:`restore` would do: a list of actions, and problems that stop it."""
    manifest = load_manifest(fs, manifest_path)
    actions = []
    problems = []
    for item in reversed(manifest['entries']):
        original = item['original']
        if item['action'] == 'rename':
            moved = item['moved_to']
            if not os.path.lexists(fs.local(moved)):
                problems.append('%s: the quarantined copy %s is missing' % (original, moved))
            elif os.path.lexists(fs.local(original)):
                problems.append('%s exists again (a package update?); %s is kept, resolve by hand' % (original, moved))
            elif sha256_path(fs.local(moved)) != item['sha256']:
                problems.append('%s changed since it was quarantined (sha256 differs); not restoring it' % moved)
            else:
                actions.append({'action': 'rename', 'from': moved, 'to': original, 'debian_state': item.get('debian_state')})
        elif item['action'] == 'comment_lines':
            backup = item['backup']
            if not os.path.exists(fs.local(backup)) or sha256_path(fs.local(backup)) != item['sha256']:
                problems.append('%s: the backup %s is missing or changed' % (original, backup))
            else:
                actions.append({'action': 'copy_back', 'from': backup, 'to': original})
        elif item['action'] == 'managed_file':
            if item.get('backup'):
                actions.append({'action': 'copy_back', 'from': item['backup'], 'to': original})
            elif os.path.lexists(fs.local(original)):
                actions.append({'action': 'remove', 'to': original})
    return manifest, actions, problems


def restore(fs, manifest_path, check_mode=False):
    """Put every file recorded in the manifest back, byte for byte; then remove the manifest.
    Returns the actions taken (or that would be taken in check mode)."""
    manifest, actions, problems = plan_restore(fs, manifest_path)
    if problems:
        raise QuarantineError(problems)
    if check_mode:
        return actions
    for action in actions:
        target = fs.local(action['to'])
        if action['action'] == 'rename':
            os.rename(fs.local(action['from']), target)
            state = action.get('debian_state')
            if state:
                set_debian_state(fs, state['dir'], state['module'], state['before'])
        elif action['action'] == 'copy_back':
            source = fs.local(action['from'])
            with open(source, 'rb') as handle:
                data = handle.read()
            atomic_write(target, data, like=os.stat(source))
            os.unlink(source)
        elif action['action'] == 'remove':
            os.unlink(target)
    local = fs.local(manifest_path)
    if os.path.exists(local):
        os.unlink(local)
    backups = os.path.join(os.path.dirname(local), 'backups')
    if os.path.isdir(backups) and not os.listdir(backups):
        os.rmdir(backups)
    return actions
