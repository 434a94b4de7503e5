"""Microphone capture: PortAudio's callback only copies into a queue; readers drain it on their own threads."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from app.audio.devices import open_failed_problem, sounddevice
from app.core.errors import ParleyError


@dataclass
class Level:
    """The latest input level, written by the audio thread, read by the GUI's meter timer (a float is atomic)."""

    rms_db: float = -120.0
    peak: float = 0.0


class Recorder:
    """Records mono float32 at `samplerate` (the device's own rate if it refuses ours; callers resample)."""

    def __init__(self, device: int | str | None = None, samplerate: int = 16000, blocksize: int = 480):
        self.device = device
        self.requested_rate = samplerate
        self.samplerate = samplerate
        self.blocksize = blocksize
        self.level = Level()
        self.frames = 0  # captured so far: a test or the GUI can see the device is delivering
        self.overflows = 0
        self._queue: queue.Queue = queue.Queue()
        self._stream = None
        self._lock = threading.Lock()

    def start(self) -> None:
        sd = sounddevice()
        import numpy as np

        def callback(indata, frames, time_info, status):  # PortAudio's thread: copy and return, nothing else
            if status.input_overflow:
                self.overflows += 1
            mono = indata[:, 0].copy()
            self._queue.put((mono, _captured_at(time_info, self.latency)))
            self.frames += frames
            peak = float(np.max(np.abs(mono))) if frames else 0.0
            rms = float(np.sqrt(np.mean(mono * mono))) if frames else 0.0
            self.level.peak = peak
            self.level.rms_db = 20 * np.log10(rms) if rms > 1e-6 else -120.0

        from app.audio.server import route

        with self._lock:
            if self._stream is not None:
                return
            device = route(self.device, kind="input")
            try:
                try:
                    # Low latency: the end of the user's speech reaches the VAD sooner (ALSA's 'high' held the
                    # first blocks back for 0.2 s and more).
                    stream = sd.InputStream(
                        device=device,
                        channels=1,
                        samplerate=self.requested_rate,
                        dtype="float32",
                        blocksize=self.blocksize,
                        latency="low",
                        callback=callback,
                    )
                except sd.PortAudioError:
                    info = sd.query_devices(device, "input")
                    self.samplerate = int(info["default_samplerate"])
                    stream = sd.InputStream(
                        device=device,
                        channels=1,
                        samplerate=self.samplerate,
                        dtype="float32",
                        latency="low",
                        callback=callback,
                    )
                stream.start()
            except Exception as exc:  # noqa: BLE001
                raise ParleyError(open_failed_problem(str(self.device or "default microphone"), exc)) from exc
            self._stream = stream

    def read(self, timeout: float = 0.1):
        """The next captured block (numpy float32), or None after `timeout`."""
        item = self.read_timed(timeout)
        return item[0] if item is not None else None

    def read_timed(self, timeout: float = 0.1) -> tuple[Any, float] | None:
        """The next block and the monotonic time its first sample reached the microphone (the echo canceller
        lines it up with what was playing then), or None after `timeout`."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list:
        """Everything captured so far; used to drop what the mic heard while Parley was speaking."""
        return [block for block, _ in self.drain_timed()]

    def drain_timed(self) -> list[tuple[Any, float]]:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    @property
    def latency(self) -> float:
        """Seconds between sound at the microphone and its block in the queue (PortAudio's estimate)."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    @property
    def active(self) -> bool:
        return self._stream is not None

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()


def _captured_at(time_info: Any, latency: float) -> float:
    """Monotonic time the block's first sample reached the ADC: PortAudio's ADC time where the host reports it,
    else the stream's latency estimate."""
    ago = float(time_info.currentTime - time_info.inputBufferAdcTime)
    return time.monotonic() - (ago if 0.0 <= ago < 1.0 else latency)
