#!/bin/sh
# Prepare one "why is my change not running?" case on a lab host (run there: sh -s CASE < this file).
# Every case caches release 1 of /srv/app/version.php in the PHP-FPM that serves it, deploys release 2
# with a plain write, and checks that release 1 is still served (the case reproduces the problem).
#   reset          remove what the cases below add; restart php8.2-fpm
#   incident       the seed incident's four conf.d files (tests/fleet/seed_incident.yml's content)
#   file_cache     opcache.file_cache with validation off; php8.2-fpm restarted AFTER the change
#   pool_override  php_admin_value[opcache.validate_timestamps] = 0 in the www pool
#   drift          validation off at the start; the "fix" (=1) written while FPM runs, no reload
#   other_master   a second PHP-FPM 8.2 master (its own php-fpm.conf, pool "shop", validation off) serves
#                  http://shop.example/ through nginx; php8.2-fpm is restarted after the change. The
#                  second master runs a copy of the binary: Debian's `service php8.2-fpm restart` stops
#                  every process of /usr/sbin/php-fpm8.2 (start-stop-daemon --exec), which would end
#                  it too (what LIVE_RESTART_STOPS_OTHER_MASTERS warns about)
set -eu
CASE="$1"
CONF_D=/etc/php/8.2/fpm/conf.d
WWW=/run/php/php8.2-fpm.sock
SHOP=/run/php/shop.sock

served() {
    SCRIPT_FILENAME=/srv/app/version.php SCRIPT_NAME=/version.php REQUEST_METHOD=GET QUERY_STRING='' \
        cgi-fcgi -bind -connect "$1" | grep -o 'release=[0-9]*' || true
}

deploy() {
    mkdir -p /srv/app
    printf '<?php echo "release=%s\\n";\n' "$1" >/srv/app/version.php
}

# release 1 cached by the pool on socket $1, release 2 written: release 1 must still be served
cache_then_change() {
    deploy 1
    touch -d '-60 seconds' /srv/app/version.php
    [ "$(served "$1")" = "release=1" ] || { echo "${CASE}: release 1 is not served through $1" >&2; exit 1; }
    deploy 2
}

expect_old() {
    got="$(served "$1")"
    [ "${got}" = "release=1" ] || { echo "${CASE}: expected the old release=1 through $1, got '${got}': the case proves nothing" >&2; exit 1; }
    echo "${CASE}: $1 still serves release=1 (release=2 on disk)"
}

case "${CASE}" in
reset)
    rm -f "${CONF_D}/20-opcache_temp.ini" "${CONF_D}/99-disable-opcache-temp.ini" "${CONF_D}/99-opcache-optimization.ini" \
        "${CONF_D}/99-opcache.ini" "${CONF_D}/90-opcache-file-cache.ini" "${CONF_D}/95-validate.ini"
    rm -rf /var/cache/php-opcache
    sed -i '/^php_admin_value\[opcache.validate_timestamps\]/d' /etc/php/8.2/fpm/pool.d/www.conf
    service php8.2-fpm restart >/dev/null
    ;;
incident)
    printf '; temporary: OPcache off while debugging\nopcache.enable=0\n' >"${CONF_D}/20-opcache_temp.ini"
    printf '; disable OPcache (temporary)\nopcache.enable=0\n' >"${CONF_D}/99-disable-opcache-temp.ini"
    printf '; the incident: a performance tweak that loads last\nopcache.enable=1\nopcache.validate_timestamps=0\nopcache.revalidate_freq=0\n' \
        >"${CONF_D}/99-opcache-optimization.ini"
    printf '; more memory\nopcache.memory_consumption=256\n' >"${CONF_D}/99-opcache.ini"
    service php8.2-fpm restart >/dev/null
    cache_then_change "${WWW}"
    expect_old "${WWW}"
    ;;
file_cache)
    install -d -o www-data -g www-data /var/cache/php-opcache
    printf 'opcache.file_cache=/var/cache/php-opcache\nopcache.validate_timestamps=0\n' >"${CONF_D}/90-opcache-file-cache.ini"
    service php8.2-fpm restart >/dev/null
    cache_then_change "${WWW}"
    # the incident team restarted PHP-FPM: the file cache brings the old bytecode back
    sleep 1.1
    service php8.2-fpm restart >/dev/null
    expect_old "${WWW}"
    ;;
pool_override)
    printf 'php_admin_value[opcache.validate_timestamps] = 0\n' >>/etc/php/8.2/fpm/pool.d/www.conf
    service php8.2-fpm restart >/dev/null
    cache_then_change "${WWW}"
    expect_old "${WWW}"
    ;;
drift)
    printf '; a performance tweak\nopcache.validate_timestamps=0\n' >"${CONF_D}/95-validate.ini"
    service php8.2-fpm restart >/dev/null
    cache_then_change "${WWW}"
    # the "fix", written while PHP-FPM runs; nobody reloads it
    printf '; the fix\nopcache.validate_timestamps=1\n' >"${CONF_D}/95-validate.ini"
    expect_old "${WWW}"
    ;;
other_master)
    mkdir -p /etc/php/8.2/shop
    cat >/etc/php/8.2/shop/php-fpm.conf <<'CONF'
; a second PHP-FPM master of the same PHP, started by hand: php-fpm8.2-shop -y /etc/php/8.2/shop/php-fpm.conf
[global]
pid = /run/php/shop-fpm.pid
error_log = /var/log/shop-fpm.log

[shop]
user = www-data
group = www-data
listen = /run/php/shop.sock
listen.owner = www-data
listen.group = www-data
pm = static
pm.max_children = 2
php_admin_value[opcache.validate_timestamps] = 0
CONF
    install -m 0755 /usr/sbin/php-fpm8.2 /usr/local/sbin/php-fpm8.2-shop
    /usr/local/sbin/php-fpm8.2-shop -y /etc/php/8.2/shop/php-fpm.conf
    cat >/etc/nginx/sites-enabled/shop <<'CONF'
server {
    listen 80;
    server_name shop.example;
    root /srv/app;
    index index.php;
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/shop.sock;
    }
}
CONF
    nginx -t -q
    i=0
    while [ ! -S "${SHOP}" ] && [ "${i}" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    cache_then_change "${SHOP}"
    # the user restarts "PHP-FPM": Debian's php8.2-fpm, not the master that serves the site
    service php8.2-fpm restart >/dev/null
    expect_old "${SHOP}"
    ;;
*)
    echo "unknown case ${CASE}" >&2
    exit 2
    ;;
esac
