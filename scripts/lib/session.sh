# shellcheck shell=bash
# A private desktop session for one test run, all under one temporary folder that session_stop removes:
#   - HOME and XDG_{RUNTIME,CONFIG,DATA,STATE,CACHE}_HOME inside it (nothing of the user's is read or written);
#   - a private D-Bus session bus with GNOME Keyring's Secret Service, its "login" collection unlocked and the
#     default, so keyring.set_password() works without a prompt;
#   - a private PulseAudio daemon with two null sinks, "speaker" (the default sink) and "micfeed", and a source
#     "mic" remapped from micfeed.monitor (the default source): whatever is played to micfeed is what the
#     default microphone records. PortAudio (ALSA only on Debian) reaches it through ALSA's pulse plugin
#     (libasound2-plugins) with a private ~/.asoundrc pointing the default PCM at pulse;
#   - Xvfb on a free display.
# Each part that was verified working exports PARLEY_TEST_AUDIO=1 / PARLEY_TEST_KEYRING=1 / PARLEY_TEST_XVFB=1.
# Sourced after scripts/lib/common.sh; session_start needs .venv (it checks each part with the real libraries).

SESSION_DIR=""
SESSION_PIDS=()     # our own daemons, stopped in reverse order by session_stop
SESSION_FAILURES=() # one line per part that did not come up

session_stop() {
    local pid i alive
    # All at once, then up to 2 s for them to go, then KILL for any left.
    for pid in "${SESSION_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for ((i = 0; i < 40; i++)); do
        alive=0
        for pid in "${SESSION_PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ]; then alive=1; fi
        done
        [ "$alive" = 0 ] && break
        sleep 0.05
    done
    for pid in "${SESSION_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SESSION_PIDS=()
    if [ -n "$SESSION_DIR" ] && [ -d "$SESSION_DIR" ]; then rm -rf "$SESSION_DIR"; fi
    SESSION_DIR=""
}

_session_fail() {
    SESSION_FAILURES+=("$1")
    warn "$1"
}

# Prints the last lines of a daemon's log, indented, to stderr.
_session_log_tail() {
    [ -s "$1" ] && sed 's/^/    | /' "$1" | tail -n 15 >&2
    return 0
}

_session_private_env() {
    SESSION_DIR=$(mktemp -d "${TMPDIR:-/tmp}/parley-test.XXXXXX")
    export HOME="$SESSION_DIR/home"
    export XDG_RUNTIME_DIR="$SESSION_DIR/run"
    export XDG_CONFIG_HOME="$HOME/.config"
    export XDG_DATA_HOME="$HOME/.local/share"
    export XDG_STATE_HOME="$HOME/.local/state"
    export XDG_CACHE_HOME="$HOME/.cache"
    mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" "$XDG_CACHE_HOME"
    chmod 700 "$SESSION_DIR" "$XDG_RUNTIME_DIR"
    export PARLEY_TEST_SESSION_DIR="$SESSION_DIR"
    # Nothing from the caller's desktop may leak in: tests set their own PARLEY_HOME, and get a display,
    # a bus, a keyring and a sound server only from this session.
    unset PARLEY_HOME DISPLAY WAYLAND_DISPLAY XAUTHORITY DBUS_SESSION_BUS_ADDRESS PYTHON_KEYRING_BACKEND \
        GNOME_KEYRING_CONTROL SESSION_MANAGER PULSE_SERVER PULSE_SINK PULSE_SOURCE PULSE_COOKIE \
        PULSE_RUNTIME_PATH PULSE_CONFIG_PATH PULSE_STATE_PATH ALSA_CONFIG_PATH ALSA_CARD PARLEY_TEST_DISPLAY \
        PARLEY_TEST_AUDIO PARLEY_TEST_KEYRING PARLEY_TEST_XVFB
    export QT_QPA_PLATFORM=offscreen
}

_session_need() {
    local what=$1 pkg=$2 cmd
    shift 2
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || {
            _session_fail "$what: '$cmd' not found (Debian package $pkg)"
            return 1
        }
    done
}

# D-Bus session bus + GNOME Keyring (secrets component), unlocked with a throwaway password.
_session_keyring() {
    _session_need keyring dbus-daemon dbus-daemon dbus-send || return 1
    local out
    out=$(dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1 \
        --address="unix:path=$SESSION_DIR/bus" 2>"$SESSION_DIR/dbus.log") || {
        _session_fail "keyring: dbus-daemon --session did not start"
        _session_log_tail "$SESSION_DIR/dbus.log"
        return 1
    }
    export DBUS_SESSION_BUS_ADDRESS
    DBUS_SESSION_BUS_ADDRESS=$(printf '%s\n' "$out" | sed -n 1p)
    SESSION_PIDS+=("$(printf '%s\n' "$out" | sed -n 2p)")

    _session_need keyring gnome-keyring gnome-keyring-daemon || return 1
    # --unlock on an empty keyrings folder creates the "login" keyring with this password; being the only one
    # (and named login) it is the default collection. --foreground keeps its pid ours to stop.
    local pw
    pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s' "$pw" | gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$SESSION_DIR/keyring.log" 2>&1 &
    SESSION_PIDS+=("$!")
    local i
    for ((i = 0; i < 100; i++)); do
        if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
            break
        fi
        sleep 0.1
    done
    local got
    got=$(timeout 30 .venv/bin/python -c '
import keyring
keyring.set_password("parley-test-session", "probe", "ok")
print(type(keyring.get_keyring()).__module__, keyring.get_password("parley-test-session", "probe"))
keyring.delete_password("parley-test-session", "probe")
' 2>"$SESSION_DIR/keyring-probe.log") || true
    if [ "$got" != "keyring.backends.SecretService ok" ]; then
        _session_fail "keyring: Secret Service round trip failed (got '${got}')"
        _session_log_tail "$SESSION_DIR/keyring-probe.log"
        _session_log_tail "$SESSION_DIR/keyring.log"
        return 1
    fi
    if command -v secret-tool >/dev/null 2>&1; then
        if ! { printf 'ok' | timeout 10 secret-tool store --label='parley test probe' parley-test probe &&
            [ "$(timeout 10 secret-tool lookup parley-test probe)" = ok ] &&
            timeout 10 secret-tool clear parley-test probe; } >/dev/null 2>&1; then
            _session_fail "keyring: secret-tool store/lookup/clear failed"
            return 1
        fi
    fi
    export PARLEY_TEST_KEYRING=1
}

# Private PulseAudio: speaker (default sink), micfeed, and mic = micfeed.monitor (default source).
_session_audio() {
    _session_need audio pulseaudio pulseaudio || return 1
    _session_need audio pulseaudio-utils pactl || return 1
    mkdir -p "$SESSION_DIR/pulse" "$XDG_CONFIG_HOME/pulse"
    local sock="$SESSION_DIR/pulse/native"
    cat >"$SESSION_DIR/pulse/parley.pa" <<EOF
load-module module-native-protocol-unix auth-anonymous=1 socket=$sock
load-module module-null-sink sink_name=speaker
load-module module-null-sink sink_name=micfeed
load-module module-remap-source master=micfeed.monitor source_name=mic
set-default-sink speaker
set-default-source mic
EOF
    # Clients never start a daemon of their own.
    printf 'autospawn = no\n' >"$XDG_CONFIG_HOME/pulse/client.conf"
    # PortAudio on Debian speaks ALSA only: its default device goes to PulseAudio through the pulse plugin.
    cat >"$HOME/.asoundrc" <<'EOF'
pcm.!default { type pulse }
ctl.!default { type pulse }
EOF
    export PULSE_SERVER="unix:$sock"
    # As root PulseAudio warns that it is not meant for root but runs fine in this per-user mode (-n: no default
    # script; its runtime, state and cookie paths all fall inside the private HOME/XDG_RUNTIME_DIR).
    pulseaudio -n -F "$SESSION_DIR/pulse/parley.pa" --daemonize=no --exit-idle-time=-1 --use-pid-file=no \
        --log-target=stderr >"$SESSION_DIR/pulse.log" 2>&1 </dev/null &
    local pid=$! i
    SESSION_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do
        pactl info >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if ! pactl info >/dev/null 2>&1; then
        _session_fail "audio: private PulseAudio did not answer 'pactl info'"
        _session_log_tail "$SESSION_DIR/pulse.log"
        return 1
    fi
    # An idle null sink renders in 2 s blocks, and a stream that connects to it waits for the next block: up to
    # 2 s of nothing, which real devices never do (Parley's first audio and first mic blocks were late by that
    # much). A silent 20 ms stream into each sink keeps its blocks short; it adds only zeros to what is heard.
    local sink
    for sink in speaker micfeed; do
        pacat --playback --device="$sink" --latency-msec=20 --format=s16le --rate=44100 --channels=2 \
            --client-name="parley-test keep-alive" </dev/zero >>"$SESSION_DIR/pulse.log" 2>&1 &
        SESSION_PIDS+=("$!")
    done
    local sinks sources
    sinks=$(pactl list short sinks | cut -f2 | tr '\n' ' ')
    sources=$(pactl list short sources | cut -f2 | tr '\n' ' ')
    case " $sinks" in *" speaker "*) ;; *) sinks="" ;; esac
    case " $sinks" in *" micfeed "*) ;; *) sinks="" ;; esac
    case " $sources" in *" mic "*) ;; *) sources="" ;; esac
    if [ -z "$sinks" ] || [ -z "$sources" ]; then
        _session_fail "audio: the private PulseAudio lacks the speaker/micfeed sinks or the mic source"
        _session_log_tail "$SESSION_DIR/pulse.log"
        return 1
    fi
    # The path the app uses: sounddevice -> PortAudio -> ALSA default -> pulse plugin -> this daemon.
    if ! timeout 30 .venv/bin/python -c '
import sounddevice as sd
sd.query_devices(kind="input"); sd.query_devices(kind="output")
with sd.InputStream(channels=1, samplerate=48000): pass
' >"$SESSION_DIR/audio-probe.log" 2>&1; then
        _session_fail "audio: PulseAudio runs but sounddevice cannot open its default input (needs libportaudio2 and libasound2-plugins)"
        _session_log_tail "$SESSION_DIR/audio-probe.log"
        return 1
    fi
    export PARLEY_TEST_AUDIO=1
}

# Xvfb on a free display from :99 up (-displayfd: it writes the number once it accepts clients; a display taken
# between our look and its start makes it exit, and the next one is tried).
_session_xvfb() {
    _session_need display xvfb Xvfb || return 1
    local n="" try pid i
    for ((try = 99; try < 160; try++)); do
        if [ -e "/tmp/.X$try-lock" ] || [ -e "/tmp/.X11-unix/X$try" ]; then continue; fi
        : >"$SESSION_DIR/xdisplay"
        Xvfb ":$try" -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$SESSION_DIR/xdisplay" \
            >"$SESSION_DIR/xvfb.log" 2>&1 </dev/null &
        pid=$!
        for ((i = 0; i < 100; i++)); do
            n=$(tr -dc '0-9' <"$SESSION_DIR/xdisplay")
            [ -n "$n" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ -n "$n" ]; then
            SESSION_PIDS+=("$pid")
            break
        else
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [ -z "$n" ]; then
        _session_fail "display: Xvfb did not start"
        _session_log_tail "$SESSION_DIR/xvfb.log"
        return 1
    fi
    export PARLEY_TEST_DISPLAY=":$n"
    # The path e2e tests use: a Qt window on the xcb platform (needs the libxcb-* packages).
    if ! DISPLAY=":$n" QT_QPA_PLATFORM=xcb timeout 30 .venv/bin/python -c '
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
w = QWidget(); w.resize(200, 100); w.show(); app.processEvents()
assert app.platformName() == "xcb", app.platformName()
' >"$SESSION_DIR/xvfb-probe.log" 2>&1; then
        _session_fail "display: Xvfb runs on :$n but a Qt xcb window could not be made"
        _session_log_tail "$SESSION_DIR/xvfb-probe.log"
        return 1
    fi
    export PARLEY_TEST_XVFB=1
}

# Starts everything it can; SESSION_FAILURES lists what did not come up. Call session_stop on exit.
session_start() {
    _session_private_env
    _session_keyring || true
    _session_audio || true
    _session_xvfb || true
}
