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

# lock_file [EXTRA]: the lock file for EXTRA (requirements/base.txt without one) when this venv is what the
# locks pin for (Linux x86_64, CPython 3.11); nothing elsewhere, and the install then uses pyproject's ranges.
lock_file() {
    local f=requirements/${1:-base}.txt
    [ -f "$f" ] || return 0
    [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || return 0
    .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || return 0
    printf '%s\n' "$f"
}

# What an install depends on: pyproject.toml, the lock file, the repository's path (editable installs point at
# it) and the venv's python. A stamp in .venv remembers the last one, so a second run skips pip entirely.
install_fingerprint() {
    {
        cat pyproject.toml
        if [ -n "${1:-}" ]; then cat "$1"; fi
        pwd
        .venv/bin/python -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

# _pip ARGS...: pip into .venv, quiet; its output only when it failed (a machine's pip.conf may add a warning
# per package otherwise).
_pip() {
    local log rc=0
    log=$(mktemp)
    .venv/bin/python -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        cat "$log" >&2
        rm -f "$log"
        die "pip install $* failed (exit $rc)"
    fi
    rm -f "$log"
}

# pip_install_project [EXTRA]: the pinned dependencies from requirements/EXTRA.txt (hash-checked), then Parley
# itself with `pip install --no-deps -e .`; only when the fingerprint changed (pyproject.toml or the lock).
# Where no lock fits (another OS, CPU or Python) it is `pip install -e .[EXTRA]` from pyproject's ranges.
pip_install_project() {
    local extra=${1:-} spec=. stamp=.venv/.parley-install-base lock
    if [ -n "$extra" ]; then
        spec=".[$extra]"
        stamp=.venv/.parley-install-$extra
    fi
    lock=$(lock_file "$extra")
    local want
    want=$(install_fingerprint "$lock")
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/parley ]; then
        compile_app
        return 0
    fi
    if [ -n "$lock" ]; then
        say "pip install -r $lock, then -e . (first run or the lock changed; a minute or two on a new machine)"
        _pip --require-hashes -r "$lock"
        _pip --no-deps -e .
    else
        say "pip install -e '$spec' (no lock for $(uname -s)-$(uname -m) with this Python: pyproject's ranges)"
        _pip -e "$spec"
    fi
    printf '%s\n' "$want" >"$stamp"
    # An install with extras is also the plain install.
    if [ -n "$extra" ]; then printf '%s\n' "$(install_fingerprint "$(lock_file)")" >.venv/.parley-install-base; fi
    compile_app
}

# compile_app: byte-compile app/ as pip does for an installed package. An editable install does not, and where
# PYTHONDONTWRITEBYTECODE is set (as on CI machines) every start compiled Parley's ~200 modules from source again:
# a third of its start-up. Up-to-date files are skipped, so this costs well under a second after the first time.
compile_app() {
    .venv/bin/python -m compileall -q app >/dev/null || warn "could not byte-compile app/ (start-up is slower)"
}

# The Python trees ruff checks and formats (docs/ is left out: its snippets are aligned by hand).
LINT_PATHS=(app tests benchmarks devtools scripts packaging)

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
