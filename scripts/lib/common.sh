# shellcheck shell=bash
# Shared helpers for scripts/start.sh and scripts/test.sh: messages, the .venv and the editable install.
# Sourced, never run. Expects to be called from the repository root.

say() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# "sudo -n" / "" / "no": how this user may run apt-get. Root runs it directly; a non-root user only under
# CI=true with a password-less sudo (a developer's laptop is never changed behind their back).
privilege() {
    if [ "$(id -u)" = 0 ]; then
        printf '\n'
    elif [ "${CI:-}" = true ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        printf 'sudo -n\n'
    else
        printf 'no\n'
    fi
}

# The python that makes .venv: $PYTHON, else python3, and it must be >= 3.11.
pick_python() {
    local py=${PYTHON:-python3}
    command -v "$py" >/dev/null 2>&1 || die "$py not found: Parley needs Python >= 3.11 (set PYTHON=/path/to/python3.11 or newer)"
    if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
        die "$py is Python $("$py" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '?'): Parley needs Python >= 3.11 (set PYTHON=/path/to/python3.11 or newer)"
    fi
    printf '%s\n' "$py"
}

# Makes .venv if it is missing or broken (its python gone or older than 3.11).
ensure_venv() {
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
        return 0
    fi
    local py
    py=$(pick_python)
    if [ -e .venv ]; then
        say "recreating .venv (its python is missing or older than 3.11)"
        "$py" -m venv --clear .venv || die "'$py -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    else
        say "creating .venv with $py ($("$py" -c 'import platform; print(platform.python_version())'))"
        "$py" -m venv .venv || die "'$py -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
}

# What an install depends on: pyproject.toml, the repository's path (editable installs point at it) and the
# venv's python. A stamp in .venv remembers the last one, so a second run skips pip entirely.
install_fingerprint() {
    {
        cat pyproject.toml
        pwd
        .venv/bin/python -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

# pip_install_project [EXTRA]: `pip install -e .[EXTRA]` into .venv, only when the fingerprint changed.
pip_install_project() {
    local extra=${1:-} spec=. stamp=.venv/.parley-install-base
    if [ -n "$extra" ]; then
        spec=".[$extra]"
        stamp=.venv/.parley-install-$extra
    fi
    local want
    want=$(install_fingerprint)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/parley ]; then
        return 0
    fi
    say "pip install -e '$spec' (first run or pyproject.toml changed; a minute or two on a new machine)"
    local log rc=0
    log=$(mktemp)
    .venv/bin/python -m pip install --disable-pip-version-check -q -e "$spec" >"$log" 2>&1 || rc=$?
    # pip's output only when it failed: a machine's pip.conf may add a warning per package otherwise.
    if [ "$rc" != 0 ]; then
        cat "$log" >&2
        rm -f "$log"
        die "pip install -e '$spec' failed (exit $rc)"
    fi
    rm -f "$log"
    printf '%s\n' "$want" >"$stamp"
    # An install with extras is also the plain install.
    if [ -n "$extra" ]; then printf '%s\n' "$want" >.venv/.parley-install-base; fi
}

# The Python trees ruff checks and formats (docs/ is left out: its snippets are aligned by hand).
LINT_PATHS=(app tests benchmarks scripts packaging)

# run_checks: ruff check, ruff format --check and mypy against its baseline, with .venv's tools; all three run
# so one run shows every problem. Returns non-zero if any failed.
run_checks() {
    local rc=0
    say "ruff check ${LINT_PATHS[*]}"
    .venv/bin/python -m ruff check --quiet "${LINT_PATHS[@]}" || {
        warn "ruff check failed: '.venv/bin/ruff check --fix ${LINT_PATHS[*]}' fixes most"
        rc=1
    }
    say "ruff format --check ${LINT_PATHS[*]}"
    .venv/bin/python -m ruff format --check --quiet "${LINT_PATHS[@]}" || {
        warn "files need formatting: '.venv/bin/ruff format ${LINT_PATHS[*]}'"
        rc=1
    }
    say "mypy (new errors only; scripts/lib/mypy_check.py, mypy-baseline.txt)"
    .venv/bin/python scripts/lib/mypy_check.py || {
        warn "mypy found errors that mypy-baseline.txt does not list (above)"
        rc=1
    }
    return "$rc"
}
