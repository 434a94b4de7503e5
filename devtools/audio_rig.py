"""The private PulseAudio that scripts/test.sh starts, as helpers for voice tests: speak into the virtual microphone,
listen to the virtual speaker, and put Parley's own voice back into the microphone (an echo).

Sinks: `speaker` (the default output) and `micfeed`; the default input `mic` records whatever micfeed plays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

TAP_RATE = 16000


def missing() -> str | None:
    """Why the private PulseAudio rig cannot be used here, or None when it can."""
    if os.environ.get("PARLEY_TEST_AUDIO") != "1":
        return (
            "PARLEY_TEST_AUDIO is not 1: no private PulseAudio with a virtual microphone and speaker "
            "(run the tests with `bash scripts/test.sh`; its warnings say why audio did not start)"
        )
    if not shutil.which("espeak-ng"):
        return "espeak-ng is not installed (Debian package espeak-ng): nothing to say into the microphone"
    if not shutil.which("parec") or not shutil.which("paplay"):
        return "parec/paplay are not installed (Debian package pulseaudio-utils)"
    return None


def require_audio() -> None:
    """Skip (fail under CI=true) unless scripts/test.sh verified its private PulseAudio and espeak-ng is here."""
    import pytest

    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"under CI=true: {reason}")
    pytest.skip(reason)


def spoken_wav(text: str, path: Path, *, speed: int = 175, amplitude: int = 100) -> Path:
    """`text` spoken by espeak-ng (22.05 kHz mono), with an ICMT comment holding the words."""
    from app.audio.wav import with_comment

    subprocess.run(
        ["espeak-ng", "-s", str(speed), "-a", str(amplitude), "-w", str(path), text],
        check=True,
        timeout=30,
        capture_output=True,
    )
    path.write_bytes(with_comment(path.read_bytes(), text))
    return path


def sink_inputs() -> set[str]:
    out = subprocess.run(
        ["pactl", "list", "short", "sink-inputs"], capture_output=True, text=True, timeout=10
    )
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def say_into_mic(wav: Path, timeout: float = 10.0) -> subprocess.Popen:
    """Start playing `wav` into the virtual microphone; returns once its stream exists on the server."""
    before = sink_inputs()
    proc = subprocess.Popen(["paplay", "--device=micfeed", "--latency-msec=20", str(wav)])
    deadline = time.monotonic() + timeout
    while not (sink_inputs() - before):
        if time.monotonic() > deadline or proc.poll() is not None:
            break
        time.sleep(0.02)
    return proc


class SpeakerTap:
    """Records what reaches the `speaker` sink (its monitor), stamping each piece with its arrival time."""

    def __init__(self) -> None:
        self._pieces: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SpeakerTap:
        self._proc = subprocess.Popen(
            [
                "parec",
                "--device=speaker.monitor",
                "--format=s16le",
                f"--rate={TAP_RATE}",
                "--channels=1",
                "--raw",
                "--latency-msec=20",
            ],
            stdout=subprocess.PIPE,
        )
        self._thread = threading.Thread(target=self._read, name="speaker-tap", daemon=True)
        self._thread.start()
        time.sleep(0.2)  # the monitor stream is connected before anything plays
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            data = self._proc.stdout.read1(4096)
            if not data:
                return
            with self._lock:
                self._pieces.append((time.monotonic(), data))

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        if self._thread is not None:
            self._thread.join(5)

    def samples(self) -> np.ndarray:
        with self._lock:
            raw = b"".join(data for _, data in self._pieces)
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0

    def loudest_rms(self, window_s: float = 1.0) -> float:
        """RMS of the loudest `window_s` heard (0.0 if less than that was recorded)."""
        x = self.samples()
        n = int(window_s * TAP_RATE)
        if len(x) < n:
            return 0.0
        power = np.convolve(np.square(x, dtype=np.float64), np.ones(n) / n, mode="valid")
        return float(np.sqrt(power.max()))

    def first_sound_at(self, threshold: float = 0.02, after: float = 0.0) -> float | None:
        """Monotonic arrival time of the first 20 ms piece louder than `threshold` RMS, arriving after `after`."""
        with self._lock:
            pieces = list(self._pieces)
        carry = b""
        for at, data in pieces:
            data = carry + data
            carry = data[len(data) // 2 * 2 :]
            x = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
            if at >= after and len(x) and np.sqrt(np.mean(np.square(x))) > threshold:
                return at
        return None


class Echo:
    """Routes the speaker back into the microphone, like loudspeakers next to a laptop's mic: Parley hears itself."""

    def __init__(self, volume_percent: int = 100):
        self.volume_percent = volume_percent
        self.module: str | None = None

    def __enter__(self) -> Echo:
        before = sink_inputs()
        self.module = subprocess.run(
            [
                "pactl",
                "load-module",
                "module-loopback",
                "source=speaker.monitor",
                "sink=micfeed",
                "latency_msec=60",
                "source_dont_move=true",
                "sink_dont_move=true",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        deadline = time.monotonic() + 5
        while not (new := sink_inputs() - before) and time.monotonic() < deadline:
            time.sleep(0.02)
        for index in new:
            subprocess.run(
                ["pactl", "set-sink-input-volume", index, f"{self.volume_percent}%"], check=True, timeout=10
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.module:
            subprocess.run(["pactl", "unload-module", self.module], timeout=10)


def played_s(players: list) -> float:
    """Seconds of the first answer's voice handed to the speaker so far (`Player.frames_played`)."""
    return players[0].frames_played / players[0].samplerate if players else 0.0


def speech_span_s(samples: np.ndarray, rate: int, threshold: float = 0.02) -> float:
    """Seconds from the first to the last sample above `threshold` (MicMixer's onset threshold): how long a user
    saying `samples` (at `rate`) is talking."""
    voiced = np.flatnonzero(np.abs(np.asarray(samples)) > threshold)
    return 0.0 if not len(voiced) else float(voiced[-1] - voiced[0]) / rate


class MicMixer:
    """Mixes a user's utterance into what Parley's recorder captures (on top of the real microphone, echo included)
    and notes when its first voiced sample reached the microphone: the onset a barge-in is timed from.

    A context manager that routes `app.audio.recorder`'s sounddevice through a proxy whose InputStream callback
    adds the pending samples; the onset is the callback's time less PortAudio's ADC-to-callback delay for that
    sample (or the stream's latency where the host reports no ADC time)."""

    def __init__(self) -> None:
        self._pending: np.ndarray | None = None
        self._first_voiced = 0
        self._lock = threading.Lock()
        self.onset_at: float | None = None
        self._original: object = None

    def __enter__(self) -> MicMixer:
        import app.audio.recorder as recorder

        self._original = recorder.sounddevice
        real = recorder.sounddevice

        def proxied():
            return _MixingSounddevice(real(), self)

        recorder.sounddevice = proxied  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        import app.audio.recorder as recorder

        recorder.sounddevice = self._original  # type: ignore[assignment]

    def say(self, samples: np.ndarray, rate: int, target_rate: int, threshold: float = 0.02) -> None:
        """Mix `samples` (float mono at `rate`) into the next captured blocks (at `target_rate`)."""
        from app.audio.wav import resample

        x = resample(samples, rate, target_rate)
        voiced = np.flatnonzero(np.abs(x) > threshold)
        with self._lock:
            self.onset_at = None
            self._first_voiced = int(voiced[0]) if len(voiced) else 0
            self._pending = x

    @property
    def mixing(self) -> bool:
        return self._pending is not None

    def _mix(self, indata: np.ndarray, frames: int, time_info, stream) -> np.ndarray:
        now = time.monotonic()
        with self._lock:
            pending = self._pending
            if pending is None:
                return indata
            n = min(frames, len(pending))
            mixed = indata.copy()
            mixed[:n, 0] += pending[:n]
            if self.onset_at is None and self._first_voiced < n:
                adc = float(time_info.currentTime - time_info.inputBufferAdcTime)
                if not 0.0 < adc < 1.0:  # no ADC time from this host API: its latency estimate then
                    adc = float(stream.latency) if stream is not None else 0.0
                self.onset_at = now - adc + self._first_voiced / stream.samplerate
            self._first_voiced -= n
            rest = pending[n:]
            self._pending = rest if len(rest) else None
            return mixed


class _MixingSounddevice:
    def __init__(self, sd, mixer: MicMixer):
        self._sd, self._mixer = sd, mixer

    def __getattr__(self, name: str):
        return getattr(self._sd, name)

    def InputStream(self, *args, callback, **kwargs):  # noqa: N802 - sounddevice's name
        holder: list = []

        def mixing(indata, frames, time_info, status):
            stream = holder[0] if holder else None
            callback(self._mixer._mix(indata, frames, time_info, stream), frames, time_info, status)

        stream = self._sd.InputStream(*args, callback=mixing, **kwargs)
        holder.append(stream)
        return stream


def silent_from(tap: SpeakerTap, after: float, within: float, threshold: float = 0.01) -> float | None:
    """The arrival time of the last piece louder than `threshold` RMS in [after, after + within] on the speaker,
    i.e. when playback went quiet (None if it never sounded there)."""
    with tap._lock:
        pieces = [(at, data) for at, data in tap._pieces if after <= at <= after + within]
    last = None
    for at, data in pieces:
        x = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
        if len(x) and np.sqrt(np.mean(np.square(x))) > threshold:
            last = at
    return last
