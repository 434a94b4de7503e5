#!/usr/bin/env bash
# Installs Parley into .venv (only when pyproject.toml changed since the last install) and starts it.
# Arguments go to `parley`, e.g. `bash scripts/start.sh --demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh

ensure_venv
pip_install_project ""

# Voice needs PortAudio; everything else works without it.
# (Debian/Ubuntu only: elsewhere the sounddevice wheel brings its own, or the distribution names it differently.)
if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null 2>&1 && [ -n "$(apt_missing libportaudio2)" ]; then
    priv=$(privilege)
    if [ "$priv" = no ] || ! apt_install "$priv" libportaudio2; then
        say "note: voice needs PortAudio (Debian/Ubuntu: sudo apt-get install libportaudio2); chat and images work without it"
    fi
fi

exec .venv/bin/parley "$@"
