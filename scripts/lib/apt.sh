# shellcheck shell=bash
# Debian packages: which are missing, and installing only those (noninteractive, one `apt-get update` at most).
# Sourced after scripts/lib/common.sh.

# Prints the packages of "$@" that dpkg does not have installed, one a line.
apt_missing() {
    local p
    command -v dpkg-query >/dev/null 2>&1 || {
        printf '%s\n' "$@"
        return 0
    }
    for p in "$@"; do
        case "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" in
        ii*) ;;
        *) printf '%s\n' "$p" ;;
        esac
    done
}

# apt_install PRIV PKG...: installs the missing ones with PRIV ("" for root, "sudo -n"). Runs `apt-get update`
# first only when the package lists are empty, or once more if the install could not find a package.
# Returns non-zero (and prints apt's output) if the install failed.
apt_install() {
    local priv=$1
    shift
    local missing
    missing=$(apt_missing "$@" | tr '\n' ' ')
    missing=${missing% }
    [ -n "$missing" ] || return 0
    command -v apt-get >/dev/null 2>&1 || {
        warn "no apt-get here: install these yourself: $missing"
        return 1
    }
    say "apt-get install $missing"
    local log rc=0
    log=$(mktemp)
    # shellcheck disable=SC2086 # $priv and $missing are word lists on purpose
    {
        if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
            $priv env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        fi
        $priv env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing ||
            {
                $priv env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
                    $priv env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
            }
    } </dev/null >"$log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        cat "$log" >&2
        warn "apt-get install failed (exit $rc)"
    fi
    rm -f "$log"
    return "$rc"
}
