"""Fleet check f: the audit report of a fleet with faults (tests/fleet/run) lists every host and each problem.

usage: faults_report.py AUDIT_JSON"""
import json
import sys


def main(path):
    with open(path, encoding='utf-8') as handle:
        hosts = json.load(handle)['hosts']
    problems = []

    def expect(ok, what):
        print('%s: %s' % ('ok' if ok else 'FAILED', what))
        if not ok:
            problems.append(what)

    expect(sorted(hosts) == ['host1', 'host2', 'host3', 'host9'], 'every host of the inventory is in the report: %s' % sorted(hosts))
    if problems:
        return 1
    expect(hosts['host9']['status'] == 'unreachable' and bool(hosts['host9']['error']),
           'host9 is unreachable, with the reason: %r' % hosts['host9']['error'])
    host1 = hosts['host1']['result'] or {}
    expect(hosts['host1']['status'] not in ('unreachable', 'failed') and bool(host1.get('installations'))
           and not (host1.get('live') or {}).get('masters'),
           'host1 (PHP-FPM stopped) still reports the files on disk, with no running master')
    ini = sorted(set((f['code'], (f['evidence'] or [None])[0]) for f in (hosts['host2']['result'] or {}).get('findings', [])
                     if f['code'].startswith(('INI_', 'SCAN_'))))
    expect(any(code == 'INI_SYNTAX_ERROR' and where and '50-broken.ini' in where for code, where in ini),
           'host2: the syntax error, with its file: %s' % ini)
    expect(any(code == 'SCAN_FILE_SKIPPED' and where and '60-dangling.ini' in where for code, where in ini),
           'host2: the dangling symlink, with its file: %s' % ini)
    host3 = hosts['host3']['result'] or {}
    expect(hosts['host3']['status'] not in ('unreachable', 'failed') and bool((host3.get('live') or {}).get('masters')),
           'host3 is audited with its running master')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
