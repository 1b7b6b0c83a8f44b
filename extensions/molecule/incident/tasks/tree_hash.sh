#!/usr/bin/env bash
# One hash over /etc/php: every file (mode, owner, group, sha256) and every link (its target), by name.
set -o pipefail
cd /etc/php && find . \( -type f -o -type l \) -print | LC_ALL=C sort | while IFS= read -r f; do
    if [ -L "$f" ]; then
        printf 'L %s %s\n' "$f" "$(readlink "$f")"
    else
        printf 'F %s %s %s\n' "$f" "$(stat -c '%a %U %G' "$f")" "$(sha256sum <"$f")"
    fi
done | sha256sum
