# shellcheck shell=bash
# Shared shell functions of scripts/setup-host and scripts/test. Source it; do not execute it.
#
# Every function here is safe to call more than once (idempotent).

# Repository root (= collection root): the parent of the directory holding this file.
LIB_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LIB_REPO_ROOT

# Where the test venv lives and the file whose hash it records.
VENV_DIR="${LIB_REPO_ROOT}/.venv"
REQUIREMENTS_FILE="${LIB_REPO_ROOT}/requirements/test.txt"
VENV_STAMP="${VENV_DIR}/.requirements.sha256"

log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

banner() {
    printf '\n==================== %s ====================\n' "$*"
}

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root for: $*"
    fi
}

# True when the dpkg package is installed (status "install ok installed").
pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# True when apt knows a candidate version for the package.
pkg_available() {
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [[ -n "${candidate}" && "${candidate}" != "(none)" ]]
}

# The PHP packages to install: php8.2-* where that version is installed or available
# (Debian 12), otherwise the distribution's default php-fpm/php-cli (e.g. Ubuntu 24.04: 8.3).
php_packages() {
    if pkg_installed php8.2-fpm || pkg_available php8.2-fpm; then
        echo "php8.2-fpm php8.2-cli"
    else
        echo "php-fpm php-cli"
    fi
}

# The PHP-FPM version "X.Y" the tests run against: the highest X.Y with both /etc/php/X.Y/fpm and
# /usr/sbin/php-fpmX.Y (Debian 12: 8.2, Ubuntu 24.04: 8.3, 22.04: 8.1). Fails when there is none.
php_fpm_version() {
    local dir version
    local -a versions=()
    for dir in /etc/php/*/fpm; do
        [[ -d "${dir}" ]] || continue
        version="${dir#/etc/php/}"
        version="${version%/fpm}"
        # a removed (not purged) package leaves its conffiles behind: the binary must be there too
        if [[ "${version}" =~ ^[0-9]+\.[0-9]+$ && -x "/usr/sbin/php-fpm${version}" ]]; then
            versions+=("${version}")
        fi
    done
    [[ ${#versions[@]} -gt 0 ]] || return 1
    printf '%s\n' "${versions[@]}" | sort -V | tail -n 1
}

# Name of the php-fpm SysV/systemd service: php<php_fpm_version>-fpm, else the highest
# /etc/init.d/php*-fpm.
php_fpm_service() {
    local version script
    if version="$(php_fpm_version)" && [[ -x "/etc/init.d/php${version}-fpm" ]]; then
        echo "php${version}-fpm"
        return 0
    fi
    script="$(find /etc/init.d -maxdepth 1 -name 'php*-fpm' -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "${script}" ]] || return 1
    echo "${script}"
}

# Start php-fpm through `service` (SysV script when PID 1 is not systemd) unless it already runs.
ensure_php_fpm_running() {
    local svc
    svc="$(php_fpm_service)" || die "no php-fpm init script found in /etc/init.d (run scripts/setup-host)"
    if service "${svc}" status >/dev/null 2>&1; then
        log "${svc} is running"
        return 0
    fi
    log "starting ${svc}"
    as_root service "${svc}" start >/dev/null
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        if service "${svc}" status >/dev/null 2>&1; then
            log "${svc} started"
            return 0
        fi
        sleep 0.5
        : "${i}"
    done
    die "${svc} did not start (see /var/log/${svc}.log)"
}

requirements_hash() {
    {
        sha256sum "${REQUIREMENTS_FILE}" | cut -d' ' -f1
        # a venv built by another interpreter must be rebuilt too
        python3 -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

venv_up_to_date() {
    [[ -x "${VENV_DIR}/bin/python" && -f "${VENV_STAMP}" ]] || return 1
    "${VENV_DIR}/bin/python" -c 'import sys' >/dev/null 2>&1 || return 1
    [[ "$(cat "${VENV_STAMP}")" == "$(requirements_hash)" ]]
}

# "3.11" for the venv's interpreter.
venv_python_version() {
    "${VENV_DIR}/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# ansible-test bootstraps pip in every venv it creates by running get-pip.py, which it downloads
# from a host that is not reachable here. It uses ~/.ansible/test/cache/get_pip_<X_Y>.py when that
# file exists. This installs a stand-in there that runs pip from the pip wheel of the same version
# (downloaded from PyPI once) and installs that same wheel into the new venv.
ensure_get_pip_standin() {
    local python="${VENV_DIR}/bin/python"
    local at_root pip_version cache_dir standin wheel
    at_root="$("${python}" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')"
    pip_version="$(grep -hoE "^[[:space:]]*pip='[0-9][0-9.]*'" "${at_root}/_internal/python_requirements.py" | head -n 1 | cut -d"'" -f2)"
    [[ -n "${pip_version}" ]] || die "cannot find the pip version ansible-test bootstraps (in ${at_root}/_internal/python_requirements.py)"
    cache_dir="${HOME}/.ansible/test/cache"
    standin="${cache_dir}/get_pip_${pip_version//./_}.py"
    wheel="${cache_dir}/pip-${pip_version}-py3-none-any.whl"
    mkdir -p "${cache_dir}"
    if [[ ! -f "${wheel}" ]]; then
        log "downloading pip ${pip_version} wheel for ansible-test's pip bootstrap"
        local tmp
        tmp="$(mktemp -d)"
        "${python}" -m pip download --quiet --no-deps --only-binary=:all: --dest "${tmp}" "pip==${pip_version}" \
            || { rm -rf "${tmp}"; die "pip download pip==${pip_version} failed"; }
        mv "${tmp}/pip-${pip_version}-py3-none-any.whl" "${wheel}"
        rm -rf "${tmp}"
    fi
    if [[ -f "${standin}" ]] && grep -q 'phpops-get-pip-standin' "${standin}"; then
        return 0
    fi
    if [[ -f "${standin}" ]]; then
        # a real get-pip.py someone saved there works too: keep it
        return 0
    fi
    log "writing ansible-test pip bootstrap stand-in ${standin}"
    cat >"${standin}.tmp" <<EOF
"""phpops-get-pip-standin: offline replacement for get-pip-${pip_version}.py (written by scripts/lib.sh).

ansible-test runs this as __main__ with the arguments it would give get-pip.py, e.g.
  --disable-pip-version-check pip==${pip_version} --no-setuptools --no-wheel
It runs pip from the wheel next to this file and installs that wheel into the running interpreter.
"""
import os
import shutil
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEEL = os.path.join(HERE, "pip-${pip_version}-py3-none-any.whl")


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    # install pip from the local wheel rather than from an index
    args = [WHEEL if a == "pip==${pip_version}" else a for a in args]
    tmp = tempfile.mkdtemp(prefix="get-pip-standin-")
    try:
        # extracted rather than imported from the zip so that pip finds its CA bundle as a file
        with zipfile.ZipFile(WHEEL) as wheel:
            wheel.extractall(tmp)
        sys.path.insert(0, tmp)
        from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

        return pip_main(["install", "--upgrade", "--force-reinstall", "--no-index"] + args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
EOF
    mv "${standin}.tmp" "${standin}"
}

# Copy the repository's tracked and untracked-but-not-ignored files to
# <dest_root>/ansible_collections/phpops/opcache (the layout ansible-test requires) and print
# that collection directory. A real copy, not a symlink: ansible-test resolves its cwd.
build_collection_tree() {
    local dest_root="$1"
    local namespace name dest
    namespace="$(awk -F': *' '$1 == "namespace" {print $2; exit}' "${LIB_REPO_ROOT}/galaxy.yml")"
    name="$(awk -F': *' '$1 == "name" {print $2; exit}' "${LIB_REPO_ROOT}/galaxy.yml")"
    [[ -n "${namespace}" && -n "${name}" ]] || die "cannot read namespace/name from galaxy.yml"
    dest="${dest_root}/ansible_collections/${namespace}/${name}"
    mkdir -p "${dest}"
    (
        cd "${LIB_REPO_ROOT}"
        git ls-files -z -co --exclude-standard \
            | while IFS= read -r -d '' f; do
                # tracked files deleted from the work tree are listed by -c: leave them out; so is the
                # venv when it is a symlink (.gitignore's /.venv/ matches a directory only)
                [[ "${f}" != .venv ]] || continue
                if [[ -e "${f}" || -L "${f}" ]]; then printf '%s\0' "${f}"; fi
            done \
            | rsync -a --from0 --files-from=- ./ "${dest}/"
    ) || die "copying the repository to ${dest} failed"
    echo "${dest}"
}

# Xdebug and pcov for the PHP under test, UNPACKED, never installed: the oracle test
# tests/oracle/test_live_jit.py loads them into a private php-fpm only (an extension that hooks the
# executor turns the JIT off), the machine's PHP never sees them. `apt-get download` fetches the
# Debian packages php<X.Y>-xdebug and php<X.Y>-pcov from the archive apt already uses into
# ${TEST_EXT_CACHE}/php<X.Y>/ and `dpkg-deb -x` unpacks them to .../root (usr/lib/php/<API>/*.so).
# When that is impossible (no network, no such package), .../UNAVAILABLE says why and the test
# fails in CI (CI=true) or skips with that reason elsewhere; setup itself goes on.
TEST_EXT_CACHE="${PHPOPS_TEST_EXT_CACHE:-/var/cache/phpops-opcache-ext}"
TEST_EXTENSIONS=(xdebug pcov)

ensure_test_extensions() {
    local version="$1" dir ext deb reason=""
    local -a missing=()
    dir="${TEST_EXT_CACHE}/php${version}"
    for ext in "${TEST_EXTENSIONS[@]}"; do
        [[ -n "$(find "${dir}/root/usr/lib/php" -name "${ext}.so" 2>/dev/null | head -n 1)" ]] || missing+=("php${version}-${ext}")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        rm -f "${dir}/UNAVAILABLE"
        log "test extensions (${TEST_EXTENSIONS[*]}) for PHP ${version} are unpacked in ${dir}/root"
        return 0
    fi
    log "downloading ${missing[*]} (unpacked into ${dir}/root, not installed)"
    as_root mkdir -p "${dir}/debs"
    # a package list older than the archive (or none yet) gives 404s or "no candidate": update once
    if ! (cd "${dir}/debs" && as_root apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}") >/dev/null 2>&1; then
        as_root apt-get update -qq >/dev/null 2>&1 || true
        (cd "${dir}/debs" && as_root apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}") >/dev/null 2>&1 \
            || reason="apt-get download ${missing[*]} failed (no network to the Debian archive, or no such package)"
    fi
    if [[ -z "${reason}" ]]; then
        for deb in "${dir}"/debs/*.deb; do
            as_root dpkg-deb -x "${deb}" "${dir}/root" || { reason="dpkg-deb -x ${deb} failed"; break; }
        done
    fi
    for ext in "${TEST_EXTENSIONS[@]}"; do
        [[ -n "${reason}" || -n "$(find "${dir}/root/usr/lib/php" -name "${ext}.so" 2>/dev/null | head -n 1)" ]] \
            || reason="php${version}-${ext} has no ${ext}.so"
    done
    if [[ -n "${reason}" ]]; then
        echo "${reason}" | as_root tee "${dir}/UNAVAILABLE" >/dev/null
        log "WARNING: ${reason}: tests/oracle/test_live_jit.py cannot load the extension"
        return 0
    fi
    rm -f "${dir}/UNAVAILABLE"
    log "test extensions unpacked: $(find "${dir}/root/usr/lib/php" -name '*.so' | tr '\n' ' ')"
}

# The fleet lab (tests/lab/lab) needs root, overlayfs, network namespaces and unshare; it installs
# debootstrap and zstd itself when it builds its cached rootfs.
ensure_lab_prerequisites() {
    [[ "$(id -u)" -eq 0 ]] || die "the fleet lab needs root (namespaces, overlay mounts)"
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || die "no overlayfs in this kernel"
    local cmd
    for cmd in ip unshare nsenter ssh ssh-keygen; do
        command -v "${cmd}" >/dev/null 2>&1 || die "the fleet lab needs ${cmd} (apt-get install iproute2 util-linux openssh-client)"
    done
}
