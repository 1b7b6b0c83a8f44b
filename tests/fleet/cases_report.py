# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of fleet checks g and h against numbers read independently on the lab host.

  cases_report.py releases RESULT SUMS EXPECT_SCRIPTS_JSON ROOT
      RESULT: opcache_info's result (ansible -t tree file) on the host with three releases;
      SUMS: {release: [scripts, memory]} from opcache_get_status() of the same master (a PHP script
      requested through the pool); EXPECT_SCRIPTS_JSON: {release: scripts deployed and requested};
      ROOT: the root the view must name (verify_paths, or the nginx root).
  cases_report.py released RESULT ROOT
      after opcache_reset and one request of the current release: no old release holds anything.
  cases_report.py diagnose RESULT EXPECT_JSON
      opcache_diagnose's result; EXPECT_JSON {"code", "title_has", "pool", "pid", "evidence_has"}:
      the top-ranked cause must match each given key.
"""

from __future__ import annotations

import json
import sys

CURRENT = '/srv/app/releases/3'
RELEASES_DIR = '/srv/app/releases'


def _load(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def _view(result, root):
    masters = (result.get('live') or {}).get('masters') or []
    views = [v for m in masters for v in (m.get('releases') or []) if v.get('root') == root]
    if len(views) != 1:
        raise AssertionError('expected one release view of root %s, got %s' % (root, [m.get('releases') for m in masters]))
    return views[0]


def releases(result_path, sums_path, expect, root):
    result, sums, expect = _load(result_path), _load(sums_path), json.loads(expect)
    view = _view(result, root)
    problems = []
    if (view['current'], view['releases_dir']) != (CURRENT, RELEASES_DIR):
        problems.append('current %s in %s, expected %s in %s' % (view['current'], view['releases_dir'], CURRENT, RELEASES_DIR))
    got = dict((r['name'], r) for r in view['releases'])
    for name, scripts in sorted(expect.items()):
        item = got.get(name)
        if item is None:
            problems.append('release %s missing from the view' % name)
            continue
        if item['scripts'] != scripts or item['scripts'] != sums[name][0]:
            problems.append('release %s: %s scripts reported, %s deployed, %s in opcache_get_status()' % (name, item['scripts'], scripts, sums[name][0]))
        if item['memory'] != sums[name][1] or item['memory'] <= 0:
            problems.append('release %s: memory %s reported, %s in opcache_get_status()' % (name, item['memory'], sums[name][1]))
        if item['current'] != (name == '3'):
            problems.append('release %s: current=%s' % (name, item['current']))
    old = [n for n in sorted(expect) if n != '3']
    if view['old_releases'] != old or view['old_scripts'] != sum(expect[n] for n in old) or view['old_memory'] != sum(sums[n][1] for n in old):
        problems.append('old releases %s, %s scripts, %s bytes; expected %s, %s, %s' % (
            view['old_releases'], view['old_scripts'], view['old_memory'], old, sum(expect[n] for n in old), sum(sums[n][1] for n in old)))
    findings = [f for f in result.get('findings') or [] if f['code'] == 'LIVE_OLD_RELEASES_CACHED']
    if len(findings) != 1 or root not in findings[0]['message'] or 'release(s) 1, 2 under %s' % RELEASES_DIR not in findings[0]['message']:
        problems.append('LIVE_OLD_RELEASES_CACHED: %s' % [f['message'] for f in findings])
    for line in problems:
        print('FAILED', line)
    if not problems:
        print('root %s -> %s: old releases %s hold %d scripts, %d bytes (= opcache_get_status()); %s' % (
            root, view['current'], ', '.join(old), view['old_scripts'], view['old_memory'], findings[0]['message'][:120]))
    return not problems


def released(result_path, root):
    result = _load(result_path)
    view = _view(result, root)
    findings = [f['message'] for f in result.get('findings') or [] if f['code'] == 'LIVE_OLD_RELEASES_CACHED']
    ok = view['old_scripts'] == 0 and view['old_memory'] == 0 and [r['name'] for r in view['releases']] == ['3'] and not findings
    names = [(r['name'], r['scripts']) for r in view['releases']]
    print('%safter opcache_reset: releases %s, old scripts %s, findings %s' % ('' if ok else 'FAILED ', names, view['old_scripts'], findings))
    return ok


def diagnose(result_path, expect):
    result, expect = _load(result_path), json.loads(expect)
    causes = result.get('causes')
    if not causes:
        print('FAILED no cause: %s' % json.dumps(result)[:2000])
        return False
    top = causes[0]
    problems = []
    for key in ('code', 'pool', 'pid'):
        if key in expect and top.get(key) != expect[key]:
            problems.append('%s %r, expected %r' % (key, top.get(key), expect[key]))
    if 'title_has' in expect and expect['title_has'] not in top['title']:
        problems.append('title %r does not name %r' % (top['title'], expect['title_has']))
    if 'evidence_has' in expect and not any(expect['evidence_has'] in e for e in top['evidence']):
        problems.append('evidence %r does not name %r' % (top['evidence'], expect['evidence_has']))
    print('%s#1 %s (score %s, pool %s, pid %s): %s' % ('FAILED ' if problems else '', top['code'], top['score'], top['pool'], top['pid'], top['title']))
    for line in problems:
        print('FAILED', line)
    if problems:
        for cause in causes[1:4]:
            print('   #%s %s (score %s): %s' % (cause['rank'], cause['code'], cause['score'], cause['title']))
    return not problems


def main(argv):
    commands = {'releases': (releases, 4), 'released': (released, 2), 'diagnose': (diagnose, 2)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__)
        return 2
    try:
        return 0 if commands[argv[1]][0](*argv[2:]) else 1
    except (OSError, ValueError, KeyError, AssertionError) as error:
        print('FAILED %s: %s' % (argv[1], error))
        return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
