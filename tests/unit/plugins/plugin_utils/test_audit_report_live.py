# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's rows for each running master's JIT, capacity, releases and preload (issue 11, item 8),
on real live results:

fixtures/machine_live.json          `opcache_info live=true` on a Debian 12 machine (php8.2-fpm as the
                                    distribution ships it, one pool; settings trimmed to the key
                                    directives and the ones a file sets)
fixtures/live_releases_master.json  the live view (live.report.live_report, what opcache_info returns under
                                    live.masters) of a private php-fpm 8.2 master started with opcache.jit=tracing,
                                    jit_buffer_size=32M, interned_strings_buffer=1, max_accelerated_files=200 and
                                    opcache.preload=<site>/current/preload.php, after three deploys of 70 scripts
                                    (current -> releases/1, 2, 3; each release requested while current), asked with
                                    verify_paths=[<site>/current]; its temporary paths renamed to /var/www/shop
                                    and /opt/shop/fpm. It matches no installation of the machine's result, as a
                                    private master would not."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
import yaml

from ansible_collections.phpops.opcache.plugins.modules import opcache_info
from ansible_collections.phpops.opcache.plugins.plugin_utils import audit_report as ar

HERE = os.path.dirname(__file__)
COLLECTION = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
NO_PATHS = 'not checked (give the application roots: opcache_audit_paths / option verify_paths)'

MACHINE_ROWS = [
    ('master', 'master', 'pid 3330, /etc/php/8.2/fpm/php-fpm.conf', False),
    ('started', 'started', '2026-12-02 16:49:56 UTC', False),
    ('php', 'PHP', '8.2.36', False),
    ('jit', 'JIT', 'off (opcache.jit=(empty))', False),
    ('memory', 'memory', '8.7 MiB used, 0 B wasted, of 128.0 MiB (6.8%)', False),
    ('interned-strings', 'interned strings', '2.2 MiB of 8.0 MiB used (27.5%), 4544 strings', False),
    ('key-slots', 'key slots', '0 of 16229 used (0.0%), 0 scripts cached', False),
    ('hit-rate', 'hit rate', '0.0% (0 hits, 176 misses)', False),
    ('restarts', 'restarts', 'out of memory 0, hash 0, manual 0', False),
    ('cache-full', 'cache full', 'no', False),
    ('restart-pending', 'restart pending', 'no', False),
    ('releases', 'releases', NO_PATHS, False),
    ('preload', 'preload', 'none (opcache.preload is not set)', False),
    ('stale-scripts', 'stale scripts', NO_PATHS, False),
]

RELEASES = ('/var/www/shop/current -> /var/www/shop/releases/3: current release 3, 70 scripts, 73.8 KiB; no longer current: '
            '1 (72 scripts, 75.1 KiB), 2 (70 scripts, 73.8 KiB); 142 scripts, 149.0 KiB held by dead releases: reset OPcache after each deploy')
PRELOAD = ('/var/www/shop/current/preload.php (user www-data): 2 scripts preloaded, 1 function, 0 classes, 9.0 KiB; changed on disk since '
           'the master preloaded: /var/www/shop/current/preload.php: restart (or reload) php-fpm, opcache_reset() keeps preloaded scripts; '
           'lies in the releases directory /var/www/shop/releases: it pins the release preloaded at the start')
KEYS = '213 of 223 used (95.5%), 213 scripts cached; raise opcache.max_accelerated_files to 463 (now 200)'
RELEASE_ROWS = [
    ('master', 'master', 'pid 15294, /opt/shop/fpm/php-fpm.conf', False),
    ('started', 'started', '2026-12-02 16:56:22 UTC', False),
    ('php', 'PHP', '8.2.36', False),
    ('jit', 'JIT', 'tracing, running (enabled, on); buffer 32.0 MiB, 32.0 MiB free', False),
    ('memory', 'memory', '1.4 MiB used, 0 B wasted, of 128.0 MiB (1.1%)', False),
    ('interned-strings', 'interned strings', '457.7 KiB of 1.0 MiB used (44.7%), 4130 strings', False),
    ('key-slots', 'key slots', KEYS, True),
    ('hit-rate', 'hit rate', '0.0% (0 hits, 212 misses)', False),
    ('restarts', 'restarts', 'out of memory 0, hash 0, manual 0', False),
    ('cache-full', 'cache full', 'no', False),
    ('restart-pending', 'restart pending', 'no', False),
    ('releases', 'releases', RELEASES, True),
    ('preload', 'preload', PRELOAD, True),
    ('stale-scripts', 'stale scripts', '0 of 70 cached scripts under the application roots', False),
]


def fixture(name):
    with open(os.path.join(HERE, 'fixtures', name + '.json'), encoding='utf-8') as handle:
        return json.load(handle)


def machine_master():
    return fixture('machine_live')['live']['masters'][0]


def release_master():
    return fixture('live_releases_master')['master']


def with_release_master():
    """The machine's result with the private master beside its own, as opcache_info reports both."""
    result = fixture('machine_live')
    extra = fixture('live_releases_master')
    result['live']['masters'].append(extra['master'])
    result['findings'].extend(extra['findings'])
    return result


def section(page, start, end):
    piece = page[page.index(start):]
    return piece[:piece.index(end)]


# ---------------------------------------------------------------------------------------------
# the rows, whole

def test_rows_of_the_machine_master():
    assert ar.master_facts(machine_master()) == MACHINE_ROWS


def test_rows_of_a_master_with_jit_releases_preload_and_keys_near_the_limit():
    assert ar.master_facts(release_master()) == RELEASE_ROWS
    codes = sorted(f['code'] for f in fixture('live_releases_master')['findings'])
    # what is marked is what the findings say
    assert codes == ['LIVE_KEYS_NEAR_LIMIT', 'LIVE_OLD_RELEASES_CACHED', 'LIVE_PRELOAD_CHANGED', 'LIVE_PRELOAD_IN_RELEASE']


def test_terminal_summary_rows():
    lines = ar.summary_lines(with_release_master())
    machine = lines.index('    running: master 3330 started 2026-12-02 16:49:56 UTC; stale scripts: ' + NO_PATHS)
    assert lines[machine + 1:machine + 9] == [
        '      JIT: off (opcache.jit=(empty))',
        '      memory: 8.7 MiB used, 0 B wasted, of 128.0 MiB (6.8%)',
        '      interned strings: 2.2 MiB of 8.0 MiB used (27.5%), 4544 strings',
        '      key slots: 0 of 16229 used (0.0%), 0 scripts cached',
        '      hit rate: 0.0% (0 hits, 176 misses)',
        '      restarts: out of memory 0, hash 0, manual 0',
        '      releases: ' + NO_PATHS,
        '      preload: none (opcache.preload is not set)',
    ]
    private = lines.index('running PHP-FPM master 15294 (/opt/shop/fpm/php-fpm.conf): no matching installation')
    assert lines[private + 1:private + 11] == [
        '    running: master 15294 started 2026-12-02 16:56:22 UTC; stale scripts: 0 of 70 cached scripts under the application roots',
        '      JIT: tracing, running (enabled, on); buffer 32.0 MiB, 32.0 MiB free',
        '      memory: 1.4 MiB used, 0 B wasted, of 128.0 MiB (1.1%)',
        '      interned strings: 457.7 KiB of 1.0 MiB used (44.7%), 4130 strings',
        '      ! key slots: ' + KEYS,
        '      hit rate: 0.0% (0 hits, 212 misses)',
        '      restarts: out of memory 0, hash 0, manual 0',
        '      ! releases: ' + RELEASES,
        '      ! preload: ' + PRELOAD,
        'findings: 0 critical, 4 warning, 0 info',
    ]


def test_html_rows_and_their_marks():
    page = ar.render_html(ar.build_model({'web': with_release_master()}, generated='2026-01-01 00:00:00 UTC'))
    machine = section(page, '<h4>running PHP-FPM master 3330</h4>', '</dl>')
    for key, label, value, _bad in MACHINE_ROWS:
        assert '<dt data-fact="%s">%s</dt><dd data-fact="%s">%s</dd>' % (key, ar.esc(label), key, ar.esc(value)) in machine
    private = section(page, '<h3>running PHP-FPM master 15294 (no matching installation)</h3>', '</dl>')
    for key, label, value, bad in RELEASE_ROWS:
        assert '<dt data-fact="%s">%s</dt><dd data-fact="%s"%s>%s</dd>' % (
            key, ar.esc(label), key, ' class="bad"' if bad else '', ar.esc(value)) in private
    assert private.count('class="bad"') == 3
    assert 'No findings' not in page and page.count('data-code="LIVE_') == 4


def test_markdown_rows():
    markdown = ar.render_markdown(ar.build_model({'web': with_release_master()}, generated='x')).splitlines()
    start = markdown.index('### running PHP-FPM masters without a matching installation')
    assert markdown[start + 2].startswith('- running master 15294 (`/opt/shop/fpm/php-fpm.conf`): started: 2026-12-02 16:56:22 UTC; PHP: 8.2.36; '
                                          'cache full: no; restart pending: no; stale scripts: 0 of 70')
    assert markdown[start + 3:start + 11] == [
        '  - JIT: tracing, running (enabled, on); buffer 32.0 MiB, 32.0 MiB free',
        '  - memory: 1.4 MiB used, 0 B wasted, of 128.0 MiB (1.1%)',
        '  - interned strings: 457.7 KiB of 1.0 MiB used (44.7%), 4130 strings',
        '  - **key slots**: ' + ar.md_text(KEYS),
        '  - hit rate: 0.0% (0 hits, 212 misses)',
        '  - restarts: out of memory 0, hash 0, manual 0',
        '  - **releases**: ' + ar.md_text(RELEASES),
        '  - **preload**: ' + ar.md_text(PRELOAD),
    ]
    assert '  - preload: none (opcache.preload is not set)' in markdown


# ---------------------------------------------------------------------------------------------
# the other states

def test_jit_disabled_by_an_extension_and_unavailable():
    master = release_master()
    master['jit'].update(enabled=False, on=False, state='disabled', suspects=['xdebug'], buffer_size=0, buffer_free=0)
    row = [r for r in ar.master_facts(master) if r[0] == 'jit']
    assert row == [('jit', 'JIT', 'tracing configured (buffer 32.0 MiB) but NOT running (enabled no, on no): disabled by xdebug (hooks the executor)',
                    True)]
    master['jit']['suspects'] = []
    assert ar.jit_text(master['jit']) == ("tracing configured (buffer 32.0 MiB) but NOT running (enabled no, on no): the master's error log "
                                          "has PHP's startup warning", True)
    master['jit'].update(state='unavailable', enabled=None, on=None)
    assert ar.jit_text(master['jit']) == ('tracing configured, but this PHP is built without JIT', False)
    master['jit'].update(state='off', reason='opcache.jit_buffer_size=0 turns the JIT off')
    assert ar.jit_text(master['jit']) == ('off (opcache.jit_buffer_size=0 turns the JIT off)', False)


def test_memory_and_interned_strings_near_the_limit_and_restarts():
    master = release_master()
    capacity = master['capacity']
    capacity['memory'].update(used=120 * 1048576, free=4 * 1048576, wasted=4 * 1048576, used_percent=96.9)
    capacity['oom_restarts'] = 2
    capacity['near_limit'] = [
        {'code': 'LIVE_MEMORY_NEAR_LIMIT', 'directive': 'opcache.memory_consumption', 'configured': '128', 'suggested': 256, 'used_percent': 96.9},
        {'code': 'LIVE_INTERNED_STRINGS_NEAR_LIMIT', 'directive': 'opcache.interned_strings_buffer', 'configured': '1', 'suggested': 8,
         'used_percent': 44.7},
    ]
    rows = dict((r[0], r[2:]) for r in ar.master_facts(master))
    assert rows['memory'] == ('120.0 MiB used, 4.0 MiB wasted, of 128.0 MiB (96.9%); raise opcache.memory_consumption to 256 (now 128)', True)
    assert rows['interned-strings'] == ('457.7 KiB of 1.0 MiB used (44.7%), 4130 strings; raise opcache.interned_strings_buffer to 8 (now 1)', True)
    assert rows['key-slots'] == ('213 of 223 used (95.5%), 213 scripts cached', False)
    assert rows['restarts'] == ('out of memory 2, hash 0, manual 0', True)


def test_releases_without_dead_ones_and_without_a_layout():
    master = release_master()
    view = master['releases'][0]
    view['releases'] = [r for r in view['releases'] if r['current']]
    view.update(old_releases=[], old_scripts=0, old_memory=0)
    expected = '/var/www/shop/current -> /var/www/shop/releases/3: current release 3, 70 scripts, 73.8 KiB; no dead release cached'
    assert ar.releases_text(master['releases']) == (expected, False)
    view['releases'] = []
    assert ar.releases_text(master['releases'])[0].endswith('current release 3, not cached; no dead release cached')
    master['releases'] = None      # verify_paths given (stale_scripts ran) but no current -> releases/N root
    assert [r for r in ar.master_facts(master) if r[0] == 'releases'] == [
        ('releases', 'releases', 'no current -> releases/N layout under the application roots', False)]


# ---------------------------------------------------------------------------------------------
# missing data: never a traceback

def test_master_not_probed():
    master = machine_master()
    master.update(status=None, status_error=None, jit=None, capacity=None, releases=None, preload=None, stale_scripts=None, probe_pool=None,
                  version=None)
    master['pools'][0].update(ok=False, error='pool www (listen /run/php/php8.2-fpm.sock): connection refused')
    rows = ar.master_facts(master)
    assert rows[2:] == [
        ('jit', 'JIT', 'not probed', False),
        ('capacity', 'capacity', 'not probed', False),
        ('releases', 'releases', 'not probed', False),
        ('preload', 'preload', 'not probed', False),
        ('stale-scripts', 'stale scripts', NO_PATHS, False),
    ]
    result = fixture('machine_live')
    result['live']['masters'] = [master]
    assert '      JIT: not probed' in ar.summary_lines(result)
    page = ar.render_html(ar.build_model({'web': result}))
    assert '<dd data-fact="capacity">not probed</dd>' in page


def test_an_older_result_without_the_fields():
    master = machine_master()
    for key in ('jit', 'capacity', 'releases', 'preload'):
        del master[key]
    rows = ar.master_facts(master)
    keys = [r[0] for r in rows]
    assert not set(keys) & {'jit', 'interned-strings', 'key-slots', 'hit-rate', 'releases', 'preload', 'capacity'}
    # what the status says, as before
    assert ('memory', 'memory', '9 of 128 MiB used (7%)', False) in rows
    assert ('cached-scripts', 'cached scripts', '0 (hit rate 0.0%)', False) in rows
    assert ('restarts', 'restarts', 'manual 0, out of memory 0, hash 0', False) in rows
    result = fixture('machine_live')
    result['live']['masters'] = [master]
    for text in (ar.render_html(ar.build_model({'web': result})), ar.render_markdown(ar.build_model({'web': result})),
                 '\n'.join(ar.summary_lines(result))):
        assert 'JIT' not in text and 'preload' not in text


@pytest.mark.parametrize('broken', [
    {'jit': {}, 'capacity': {}, 'releases': [], 'preload': {}},
    {'jit': 'x', 'capacity': [1], 'releases': 'x', 'preload': 3},
    {'jit': {'state': 'disabled', 'suspects': None}, 'capacity': {'memory': {'used': None}, 'near_limit': [None, {'code': 'X'}], 'keys': 'x'},
     'releases': [None, {'releases': [None, {'current': True}]}], 'preload': {'script': '/x.php', 'scripts': None, 'changed': [None]}},
])
def test_odd_shapes_render_without_a_traceback(broken):
    result = fixture('machine_live')
    result['live']['masters'][0].update(copy.deepcopy(broken))
    model = ar.build_model({'web': result})
    assert ar.render_html(model) and ar.render_markdown(model) and ar.summary_lines(result)


def test_sizes():
    assert [ar.size_text(v) for v in (0, 1023, 1024, 1536, 32 * 1048576, 3 * 1024 ** 3, None, True)] == [
        '0 B', '1023 B', '1.0 KiB', '1.5 KiB', '32.0 MiB', '3.0 GiB', '?', '?']


# ---------------------------------------------------------------------------------------------
# documentation: the codes and the fields

def test_every_live_code_the_live_view_emits_is_documented_and_has_a_fix():
    emitted = set()
    live = os.path.join(COLLECTION, 'plugins', 'module_utils', 'live')
    for name in sorted(os.listdir(live)):
        if name.endswith('.py'):
            with open(os.path.join(live, name), encoding='utf-8') as handle:
                emitted.update(re.findall(r"'(LIVE_[A-Z0-9_]+)'", handle.read()))
    with open(os.path.join(COLLECTION, 'docs', 'findings.md'), encoding='utf-8') as handle:
        documented = set(re.findall(r'^\| `(LIVE_[A-Z0-9_]+)` \|', handle.read(), re.M))
    assert len(emitted) >= 17
    assert sorted(emitted - documented) == [] and sorted(emitted - set(ar.FIXES)) == []


def _contains(doc, *path):
    for name in path:
        doc = doc[name]['contains'] if 'contains' in doc.get(name, {}) else doc[name]
    return doc


@pytest.mark.parametrize('field, sample', [
    ((), lambda m: m),
    (('jit',), lambda m: m['jit']),
    (('capacity',), lambda m: m['capacity']),
    (('releases',), lambda m: m['releases'][0]),
    (('preload',), lambda m: m['preload']),
])
def test_return_documents_every_field_of_a_real_master(field, sample):
    returned = yaml.safe_load(opcache_info.RETURN)
    masters = returned['live']['contains']['masters']['contains']
    documented = set(_contains(masters, *field)) if field else set(masters)
    real = set(sample(release_master()))
    assert sorted(real - documented) == []
    if field:
        assert sorted(documented - real) == [], 'documented but not returned'
