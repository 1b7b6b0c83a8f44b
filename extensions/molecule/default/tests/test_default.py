"""Testinfra checks of the Molecule scenario "default" (role phpops.opcache.opcache, profile production)."""

import json
import re

MANAGED = "/etc/php/8.2/fpm/conf.d/zz-phpops-opcache.ini"


def test_managed_file_exists(host):
    managed = host.file(MANAGED)
    assert managed.exists
    assert managed.is_file
    assert managed.user == "root"
    assert re.search(r"^opcache\.validate_timestamps\s*=\s*0\s*$", managed.content_string, re.M)


def test_php_fpm_binary_reads_validate_timestamps_off(host):
    out = host.check_output("php-fpm8.2 -i")
    assert re.search(r"^opcache\.validate_timestamps => Off => Off$", out, re.M), out
    assert re.search(r"^opcache\.memory_consumption => 256 => 256$", out, re.M)


def test_php_fpm_configuration_is_valid(host):
    assert host.run("php-fpm8.2 -t").rc == 0


def test_php_fpm_runs_and_listens(host):
    masters = [p for p in host.process.filter(user="root") if "php-fpm: master process" in p.args]
    assert len(masters) == 1
    assert host.socket("unix:///run/php/php8.2-fpm.sock").is_listening


def test_opcache_info_module_through_ansible(host):
    result = host.ansible("phpops.opcache.opcache_info", "sapis=fpm live=true", check=False)
    assert not result.get("failed"), json.dumps(result)[:2000]
    fpm = result["installations"][0]["sapis"]["fpm"]
    assert fpm["settings"]["opcache.validate_timestamps"]["value"] == "0"
    assert fpm["settings"]["opcache.validate_timestamps"]["file"] == MANAGED
    pools = result["live"]["masters"][0]["pools"]
    assert {p["settings"]["opcache.validate_timestamps"]["value"] for p in pools} == {"0"}
