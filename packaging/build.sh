#!/usr/bin/env bash
# Builds the one-folder bundle dist/parley/ with PyInstaller, then smoke-tests it:
#   --version, and `--demo --screenshot` offscreen must give a non-blank PNG. Prints size and cold-start times.
# Usage: bash packaging/build.sh [--no-smoke]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
ensure_venv
py=.venv/bin/python
echo "== packaging: installing PyInstaller (pinned in requirements/package.txt)"
pip_install_project package
if ! ldconfig -p 2>/dev/null | grep -q libportaudio.so.2; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libportaudio2 >/dev/null; fi
fi
echo "== packaging: building dist/parley"
start=$(date +%s)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller packaging/parley.spec
echo "build took $(( $(date +%s) - start )) s"
[ "${1:-}" = "--no-smoke" ] && exit 0
exec "$py" packaging/smoke.py dist/parley/parley
