"""The private session that scripts/test.sh starts really works: sound through PortAudio, the Secret Service, Xvfb.

scripts/test.sh exports PARLEY_TEST_AUDIO=1, PARLEY_TEST_KEYRING=1 and PARLEY_TEST_XVFB=1 (with
PARLEY_TEST_DISPLAY) only for the parts it verified. Without them these tests skip with the reason, except under
CI=true, where a missing part is a failure: CI must run the real keyring and audio paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

RATE = 48000
TONE_HZ = 440.0


def _require(var: str, what: str) -> None:
    if os.environ.get(var) == "1":
        return
    if os.environ.get("PARLEY_TEST_SESSION_DIR"):
        reason = f"{var} is not set: scripts/test.sh could not start the {what} (its warnings say why)"
    else:
        reason = f"{var} is not set: no {what} (run the suite with `bash scripts/test.sh`)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI=true: {reason}")
    pytest.skip(reason)


def _tone(seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _dominant_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def _sink_inputs() -> set[str]:
    out = subprocess.run(
        ["pactl", "list", "short", "sink-inputs"], capture_output=True, text=True, timeout=10
    )
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _wait_for_sink_input(before: set[str], timeout: float = 10.0) -> None:
    """Until paplay's stream exists on the server (besides the session's silent keep-alive streams), so the
    recording does not start before the sound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _sink_inputs() - before:
            return
        time.sleep(0.05)
    raise AssertionError("paplay's stream never appeared on the private PulseAudio")


@pytest.fixture
def sd():
    _require("PARLEY_TEST_AUDIO", "private PulseAudio")
    # Imported only now: PortAudio enumerates devices once, when it is first loaded.
    import sounddevice

    return sounddevice


def test_private_session_has_its_own_home():
    if not os.environ.get("PARLEY_TEST_SESSION_DIR"):
        reason = "PARLEY_TEST_SESSION_DIR is not set: not run by `bash scripts/test.sh`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"under CI=true: {reason}")
        pytest.skip(reason)
    session = Path(os.environ["PARLEY_TEST_SESSION_DIR"])
    assert Path.home().is_relative_to(session)
    for var in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        assert Path(os.environ[var]).is_relative_to(session), var
    assert "DISPLAY" not in os.environ and "WAYLAND_DISPLAY" not in os.environ


@pytest.mark.audio
def test_sounddevice_lists_pulse_input_and_output(sd):
    # Debian's PortAudio is ALSA-only: the devices are ALSA's "pulse"/"default", both routed to PulseAudio.
    names = {d["name"] for d in sd.query_devices()}
    assert names & {"pulse", "default"}, names
    inp = sd.query_devices(kind="input")
    out = sd.query_devices(kind="output")
    assert inp["max_input_channels"] > 0, inp
    assert out["max_output_channels"] > 0, out
    assert sd.query_hostapis(inp["hostapi"])["name"] == "ALSA"


@pytest.mark.audio
def test_sound_played_to_micfeed_is_recorded_from_the_default_microphone(sd, tmp_path):
    wav = tmp_path / "tone.wav"
    _write_wav(wav, _tone(8.0))
    before = _sink_inputs()
    player = subprocess.Popen(["paplay", "--device=micfeed", str(wav)])
    try:
        _wait_for_sink_input(before)
        recording = sd.rec(RATE, samplerate=RATE, channels=1, dtype="float32")
        sd.wait()
    finally:
        player.terminate()
        player.wait(timeout=10)
    x = recording[:, 0]
    assert _rms(x) > 0.1, f"the default microphone recorded near silence (RMS {_rms(x):.4f})"
    assert abs(_dominant_hz(x) - TONE_HZ) < 5, _dominant_hz(x)


@pytest.mark.audio
def test_sound_played_to_the_default_output_reaches_the_speaker_sink(sd):
    # parec records what the "speaker" null sink plays, as raw s16le mono.
    recorder = subprocess.Popen(
        ["parec", "--device=speaker.monitor", "--format=s16le", f"--rate={RATE}", "--channels=1", "--raw"],
        stdout=subprocess.PIPE,
    )
    try:
        time.sleep(0.3)
        sd.play(_tone(1.5), samplerate=RATE, blocking=True)
    finally:
        recorder.terminate()
        raw, _ = recorder.communicate(timeout=10)
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768
    assert len(x) > RATE // 2, f"parec got only {len(x)} samples"
    # The loudest second: the monitor also holds silence before and after the tone.
    window = RATE
    if len(x) > window:
        energy = np.convolve(np.square(x), np.ones(window // 10), mode="valid")
        start = max(0, min(int(np.argmax(energy)) - window // 2, len(x) - window))
        x = x[start : start + window]
    assert _rms(x) > 0.1, f"the speaker sink got near silence (RMS {_rms(x):.4f})"
    assert abs(_dominant_hz(x) - TONE_HZ) < 5, _dominant_hz(x)


@pytest.mark.keyring
def test_a_fresh_process_picks_the_secret_service_backend():
    _require("PARLEY_TEST_KEYRING", "private Secret Service")
    # In a fresh interpreter, as the app starts: in this one, KeyringBackend subclasses that other tests define
    # are registered too and keyring would chain them in.
    probe = "import keyring; k = keyring.get_keyring(); print(type(k).__module__, type(k).__name__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["keyring.backends.SecretService", "Keyring"], (out.stdout, out.stderr)


@pytest.mark.keyring
def test_keyring_round_trip_through_the_secret_service():
    _require("PARLEY_TEST_KEYRING", "private Secret Service")
    from keyring.backends import SecretService

    kr = SecretService.Keyring()
    service, user = "parley-test-environment", "someone@example.com"
    kr.set_password(service, user, "s3cret with spaces & ünïcode")
    try:
        assert kr.get_password(service, user) == "s3cret with spaces & ünïcode"
    finally:
        kr.delete_password(service, user)
    assert kr.get_password(service, user) is None


@pytest.mark.keyring
def test_secret_tool_sees_the_same_keyring():
    _require("PARLEY_TEST_KEYRING", "private Secret Service")
    if not shutil.which("secret-tool"):
        pytest.skip("secret-tool not installed (Debian package libsecret-tools)")
    from keyring.backends import SecretService

    kr = SecretService.Keyring()
    kr.set_password("parley-test-environment", "tool", "from-python")
    try:
        out = subprocess.run(
            ["secret-tool", "lookup", "service", "parley-test-environment", "username", "tool"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert out.stdout == "from-python", out
    finally:
        kr.delete_password("parley-test-environment", "tool")


XCB_PROBE = """
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel("parley"); label.resize(300, 120); label.show()
for _ in range(20):
    app.processEvents()
size = app.primaryScreen().size()
print(app.platformName(), size.width(), size.height(), label.isVisible(), label.winId() != 0)
"""


@pytest.mark.e2e
def test_a_qt_window_opens_on_the_xvfb_display():
    _require("PARLEY_TEST_XVFB", "Xvfb display")
    env = dict(os.environ, DISPLAY=os.environ["PARLEY_TEST_DISPLAY"], QT_QPA_PLATFORM="xcb")
    out = subprocess.run(
        [sys.executable, "-c", XCB_PROBE], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["xcb", "1280", "800", "True", "True"], (out.stdout, out.stderr)
