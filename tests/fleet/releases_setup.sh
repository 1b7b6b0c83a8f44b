#!/bin/sh
# Three releases on a lab host (run there: sh -s < this file), as deployer/capistrano lay them out:
# /srv/app/releases/N (public/index.php requiring src/Lib1..N.php: N+1 scripts), /srv/app/current
# switched 1 -> 2 -> 3 (atomic rename), each release requested through the www pool right after its
# switch with SCRIPT_FILENAME resolved as nginx's $realpath_root does. File times are a minute old
# (outside opcache.file_update_protection). An nginx site serves root /srv/app/current/public.
set -eu
for n in 1 2 3; do
    d="/srv/app/releases/${n}"
    mkdir -p "${d}/public" "${d}/src"
    i=1
    requires=""
    while [ "${i}" -le "${n}" ]; do
        printf '<?php function lib%s_%s() { return %s; }\n' "${n}" "${i}" "${i}" >"${d}/src/Lib${i}.php"
        requires="${requires} require __DIR__ . '/../src/Lib${i}.php';"
        i=$((i + 1))
    done
    printf '<?php%s echo "release=%s\\n";\n' "${requires}" "${n}" >"${d}/public/index.php"
    touch -d '-60 seconds' "${d}/public/index.php" "${d}"/src/*.php
    ln -sfn "releases/${n}" /srv/app/current.new
    mv -T /srv/app/current.new /srv/app/current
    real="$(readlink -f /srv/app/current/public)"
    out="$(SCRIPT_FILENAME="${real}/index.php" SCRIPT_NAME=/index.php REQUEST_METHOD=GET QUERY_STRING='' \
        cgi-fcgi -bind -connect /run/php/php8.2-fpm.sock)"
    case "${out}" in
    *"release=${n}"*) echo "release ${n} served from ${real}" ;;
    *) echo "release ${n} NOT served: ${out}" >&2; exit 1 ;;
    esac
done
cat >/etc/nginx/sites-enabled/app <<'CONF'
server {
    listen 80;
    server_name app.example;
    root /srv/app/current/public;
    index index.php;
    location ~ \.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
CONF
nginx -t -q
