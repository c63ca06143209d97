#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 machine (as root):
# the database servers and sshd the test bench starts, a venv with the wrapper and the test
# tools, and the dev collections path. Safe to run again: it skips what is already there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# chromium: the browser the web tests drive (Playwright, pointed at /usr/bin/chromium: no browser download)
apt_packages=(postgresql mariadb-server mariadb-client redis-server openssh-server openssh-client sqlite3 util-linux python3-venv cron curl chromium)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "bootstrap: installing the wrapper and test tools into .venv"
    # (this machine's pip configuration names local indexes that may be absent: drop that noise)
    .venv/bin/pip install -q -e '.[test]' 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# ansible-playbook and pytest find the collection as ansible_collections.infrakt.backup
# through this link; it is made here rather than committed (see collections/README.md).
mkdir -p collections/ansible_collections/infrakt
ln -sfn ../../.. collections/ansible_collections/infrakt/backup
