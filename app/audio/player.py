"""Speaker output fed from a byte buffer, so speech can start on the first chunk and stop at once on barge-in or Esc."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from app.audio.devices import open_failed_problem, sounddevice
from app.core.errors import ParleyError


class Player:
    """Plays mono s16le PCM at `samplerate`; `write()` from any thread, PortAudio's callback pulls from the buffer."""

    def __init__(
        self,
        device: int | str | None = None,
        samplerate: int = 24000,
        blocksize: int = 1200,
        on_played: Callable[[bytes, int, float], Any] | None = None,
    ):
        """`on_played(pcm, samplerate, plays_at)` gets every block as it goes to the device, silence included (the
        echo canceller's reference), with the monotonic time it will be heard; it runs on PortAudio's thread, so it
        must only queue."""
        self.device = device
        self.samplerate = samplerate
        self.blocksize = blocksize
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._stream = None
        self._finished_writing = False
        self.first_audio_at: float | None = (
            None  # monotonic time the first non-empty block went to the device
        )
        self.first_heard_at: float | None = (
            None  # monotonic time that first block is heard (after the device's latency)
        )
        self.emptied_at: float | None = None  # monotonic time the last written byte went to the device
        self.frames_played = 0  # samples of written audio handed to the device (not the silence padding)
        self.on_played = on_played
        self.stopped_at: float | None = None  # monotonic time `stop()` silenced the device
        self._stopped_ms: float | None = None

    def start(self) -> None:
        sd = sounddevice()

        def callback(outdata, frames, time_info, status):  # PortAudio's thread: copy bytes out, nothing else
            need = frames * 2
            with self._lock:
                chunk = bytes(self._buffer[:need])
                del self._buffer[:need]
                emptied = self._finished_writing and not self._buffer and self.emptied_at is None
            now = time.monotonic()
            ahead = float(time_info.outputBufferDacTime - time_info.currentTime)
            plays_at = now + (ahead if 0.0 <= ahead < 1.0 else self.latency)
            if chunk and self.first_audio_at is None:
                self.first_audio_at, self.first_heard_at = now, plays_at
            if emptied:
                self.emptied_at = now
            self.frames_played += len(chunk) // 2
            if len(chunk) < need:
                chunk += b"\x00" * (need - len(chunk))
            outdata[:need] = chunk
            if self.on_played is not None:
                self.on_played(chunk, self.samplerate, plays_at)

        from app.audio.server import route

        try:
            stream = sd.RawOutputStream(
                device=route(self.device, kind="output"),
                channels=1,
                samplerate=self.samplerate,
                dtype="int16",
                blocksize=self.blocksize,
                callback=callback,
            )
            stream.start()
        except Exception as exc:  # noqa: BLE001
            raise ParleyError(open_failed_problem(str(self.device or "default speaker"), exc)) from exc
        self._stream = stream

    def write(self, pcm: bytes) -> None:
        if len(pcm) % 2:
            pcm = pcm[:-1]
        with self._lock:
            self._buffer.extend(pcm)

    def finish(self) -> None:
        """No more audio will be written; `drained` turns true once the buffer has gone to the device."""
        with self._lock:
            self._finished_writing = True
            if not self._buffer and self._stream is None:
                self.emptied_at = time.monotonic()

    @property
    def latency(self) -> float:
        """Seconds the device holds audio before it is heard (PortAudio's estimate)."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    @property
    def played_out(self) -> bool:
        """Drained, and the device has had time to play its last block: stopping now cuts nothing off."""
        if self.emptied_at is None:
            return False
        return time.monotonic() - self.emptied_at >= self.latency + self.blocksize / self.samplerate

    @property
    def pending_seconds(self) -> float:
        with self._lock:
            return len(self._buffer) / 2 / self.samplerate

    @property
    def drained(self) -> bool:
        return self._finished_writing and self.pending_seconds == 0

    def wait_drained(self, timeout: float, cancel=None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.played_out or (cancel is not None and cancel.cancelled):
                break
            time.sleep(0.02)
        return self.played_out

    @property
    def audio_end_ms(self) -> float:
        """Milliseconds of the written audio the listener has heard: what went to the device less what the device
        still held (its latency) when playback stopped; frozen by `stop()` (a realtime truncate's audio_end_ms)."""
        if self._stopped_ms is not None:
            return self._stopped_ms
        return self._heard_ms()

    def _heard_ms(self) -> float:
        handed = self.frames_played / self.samplerate
        in_device = 0.0 if self._stream is None or self.played_out else self.latency
        return max(0.0, handed - in_device) * 1000

    def stop(self) -> None:
        """Silence at once: drop what is buffered and close the device."""
        with self._lock:
            self._buffer.clear()
        stream = self._stream
        if stream is not None:
            self._stopped_ms = self._heard_ms()
        self._stream = None
        if stream is not None:
            stream.abort()  # drops what the device still holds: no tail after a barge-in
            self.stopped_at = time.monotonic()
            stream.close()


def heard_by(player: Any, at: float | None = None) -> bool:
    """The player's first audio had reached the listener (and so the microphone) by monotonic `at` (now if None).
    Barge-in learns Parley's echo from then: a device heard late (a Bluetooth headset's 0.2-0.3 s) would else teach
    it the room's silence, and the echo's arrival would sound like the user."""
    first = getattr(player, "first_heard_at", None) or getattr(player, "first_audio_at", None)
    return first is not None and (time.monotonic() if at is None else at) >= first
