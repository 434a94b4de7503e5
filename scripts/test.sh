#!/usr/bin/env bash
# Installs everything the tests need and runs the whole suite (or the pytest arguments given) inside a private
# session: its own HOME, D-Bus + GNOME Keyring, PulseAudio with a virtual mic and speaker, and Xvfb.
# As root (or CI=true with password-less sudo) it apt-installs the missing Debian packages; otherwise it names
# them and the tests that need them skip. Under CI=true a part of the session that does not work is an error.
# Before the session: ruff, ruff format --check and mypy (scripts/lib/mypy_check.py, against mypy-baseline.txt).
# Exit code: pytest's, or 1 when a check fails, a benchmark is past its ceiling or the frozen bundle fails.
# After a green suite the benchmarks run (unless PARLEY_NO_BENCHMARKS=1), then the bundle is built and
# smoke-tested (unless PARLEY_NO_PACKAGING=1).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
. scripts/lib/common.sh
# shellcheck source=scripts/lib/apt.sh
. scripts/lib/apt.sh
# shellcheck source=scripts/lib/session.sh
. scripts/lib/session.sh

# What each package is for (PySide6-Essentials 6.11 from PyPI bundles Qt and ICU, not these system libraries):
DEBS=(
    # voice: PortAudio (ALSA-only build) and ALSA's pulse plugin, the private sound server and its tools
    libportaudio2 libasound2-plugins pulseaudio pulseaudio-utils
    # keyring: a session bus (dbus-daemon, dbus-send; dbus-x11 satisfies gnome-keyring's dbus-session-bus need
    # without pulling systemd in) and the Secret Service, plus secret-tool to check it
    dbus dbus-x11 gnome-keyring libsecret-tools
    # display: a virtual X server for e2e tests
    xvfb
    # Qt's own needs: QtGui (offscreen and xcb) ...
    libegl1 libgl1 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libxkbcommon0 libx11-6 fonts-dejavu-core
    # ... and the xcb platform plugin
    libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-shape0 libxcb-xkb1
    # voice tests: speech to feed the virtual microphone, and measuring sound files
    espeak-ng sox
)

section "installing"
if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null 2>&1; then
    priv=$(privilege)
    if [ "$priv" = no ]; then
        missing=$(apt_missing "${DEBS[@]}" | tr '\n' ' ')
        if [ -n "$missing" ]; then
            say "not root: not installing Debian packages; tests that need them will skip. Missing: $missing"
            say "  (sudo apt-get install --no-install-recommends $missing)"
        fi
    elif ! apt_install "$priv" "${DEBS[@]}"; then
        if [ "${CI:-}" = true ]; then die "could not install the Debian packages the tests need"; fi
        warn "could not install every Debian package: tests that need them will skip"
    fi
else
    say "not a Debian-like Linux: no system packages installed; audio/keyring/display tests will skip"
fi
ensure_venv
pip_install_project test

# Seconds, and before any daemon starts: a lint or type error fails the run here, with the offending lines.
# (PARLEY_NO_CHECKS=1 skips them while iterating on one test; CI always runs them.)
if [ "${PARLEY_NO_CHECKS:-}" != 1 ] || [ "${CI:-}" = true ]; then
    section "checks: ruff, ruff format, mypy"
    run_checks || die "the checks above failed: fix them first (the same as .pre-commit-config.yaml runs)"
fi

section "starting private audio/keyring/display"
trap session_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(date +%s.%N)
session_start
say "session in $SESSION_DIR ($(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s):" \
    "audio=${PARLEY_TEST_AUDIO:-no} keyring=${PARLEY_TEST_KEYRING:-no}" \
    "xvfb=${PARLEY_TEST_XVFB:-no}${PARLEY_TEST_DISPLAY:+ ($PARLEY_TEST_DISPLAY)}"
if [ "${#SESSION_FAILURES[@]}" -gt 0 ]; then
    if [ "${CI:-}" = true ]; then
        printf 'error: the private session is incomplete under CI=true:\n' >&2
        printf '  - %s\n' "${SESSION_FAILURES[@]}" >&2
        exit 1
    fi
    say "tests needing the parts above will skip"
fi

section "tests"
rc=0
if [ "$#" -eq 0 ]; then
    # Two passes: the tests that need no shared device in parallel (pytest-xdist; most of their time is waiting on
    # the emulator or a timer), then the ones that share the private PulseAudio, keyring or display, one at a time.
    .venv/bin/python -m pytest -n 6 --dist worksteal -m "not e2e and not audio and not keyring" tests/ || rc=$?
    .venv/bin/python -m pytest -m "e2e or audio or keyring" tests/ || { r=$?; [ "$rc" != 0 ] || rc=$r; }
else
    .venv/bin/python -m pytest "$@" || rc=$?
fi

if [ "$rc" = 0 ] && [ -f benchmarks/__main__.py ] && [ "${PARLEY_NO_BENCHMARKS:-}" != 1 ]; then
    section "benchmarks"
    # Past a generous ceiling is a regression, so it fails the run like a failing test.
    .venv/bin/python -m benchmarks || { warn "benchmarks past their ceilings (exit $?)"; rc=1; }
fi
if [ "$rc" = 0 ] && [ "${PARLEY_NO_PACKAGING:-}" != 1 ]; then
    section "packaging: frozen bundle and its smoke test"
    # The double-clickable build must keep working: build dist/parley, run --version and a demo screenshot.
    bash packaging/build.sh || { warn "the frozen bundle failed to build or start"; rc=1; }
fi
if [ "$rc" = 5 ]; then warn "pytest collected no tests: counted as a failure"; fi
exit "$rc"
