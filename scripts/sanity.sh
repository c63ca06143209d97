#!/usr/bin/env bash
# ansible-test sanity on the collection exactly as it ships: the tarball `ansible-galaxy
# collection build` makes (galaxy.yml's build_ignore leaves the wrapper, tests and dev links
# out) is unpacked into <tmp>/ansible_collections/infrakt/backup, where ansible-test must run.
# Every sanity test runs for Python 3.11 (the controller); `compile` also runs for each target
# Python the docs claim (3.8-3.13, FACTS.md) that this machine has. Offline-safe: ansible-test
# fetches a pip bootstrap script from a host we cannot reach, so the cache gets a stand-in
# that bootstraps pip from the stdlib; the pinned requirements then come from PyPI.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/.venv/bin:$PATH"

cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
# ansible-core 2.19 asks for pip 24.2; the file name carries the version it asks for
[ -f "$cache/get_pip_24_2.py" ] || echo 'import ensurepip; ensurepip.bootstrap(upgrade=True)' > "$cache/get_pip_24_2.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ansible-galaxy collection build --force --output-path "$work" "$top" >/dev/null
tree="$work/ansible_collections/infrakt/backup"
mkdir -p "$tree"
tar -xzf "$work"/infrakt-backup-*.tar.gz -C "$tree"
cd "$tree"

# shellcheck is not installed here; the project's shell scripts are not in the collection.
ansible-test sanity --python 3.11 --local --skip-test shellcheck --color no

for version in 3.8 3.9 3.10 3.12 3.13; do
    # a pyenv shim on PATH fails for versions that are not selected: take the real binary
    interpreter=$(ls -d "$HOME"/.pyenv/versions/"$version".*/bin/"python$version" 2>/dev/null | head -n 1 || true)
    [ -n "$interpreter" ] || interpreter=$(command -v "/usr/bin/python$version" || true)
    if [ -z "$interpreter" ]; then
        echo "sanity: no python$version on this machine; compile for $version not checked"
        continue
    fi
    PATH="$(dirname "$interpreter"):$PATH" ansible-test sanity --test compile --python "$version" --local --color no
done
