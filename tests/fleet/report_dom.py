# -*- coding: utf-8 -*-
# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the audit report's DOM as headless Chromium rendered it (chromium --dump-dom).

    report_dom.py DOM_FILE INCIDENT_HOST WINNER HOSTS_COUNT

Passes when: the fleet table lists HOSTS_COUNT hosts and INCIDENT_HOST first; INCIDENT_HOST's section
has an fpm row for opcache.validate_timestamps with value 0 whose source names WINNER (e.g.
99-opcache-optimization.ini:3) and a running (live) column; its findings include
OPC_VALIDATE_TIMESTAMPS_OFF with that evidence; its running master shows the JIT, memory, interned
strings, key slots, hit rate, restarts, releases and preload rows (probed: not "not probed"); the page
loads nothing from outside (no src, no link, no script)."""

from __future__ import annotations

import sys
from html.parser import HTMLParser


class Node(object):
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []
        self.text = []

    def classes(self):
        return (self.attrs.get('class') or '').split()

    def all_text(self):
        return ''.join(self.text + [c.all_text() for c in self.children])

    def find_all(self, pred):
        found = []
        for child in self.children:
            if pred(child):
                found.append(child)
            found.extend(child.find_all(pred))
        return found


VOID = {'meta', 'br', 'link', 'img', 'input', 'hr', 'area', 'base', 'col', 'embed', 'source', 'track', 'wbr'}


class Tree(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.root = Node('#root', [], None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text.append(data)


# the rows every probed master shows (issue 11 item 8): JIT, capacity, releases, preload
MASTER_ROWS = ('jit', 'memory', 'interned-strings', 'key-slots', 'hit-rate', 'restarts', 'releases', 'preload')


def master_rows(section, host):
    """Problems with the runtime rows of the first running master of ``section``: each of MASTER_ROWS
    has a label and a non-empty value, and none reads "not probed" (the lab's masters answer)."""
    facts = section.find_all(lambda n: n.tag == 'dl' and 'facts' in n.classes())
    if not facts:
        return ['no running master facts in the section of %s' % host]
    values = dict((n.attrs.get('data-fact'), ' '.join(n.all_text().split())) for n in facts[0].children if n.tag == 'dd')
    problems = []
    for key in MASTER_ROWS:
        print('%s master %s: %s' % (host, key, values.get(key)))
        if not values.get(key):
            problems.append('no %s row for the running master of %s' % (key, host))
        elif values[key] == 'not probed':
            problems.append('the %s row of the running master of %s reads "not probed"' % (key, host))
    return problems


def main(argv):
    dom_file, incident, winner, count = argv[1], argv[2], argv[3], int(argv[4])
    with open(dom_file, encoding='utf-8') as handle:
        text = handle.read()
    tree = Tree()
    tree.feed(text)
    root = tree.root
    problems = []
    rows = root.find_all(lambda n: n.tag == 'tr' and 'host-row' in n.classes())
    order = [r.attrs.get('data-host') for r in rows]
    print('fleet table order: %s' % ', '.join(order))
    if len(order) != count:
        problems.append('the fleet table lists %d hosts, expected %d' % (len(order), count))
    if not order or order[0] != incident:
        problems.append('the first host is %r, expected the incident host %r' % (order[0] if order else None, incident))
    sections = root.find_all(lambda n: n.tag == 'section' and n.attrs.get('data-host') == incident)
    if len(sections) != 1:
        problems.append('%d sections for host %s' % (len(sections), incident))
    else:
        section = sections[0]
        fpm = section.find_all(lambda n: n.attrs.get('data-sapi') == 'fpm')
        vt = [r for s in fpm for r in s.find_all(lambda n: n.tag == 'tr' and n.attrs.get('data-directive') == 'opcache.validate_timestamps')]
        if not vt:
            problems.append('no opcache.validate_timestamps row in the fpm section of %s' % incident)
        else:
            cells = [c for c in vt[0].children if c.tag == 'td']
            texts = [' '.join(c.all_text().split()) for c in cells]
            print('%s fpm opcache.validate_timestamps row: %s' % (incident, ' | '.join(texts)))
            source = [c for c in cells if 'source' in c.classes()]
            if not source or not source[0].all_text().strip().endswith(winner):
                problems.append('the validate_timestamps source is %r, expected it to name %s' % (source[0].all_text() if source else None, winner))
            value = [c.all_text().strip() for c in cells[1].children if c.tag == 'code'] if len(cells) > 1 else []
            if value[:1] != ['0']:
                problems.append('the validate_timestamps value on disk is %r, expected 0' % (value[:1] or None))
            if len(cells) < 5 or 'master' not in texts[4]:
                problems.append('no running (live) value next to validate_timestamps: %r' % texts)
        codes = section.find_all(lambda n: 'finding' in n.classes() and n.attrs.get('data-code') == 'OPC_VALIDATE_TIMESTAMPS_OFF')
        if not codes or winner not in codes[0].all_text():
            problems.append('no OPC_VALIDATE_TIMESTAMPS_OFF finding naming %s in the section of %s' % (winner, incident))
        if not section.find_all(lambda n: n.tag == 'h4' and 'running PHP-FPM master' in n.all_text()):
            problems.append('no running PHP-FPM master in the section of %s (live view missing)' % incident)
        problems.extend(master_rows(section, incident))
    external = root.find_all(lambda n: n.tag in ('script', 'link', 'img', 'iframe') or 'src' in n.attrs)
    if external:
        problems.append('the page loads external content: %s' % ', '.join(n.tag for n in external))
    for problem in problems:
        print('FAILED: %s' % problem)
    if not problems:
        print('report DOM: %s first, its fpm validate_timestamps row names %s' % (incident, winner))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
