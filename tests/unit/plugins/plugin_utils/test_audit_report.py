# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit report's model and renderings, on real opcache_info results:

fixtures/lab_host2.json   host2 of the fleet lab (tests/fleet/run) with the incident's 99-opcache-optimization.ini,
                          live view of its running PHP-FPM 8.2 (settings trimmed to the key directives and
                          the ones a file sets)
fixtures/lab_host1.json   a clean lab host, likewise
fixtures/machine_fpm.json `ansible localhost -m phpops.opcache.opcache_info -a live=true` on a Debian 12 machine"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.phpops.opcache.plugins.module_utils.opcache_report import SEVERITY_ORDER
from ansible_collections.phpops.opcache.plugins.plugin_utils import audit_report as ar

HERE = os.path.dirname(__file__)
COLLECTION = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
WINNER = '/etc/php/8.2/fpm/conf.d/99-opcache-optimization.ini:3'
EVIL = '<script>alert("x")</script>&amp;\'|`*_[x](y)'


def fixture(name):
    with open(os.path.join(HERE, 'fixtures', name + '.json'), encoding='utf-8') as handle:
        return json.load(handle)


class Page(HTMLParser):
    """Tags, attributes and text of a rendered page."""

    def __init__(self, text):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.tags = []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def lab():
    return {'host1': fixture('lab_host1'), 'host2': fixture('lab_host2'), 'host3': fixture('lab_host1')}


# ---------------------------------------------------------------------------------------------
# severity order: one source

def test_severities_come_from_the_engine_order():
    assert ar.SEVERITIES == sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.get) == ['critical', 'warning', 'info']
    assert ar.LEVELS == ['critical', 'warning', 'info', 'none']


@pytest.mark.parametrize('level, codes', [
    ('critical', ['C']),
    ('warning', ['C', 'W']),
    ('info', ['C', 'W', 'I']),
    ('none', []),
])
def test_findings_at_least(level, codes):
    findings = [{'code': 'W', 'severity': 'warning'}, {'code': 'C', 'severity': 'critical'}, {'code': 'I', 'severity': 'info'}]
    assert sorted(f['code'] for f in ar.findings_at_least(findings, level)) == sorted(codes)


def test_findings_at_least_rejects_an_unknown_level():
    with pytest.raises(ar.ReportError, match=r"'fatal' is not one of critical, warning, info, none"):
        ar.findings_at_least([], 'fatal')


def test_every_documented_finding_code_has_a_fix():
    with open(os.path.join(COLLECTION, 'docs', 'findings.md'), encoding='utf-8') as handle:
        codes = set(re.findall(r'^\| `([A-Z][A-Z0-9_]+)` \|', handle.read(), re.M))
    assert codes, 'no finding codes found in docs/findings.md'
    assert sorted(codes - set(ar.FIXES)) == []
    assert ar.fix_for('NO_SUCH_CODE').startswith('See docs/findings.md')


# ---------------------------------------------------------------------------------------------
# the model

def test_incident_host_first_then_info_hosts_in_natural_order():
    results = lab()
    results['host10'] = fixture('lab_host1')
    model = ar.build_model(results)
    assert [h['name'] for h in model['hosts']] == ['host2', 'host1', 'host3', 'host10']
    host2 = model['hosts'][0]
    assert host2['counts']['warning'] == 1 and host2['findings'][0]['code'] == 'OPC_VALIDATE_TIMESTAMPS_OFF'
    assert model['hosts_with'] == {'critical': 0, 'warning': 1, 'info': 4}


def test_order_critical_then_not_audited_then_warning_then_info_then_clean():
    clean = fixture('lab_host1')
    clean['findings'] = []
    critical = fixture('lab_host1')
    critical['findings'] = [{'code': 'OPC_FILE_CACHE_NO_VALIDATION', 'severity': 'critical', 'message': 'm', 'evidence': []}]
    model = ar.build_model({'a-clean': clean, 'b-info': fixture('lab_host1'), 'c-warn': fixture('lab_host2'), 'd-down': {'unreachable': True, 'msg': 'x'},
                            'e-failed': {'failed': True, 'msg': 'y'}, 'f-none': None, 'g-crit': critical})
    assert [h['name'] for h in model['hosts']] == ['g-crit', 'd-down', 'e-failed', 'f-none', 'c-warn', 'b-info', 'a-clean']
    assert model['not_audited'] == ['d-down', 'e-failed', 'f-none']


def test_unreachable_failed_missing_and_skipped_hosts():
    model = ar.build_model({
        'down': {'unreachable': True, 'msg': 'Failed to connect to the host via ssh: Connection refused', 'changed': False},
        'broken': {'failed': True, 'msg': 'cannot read /etc/php/8.2/fpm/php-fpm.conf: Permission denied', 'findings': []},
        'gone': None,
        'later': {'skipped': True, 'changed': False},
    })
    by_name = dict((h['name'], h) for h in model['hosts'])
    assert by_name['down']['status'] == 'unreachable' and 'Connection refused' in by_name['down']['error']
    assert by_name['broken']['status'] == 'failed' and 'Permission denied' in by_name['broken']['error']
    assert by_name['gone']['status'] == 'missing'
    assert by_name['later']['status'] == 'skipped'
    page = ar.render_html(model)
    assert 'Connection refused' in page and 'Permission denied' in page and 'audit failed' in page
    markdown = ar.render_markdown(model)
    assert '| down | unreachable | 0 | 0 | 0 |' in markdown
    assert ar.summary_lines({'unreachable': True, 'msg': 'no route'}) == ['unreachable: no route']


def test_empty_fleet():
    model = ar.build_model({})
    assert model['hosts'] == [] and model['not_audited'] == []
    page = ar.render_html(model)
    assert 'No host was audited.' in page and page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>')
    assert '(no host was audited)' in ar.render_markdown(model)
    assert json.loads(ar.render_json(model))['hosts'] == {}


def test_results_must_be_a_dictionary():
    with pytest.raises(ar.ReportError, match='results must be a dictionary'):
        ar.build_model(['host1'])


# ---------------------------------------------------------------------------------------------
# what the page shows

def test_page_shows_the_winner_the_running_value_and_the_fix():
    page = ar.render_html(ar.build_model(lab(), generated='2026-01-01 00:00:00 UTC'))
    host2 = page[page.index('<section class="card host" id="host-1" data-host="host2"'):page.index('id="host-2"')]
    fpm = host2[host2.index('data-sapi="fpm"'):]
    row = fpm[fpm.index('data-directive="opcache.validate_timestamps"'):]
    row = row[:row.index('</tr>')]
    assert '<td class="source"><code>%s</code></td>' % WINNER in row
    assert '<code>0</code> <span class="badge warning">warning</span>' in row
    assert 'same</span> <span class="muted">(master ' in row
    assert 'data-code="OPC_VALIDATE_TIMESTAMPS_OFF"' in host2 and ar.esc(ar.FIXES['OPC_VALIDATE_TIMESTAMPS_OFF']) in host2
    assert 'running PHP-FPM master' in host2 and 'data-pool="www"' in host2
    tags = Page(page).tags
    assert not [t for t, a in tags if t in ('script', 'link', 'img', 'iframe') or 'src' in a], 'the page must load nothing'
    assert [a.get('data-host') for t, a in tags if t == 'tr' and 'host-row' in a.get('class', '')] == ['host2', 'host1', 'host3']


def test_drift_shows_the_running_value():
    result = fixture('lab_host2')
    master = result['live']['masters'][0]
    master['drift'] = [{'directive': 'opcache.validate_timestamps', 'running': '1', 'disk': '0', 'evidence': WINNER}]
    master['pools'][0]['drift'] = [{'directive': 'opcache.revalidate_freq', 'running': '60', 'disk': '0', 'reason': 'php_admin_value changed'}]
    page = ar.render_html(ar.build_model({'host2': result}))
    row = page[page.index('data-directive="opcache.validate_timestamps"', page.index('data-sapi="fpm"')):]
    row = row[:row.index('</tr>')]
    assert 'class="directive differs"' in page and '<span class="drift">1</span>' in row and 'reload php-fpm' in row
    assert 'runs opcache.revalidate_freq=60' in page
    lines = ar.summary_lines(result)
    assert [line for line in lines if 'opcache.validate_timestamps = "0"' in line and 'RUNNING "1" in master' in line]
    assert '**`1`** (master' in ar.render_markdown(ar.build_model({'host2': result}))


def test_disk_only_host_without_a_running_fpm():
    result = fixture('lab_host2')
    del result['live']
    page = ar.render_html(ar.build_model({'host2': result}))
    assert 'no PHP-FPM master runs on this host' in page and 'running PHP-FPM master' not in page
    assert '<td class="source"><code>%s</code></td>' % WINNER in page
    stopped = fixture('lab_host2')
    stopped['live'] = {'masters': [], 'not_running': [{'installation': 'debian:/etc/php/8.2', 'config': '/etc/php/8.2/fpm/php-fpm.conf',
                                                       'error': 'not running', 'pools': ['www']}], 'skipped': None}
    lines = ar.summary_lines(stopped)
    assert '    live: PHP-FPM is not running (/etc/php/8.2/fpm/php-fpm.conf): the values shown are the files on disk only' in lines
    assert [line for line in lines if line.startswith('    opcache.validate_timestamps = "0"  <- ' + WINNER)]


def test_stale_scripts_are_shown():
    result = fixture('machine_fpm')
    master = result['live']['masters'][0]
    assert master['stale_scripts'] == {'checked': 0, 'count': 0, 'examples': [], 'file_cache': None, 'truncated': False}
    master['stale_scripts'] = {'checked': 40, 'count': 2, 'truncated': False, 'file_cache': None,
                               'examples': [{'path': '/srv/app/index.php', 'reason': 'r'}, {'path': '/srv/app/lib.php', 'reason': 'r'}]}
    page = ar.render_html(ar.build_model({'web': result}))
    assert '<dd data-fact="stale-scripts" class="bad">2 of 40 cached scripts under the application roots: /srv/app/index.php, /srv/app/lib.php</dd>' in page
    assert [line for line in ar.summary_lines(result) if 'stale scripts: 2 of 40' in line]
    del master['stale_scripts']
    assert [line for line in ar.summary_lines(result) if 'stale scripts: not checked' in line]


def test_summary_lines_on_the_incident():
    lines = ar.summary_lines(fixture('lab_host2'), ['opcache.validate_timestamps'])
    assert lines[0] == 'debian:/etc/php/8.2 (PHP 8.2.36)'
    assert '    opcache.validate_timestamps = "0"  <- %s' % WINNER in lines
    assert 'findings: 0 critical, 1 warning, 5 info' in lines
    assert lines[lines.index('findings: 0 critical, 1 warning, 5 info') + 1].startswith('  warning OPC_VALIDATE_TIMESTAMPS_OFF: ')


# ---------------------------------------------------------------------------------------------
# escaping: everything comes from the hosts

def evil_result():
    result = fixture('lab_host2')
    inst = result['installations'][0]
    inst['id'] = EVIL
    fpm = inst['sapis']['fpm']
    fpm['settings']['opcache.validate_timestamps'].update(value=EVIL, file='/etc/php/<b>.ini')
    fpm['pools'][0]['name'] = EVIL
    fpm['pools'][0]['overrides'] = {'opcache.jit': {'kind': 'php_admin_value', 'value': EVIL, 'file': EVIL, 'line': 1}}
    result['findings'][0].update(message=EVIL, evidence=[EVIL], code=EVIL)
    for master in result['live']['masters']:
        master['installation'] = EVIL
        master['config'] = EVIL
    return result


def test_html_escapes_everything():
    model = ar.build_model({EVIL: evil_result(), 'down': {'unreachable': True, 'msg': EVIL}}, title=EVIL)
    page = ar.render_html(model)
    assert '<script' not in page and '<b>' not in page
    parsed = Page(page)
    assert [t for t, a in parsed.tags if t == 'script'] == []
    text = ''.join(parsed.text)
    assert text.count(EVIL) >= 8, 'the values must survive escaping as text'
    # attribute values too
    assert EVIL in [a.get('data-host') for t, a in parsed.tags if t == 'tr']


def test_markdown_escapes_tables_and_code():
    markdown = ar.render_markdown(ar.build_model({EVIL: evil_result()}))
    # outside code spans (shown literally by Markdown) no character may start HTML
    prose = re.sub(r'(`+)(?!`).*?(?<!`)\1(?!`)', '', markdown)
    assert not re.search(r'(?<!\\)[<>]', prose), prose
    assert '<script>' in markdown, 'the values are kept, in code spans'
    for line in markdown.splitlines():
        if line.startswith('|'):
            cells = re.split(r'(?<!\\)\|', line)
            assert len(cells) in (6, 9), line
    assert ar.md_code('a`b') == '``a`b``' and ar.md_code('`x') == '`` `x ``' and ar.md_code('a|b') == '`a\\|b`'
    assert ar.md_text('a_b*c<d>|e') == 'a\\_b\\*c\\<d\\>\\|e'


def test_json_has_every_result_in_order():
    data = json.loads(ar.render_json(ar.build_model(lab())))
    assert data['order'] == ['host2', 'host1', 'host3']
    assert data['hosts']['host2']['result']['installations'][0]['sapis']['fpm']['settings']['opcache.validate_timestamps']['line'] == 3


def test_plain_drops_subclasses():
    class Tagged(str):
        pass

    out = ar.plain({Tagged('k'): [Tagged('v'), 1, 2.5, None, True, (1,)]})
    assert out == {'k': ['v', 1, 2.5, None, True, [1]]}
    assert [k.__class__ for k in out] == [str] and out['k'][0].__class__ is str
