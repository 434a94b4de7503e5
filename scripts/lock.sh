#!/usr/bin/env bash
# Regenerates the lock files in requirements/ from pyproject.toml with `uv pip compile` (PyPI, with hashes):
#   base.txt (what `parley` needs), test.txt (base + the test extra), package.txt (base + PyInstaller).
# All three come from one resolution of every extra, so a package shared by two of them has the same version.
# They pin Linux x86_64 / CPython 3.11 (wheels up to manylinux_2_34, as Debian 12's glibc 2.36 takes).
# Run after changing dependencies in pyproject.toml, or to take newer releases: bash scripts/lock.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh

ensure_venv
if ! .venv/bin/python -m uv --version >/dev/null 2>&1; then
    say "installing uv into .venv (only this script uses it)"
    .venv/bin/python -m pip install --disable-pip-version-check -q uv || die "pip install uv failed"
fi
target=(--python-version 3.11 --python-platform x86_64-manylinux_2_34)
all=$(mktemp)
trap 'rm -f "$all"' EXIT
# --refresh: uv's cache may hold an old page of a package's releases.
# The shared resolution is a temporary file: its name is dropped from the "# via" notes so they stay stable.
compile() {
    .venv/bin/python -m uv pip compile --quiet --refresh --generate-hashes --no-header "${target[@]}" "$@" |
        sed -e "/^    #   -c /d" -e "s|^    # via -c .*|    # via (shared resolution)|"
}
header() {
    printf '# Pinned with hashes for Linux x86_64 / CPython 3.11 by `bash scripts/lock.sh` from pyproject.toml%s.\n' "$1"
    printf '# Installed by scripts/lib/common.sh (pip_install_project); do not edit by hand.\n'
}
compile pyproject.toml --all-extras >"$all"
{
    header ""
    compile pyproject.toml -c "$all"
} >requirements/base.txt
for extra in test package; do
    {
        header " (extra: $extra)"
        compile pyproject.toml --extra "$extra" -c "$all"
    } >"requirements/$extra.txt"
done
say "requirements/: $(grep -c '==' requirements/base.txt) base, $(grep -c '==' requirements/test.txt) test," \
    "$(grep -c '==' requirements/package.txt) package pins"
