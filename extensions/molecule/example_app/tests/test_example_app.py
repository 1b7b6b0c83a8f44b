"""Testinfra checks of the Molecule scenario "example_app" (copy and adapt for your own role)."""

import json
import re

MANAGED = "/etc/php/8.2/fpm/conf.d/zz-phpops-opcache.ini"
APP = "/srv/example_app/index.php"


def test_application_is_deployed(host):
    index = host.file(APP)
    assert index.is_file
    assert "example_app release 2026.12.1" in index.content_string


def test_managed_file_carries_the_application_setting(host):
    managed = host.file(MANAGED)
    assert managed.is_file
    assert re.search(r"^opcache\.memory_consumption\s*=\s*192\s*$", managed.content_string, re.M)


def test_php_fpm_binary_reads_the_requested_values(host):
    out = host.check_output("php-fpm8.2 -i")
    assert re.search(r"^opcache\.memory_consumption => 192 => 192$", out, re.M), out
    assert re.search(r"^opcache\.validate_timestamps => Off => Off$", out, re.M)


def test_only_the_managed_file_sets_opcache_and_the_running_fpm_uses_it(host):
    result = host.ansible("phpops.opcache.opcache_info", "sapis=fpm live=true", check=False)
    assert not result.get("failed"), json.dumps(result)[:2000]
    fpm = result["installations"][0]["sapis"]["fpm"]
    setting = fpm["settings"]["opcache.memory_consumption"]
    assert (setting["value"], setting["file"]) == ("192", MANAGED)
    multiple = [f for f in result["findings"] if f["code"] == "OPC_DIRECTIVE_MULTIPLE_FILES"]
    assert multiple == [], multiple
    pools = result["live"]["masters"][0]["pools"]
    assert {p["settings"]["opcache.memory_consumption"]["value"] for p in pools} == {"192"}


def test_a_verified_invalidation_proves_fresh_code_under_the_application(host):
    # what a deploy of your role ends with: the running pools serve the files on disk, proven over FastCGI
    result = host.ansible("phpops.opcache.opcache_reset", "strategy=reset verify_paths=/srv/example_app", check=False)
    assert not result.get("failed"), json.dumps(result)[:2000]
    assert [m["proven"] for m in result["masters"]] == [True]
