# Copyright: (c) 2026, phpops.opcache contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare phpops.opcache.opcache_info's report of a PHP 8.4 host with what real PHP 8.4 says.

    python3 php84_report.py defaults REPORT BARE VERSION TRUTH
        REPORT: the module result (JSON, from the tree callback) for the host as installed; BARE: its
        result for an explicit installation of /usr/bin/php8.4 whose chain only loads OPcache (so every
        directive is a default, opcache.jit too); VERSION: PHP_VERSION of the host's php8.4; TRUTH: JSON
        {directive: global_value} of `php8.4 -n` with OPcache loaded.
        The installation debian:/etc/php/8.4 is found with VERSION from the binary; for its fpm and cli
        and the bare cli, the directive names equal PHP's, and every directive reported as PHP's
        default (file null) has exactly PHP's default.
    python3 php84_report.py incident REPORT FPM_INFO CLI_INFO
        After tests/fleet/seed_incident.yml: the winners (file:line) of the FPM chain, and every value of
        the fpm (cli) report equals what `php-fpm8.4 -i` (`php8.4 -i`) shows.

Prints one line per mismatch ("FAILED ...") and exits 1 when there is one.
"""

from __future__ import annotations

import json
import re
import sys

INSTALLATION = "debian:/etc/php/8.4"
CONF_D = "/etc/php/8.4/fpm/conf.d/"


def installation(report_path, wanted=INSTALLATION):
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    if report.get("failed"):
        raise SystemExit("FAILED: opcache_info failed: %s" % report.get("msg"))
    found = [i for i in report["installations"] if i["id"] == wanted]
    if not found:
        raise SystemExit("FAILED: no installation %s in %s" % (wanted, [i["id"] for i in report["installations"]]))
    return found[0]


def show(value):
    return "null" if value is None else repr(value)


def check_defaults(report_path, bare_path, version, truth_path):
    inst = installation(report_path)
    bare = installation(bare_path, "explicit:/usr/bin/php8.4")
    with open(truth_path, encoding="utf-8") as f:
        truth = json.load(f)
    bad = []
    for one in (inst, bare):
        if one.get("version") != version or not version.startswith("8.4.") or one.get("version_source") != "binary":
            bad.append("%s: version %s (from %s), expected %s from the binary"
                       % (one["id"], one.get("version"), one.get("version_source"), version))
        else:
            print("%s: PHP %s (from the binary)" % (one["id"], version))
    for one, sapi in ((inst, "fpm"), (inst, "cli"), (bare, "cli")):
        if sapi not in one["sapis"]:
            bad.append("%s %s: SAPI missing (have %s)" % (one["id"], sapi, sorted(one["sapis"])))
            continue
        settings = one["sapis"][sapi]["settings"]
        label = "%s %s" % (one["id"], sapi)
        for name in sorted(set(settings) - set(truth)):
            bad.append("%s %s: reported, but PHP %s has no such directive (report value %s)"
                       % (label, name, version, show(settings[name]["value"])))
        for name in sorted(set(truth) - set(settings)):
            bad.append("%s %s: PHP %s has it (default %s), the report does not" % (label, name, version, show(truth[name])))
        defaults = 0
        for name in sorted(set(settings) & set(truth)):
            entry = settings[name]
            if entry.get("file") is not None:
                continue
            defaults += 1
            if entry.get("value") != truth[name]:
                bad.append("%s %s: report default %s, PHP %s default %s" % (label, name, show(entry.get("value")), version, show(truth[name])))
        print("%s: %d directives (PHP knows %d), %d reported as PHP's default" % (label, len(settings), len(truth), defaults))
    return bad


def php_info(path):
    """{directive: master value} from `php -i` text."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            match = re.match(r"^(opcache\.[a-z0-9_]+) => (.*) => (.*)$", line.rstrip("\n"))
            if match:
                values[match.group(1)] = match.group(3)
    return values


def ini_bool(value):
    """PHP's zend_ini_parse_bool()."""
    text = (value or "").strip()
    if text.lower() in ("true", "yes", "on"):
        return True
    match = re.match(r"^[+-]?\d+", text)
    return bool(match and int(match.group(0)) != 0)


def agrees(reported, shown):
    if shown == "no value":
        return reported in (None, "")
    if shown in ("On", "Off"):
        return ini_bool(reported) == (shown == "On")
    return reported == shown


def check_incident(report_path, fpm_info, cli_info):
    inst = installation(report_path)
    bad = []
    fpm = inst["sapis"]["fpm"]["settings"]
    opt = CONF_D + "99-opcache-optimization.ini"
    expected = {
        "opcache.enable": ("1", opt, 2, [("0", CONF_D + "99-disable-opcache-temp.ini", 2), ("0", CONF_D + "20-opcache_temp.ini", 2)]),
        "opcache.validate_timestamps": ("0", opt, 3, None),
        "opcache.revalidate_freq": ("0", opt, 4, None),
        "opcache.memory_consumption": ("256", CONF_D + "99-opcache.ini", 2, None),
    }
    for name, (value, path, line, overridden) in expected.items():
        entry = fpm.get(name, {})
        got = (entry.get("value"), entry.get("file"), entry.get("line"))
        if got != (value, path, line):
            bad.append("fpm %s: report %s at %s:%s, expected %s at %s:%s" % ((name,) + got + (value, path, line)))
            continue
        print("fpm %s = %s, set by %s:%d" % (name, value, path, line))
        if overridden is not None:
            chain = [(o.get("value"), o.get("file"), o.get("line")) for o in entry.get("overridden", [])]
            if chain[:len(overridden)] != overridden:
                bad.append("fpm %s: overridden %s, expected (latest first) %s" % (name, chain, overridden))
            else:
                print("fpm %s overrode: %s" % (name, ", ".join("%s:%d (%s)" % (p, n, v) for v, p, n in overridden)))
    for sapi, info_path, binary in (("fpm", fpm_info, "php-fpm8.4 -i"), ("cli", cli_info, "php8.4 -i")):
        shown = php_info(info_path)
        settings = inst["sapis"][sapi]["settings"]
        if not shown:
            bad.append("%s: `%s` shows no opcache directive" % (sapi, binary))
            continue
        if set(shown) != set(settings):
            bad.append("%s: directives only in the report %s, only in `%s` %s"
                       % (sapi, sorted(set(settings) - set(shown)), binary, sorted(set(shown) - set(settings))))
        differ = 0
        for name in sorted(set(shown) & set(settings)):
            entry = settings[name]
            if not agrees(entry.get("value"), shown[name]):
                differ += 1
                bad.append("%s %s: report %s (%s), `%s` shows %r"
                           % (sapi, name, show(entry.get("value")),
                              "default" if entry.get("file") is None else "%s:%s" % (entry["file"], entry["line"]), binary, shown[name]))
        print("%s: %d directives compared with `%s`, %d differ" % (sapi, len(set(shown) & set(settings)), binary, differ))
    return bad


def main(argv):
    if len(argv) == 6 and argv[1] == "defaults":
        bad = check_defaults(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) == 5 and argv[1] == "incident":
        bad = check_incident(argv[2], argv[3], argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    for line in bad:
        print("FAILED", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
