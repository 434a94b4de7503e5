"""`parley talk`: one spoken turn from a WAV file, live (one Realtime session) or chained (transcribe → chat → speak);
prints what was heard and the answer, writes the spoken answer."""

from __future__ import annotations

import argparse
import functools
import struct
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import (
    EXIT_FILTERED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    FileName,
    UsageError,
    check_audio,
    check_writable,
    err,
    json_line,
    out,
    report,
    retry_words,
    write_file,
)
from app.cli.connect import context_for, deployment_for, max_retries
from app.cli.worker import worker_events

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection

RATE = 24_000
CHUNK_MS = 20  # the file goes over as the microphone's audio would: 20 ms appends
HEARD_WAIT_S = 2.0  # input transcription runs beside the answer: wait this long for it after the answer


def register(commands: Commands) -> None:
    p = commands.add(
        "talk",
        "One spoken turn from a WAV file: prints what was heard and the answer, writes the spoken answer.",
        run,
    )
    p.add_argument(
        "file", metavar="IN.wav", type=FileName, help="the question, spoken (any rate; mono or stereo)"
    )
    p.add_argument(
        "-o", "--output", metavar="OUT.wav", type=FileName, help="write the spoken answer here (24 kHz mono)"
    )
    p.add_argument(
        "--engine",
        choices=("live", "chained"),
        default=None,
        help="live: one Realtime session (default when the profile has a realtime deployment); "
        "chained: transcribe, chat, then speak",
    )
    p.add_argument(
        "-m",
        "--deployment",
        metavar="DEPLOYMENT",
        help="realtime deployment (live) or chat deployment (chained)",
    )
    p.add_argument("--voice", help="the answer's voice (default: the profile's)")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")


def run(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the audio file {args.file}: {exc.strerror or exc}.") from None
    engine = args.engine or (
        "live" if conn.profile.deployments.realtime.strip() or args.deployment else "chained"
    )
    if (
        engine == "chained"
    ):  # transcribed first, as by `transcribe`: silence would come back as invented words
        check_audio(args.file, data)
    if args.output:
        check_writable(args.output)  # before the session is paid for: a FIFO or a folder is refused now
    talk = _Talk(args, conn, cancel)
    return talk.live(data) if engine == "live" else talk.chained(data)


def wav_comment(data: bytes) -> str | None:
    """A WAV's RIFF LIST/INFO ICMT comment (what `app.audio.wav.with_comment` writes), or None."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"LIST" and body[:4] == b"INFO":
            sub = 4
            while sub + 8 <= len(body):
                sid, ssize = body[sub : sub + 4], struct.unpack("<I", body[sub + 4 : sub + 8])[0]
                if sid == b"ICMT":
                    text = (
                        body[sub + 8 : sub + 8 + ssize].split(b"\0", 1)[0].decode("utf-8", "replace").strip()
                    )
                    return text or None
                sub += 8 + ssize + (ssize & 1)
        pos += 8 + size + (size & 1)
    return None


class _Talk:
    """One turn's output: the heard text, the streamed answer, the audio so far, and the exit code."""

    def __init__(self, args: argparse.Namespace, conn: Connection, cancel: CancelToken):
        self.args, self.conn, self.cancel = args, conn, cancel
        self.json = bool(args.json)
        self.audio = bytearray()
        self.answer_open = False

    # -- output ---------------------------------------------------------------------------------------------------
    def heard(self, text: str) -> None:
        if self.json:
            json_line({"type": "heard", "text": text})
        elif text:
            self._end_answer()
            out(f"You said: {text}\n")
        else:
            err("No words were recognised in the file.")

    def delta(self, text: str) -> None:
        if self.json:
            json_line({"type": "delta", "text": text})
            return
        if not self.answer_open:
            out("Parley: ")
            self.answer_open = True
        out(text)

    def audio_in(self, pcm: bytes) -> None:
        self.audio += pcm
        if self.json:
            json_line({"type": "audio", "bytes": len(self.audio)})

    def _end_answer(self) -> None:
        if self.answer_open:
            out("\n")
            self.answer_open = False

    def done(self, finish_reason: str | None, usage: Any, **more: Any) -> int:
        self._end_answer()
        self._save()
        if self.json:
            from app.core.events import Done, to_json

            json_line({**to_json(Done(finish_reason, usage)), "audio_bytes": len(self.audio), **more})
        if finish_reason == "content_filter":
            err("Content filter: the answer was stopped.")
            return EXIT_FILTERED
        if finish_reason == "cancelled":
            err("Stopped.")
            return EXIT_INTERRUPTED
        return EXIT_OK

    def failed(self, problem: Any) -> int:
        self._end_answer()
        try:
            self._save()
        except UsageError as exc:  # the failure is what to report; the file's trouble is said too
            err(f"parley: {exc}")
        return report(problem, json_mode=self.json)

    def _save(self) -> None:
        if not self.args.output or not self.audio:
            if self.args.output:
                err("No spoken answer came back; no file was written.")
            return
        from app.audio.wav import pcm16_to_wav

        path = Path(self.args.output)
        write_file(
            path, pcm16_to_wav(bytes(self.audio), RATE)
        )  # whole or not at all, into a symlink's target
        err(f"Saved {len(self.audio) / 2 / RATE:.1f} s of spoken answer to {path}.")

    # -- the live engine --------------------------------------------------------------------------------------------
    def live(self, data: bytes) -> int:
        from dataclasses import replace

        from app.audio.wav import decode_wav, float_to_pcm16, resample
        from app.core import errors
        from app.core import events as ev
        from app.core import realtime_events as rte
        from app.core.realtime import RealtimeSession

        try:
            samples, rate = decode_wav(data)
        except Exception:  # noqa: BLE001 - not a WAV we can read
            raise UsageError(f"{self.args.file} is not a PCM or float WAV file.") from None
        pcm = float_to_pcm16(resample(samples, rate, RATE) if rate != RATE else samples)
        comment = wav_comment(data)
        if self.conn.demo and comment and self.conn.emulator is not None:
            # A file carries its words in its comment, as for transcription; the realtime socket takes raw PCM only.
            self.conn.emulator.hear(comment)
        deployment = deployment_for(self.args, self.conn, "realtime")
        profile = self.conn.profile
        config = rte.LiveConfig(
            deployment,
            voice=self.args.voice or _live_voice(profile.tts_voice),
            turn_detection="none",  # a file seldom ends in the silence server VAD waits for: commit instead
            transcription=profile.deployments.transcription.strip() or None,
            response_timeout=profile.timeout,  # the global --timeout sets it for this run
        )
        ctx = replace(context_for(self.conn, "realtime", deployment), operation="realtime")
        session = RealtimeSession(self.conn.realtime_client(), config, cancel=self.cancel, ctx=ctx)
        answered: rte.ResponseDone | None = None
        heard: str | None = None
        send_ms = 0.0

        def send_all() -> None:
            nonlocal send_ms
            step = RATE * 2 * CHUNK_MS // 1000
            for i in range(0, len(pcm), step):
                start = time.perf_counter()
                if not session.send_audio(pcm[i : i + step]):
                    return
                send_ms = (time.perf_counter() - start) * 1000
            session.commit()
            session.respond()

        try:
            for event in worker_events(session.run, self.cancel):
                if isinstance(event, rte.SessionStarted):
                    threading.Thread(target=send_all, name="parley-talk-send", daemon=True).start()
                elif isinstance(event, rte.Heard):
                    heard = event.text
                    self.heard(event.text)
                    if answered is not None:
                        session.close()
                elif isinstance(event, rte.AnswerDelta):
                    self.delta(event.text)
                elif isinstance(event, rte.AudioDelta):
                    self.audio_in(event.pcm)
                elif isinstance(event, rte.ResponseDone):
                    answered = event
                    if heard is not None or not config.transcription:
                        session.close()
                    else:
                        threading.Timer(HEARD_WAIT_S, session.close).start()
                elif isinstance(event, rte.Rejected):
                    return self.failed(event.problem)
                elif isinstance(event, ev.Failed):
                    return self.failed(event.problem)
                elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
                    return self.done("cancelled", None)
        except KeyboardInterrupt:
            self._end_answer()
            self._save()
            raise
        if answered is None:
            return self.failed(
                errors.Problem(
                    errors.Kind.NETWORK,
                    "The live session ended",
                    "Azure closed the session before answering.",
                    "Try again.",
                )
            )
        err(f"Last audio frame to the WebSocket: {send_ms:.2f} ms.")
        if answered.problem is not None:
            return self.failed(answered.problem)
        reason = str(answered.finish_reason) if answered.finish_reason else None
        return self.done(reason, answered.usage, engine="live", response_id=answered.response_id)

    # -- the chained engine -----------------------------------------------------------------------------------------
    def chained(self, data: bytes) -> int:
        from app.core import audio_api, chat
        from app.core import events as ev

        transcription = deployment_for(argparse.Namespace(deployment=None), self.conn, "transcription")
        chat_deployment = deployment_for(self.args, self.conn, "chat")
        speech = deployment_for(argparse.Namespace(deployment=None), self.conn, "speech")
        client = self.conn.client()
        retries = max_retries(self.args, self.conn)
        heard = ""
        for event in worker_events(
            lambda: audio_api.transcribe(
                client,
                data,
                cancel=self.cancel,
                ctx=context_for(self.conn, "transcription", transcription),
                deployment=transcription,
                filename=Path(self.args.file).name,
                max_retries=retries,
            ),
            self.cancel,
        ):
            if isinstance(event, audio_api.Transcript):
                heard = event.text.strip()
            elif isinstance(event, ev.Retrying):
                err(retry_words(event))
            elif isinstance(event, ev.Failed):
                return self.failed(event.problem)
        self.heard(heard)
        if not heard:
            return EXIT_OK
        request = chat.ChatRequest(chat_deployment, (chat.Message("user", heard),), system=_SYSTEM)
        answer: list[str] = []
        done: ev.Done | None = None
        for event in worker_events(
            lambda: chat.stream_chat(
                client,
                request,
                cancel=self.cancel,
                ctx=context_for(self.conn, "chat", chat_deployment),
                max_retries=retries,
            ),
            self.cancel,
        ):
            if isinstance(event, ev.Delta):
                answer.append(event.text)
                self.delta(event.text)
            elif isinstance(event, ev.Retrying):
                err(retry_words(event))
            elif isinstance(event, ev.Failed):
                return self.failed(event.problem)
            elif isinstance(event, ev.Done):
                done = event
        text = "".join(answer)
        if done is not None and done.finish_reason == "content_filter":
            return self.done("content_filter", done.usage, engine="chained")
        from app.voice.speech_text import strip_markdown

        speak = functools.partial(
            audio_api.synthesize,
            client,
            cancel=self.cancel,
            ctx=context_for(self.conn, "speech", speech),
            deployment=speech,
            voice=self.args.voice or self.conn.profile.tts_voice,
            response_format="pcm",
            max_retries=retries,
        )
        for piece in audio_api.split_for_speech(strip_markdown(text)):
            for event in worker_events(functools.partial(speak, piece), self.cancel):
                if isinstance(event, audio_api.AudioChunk):
                    self.audio_in(event.data)
                elif isinstance(event, ev.Failed):
                    return self.failed(event.problem)
        return self.done(
            done.finish_reason if done else "stop", done.usage if done else None, engine="chained"
        )


_SYSTEM = (
    "You are Parley, a voice assistant. Answer in short, plain spoken sentences; avoid tables and long code."
)


def _live_voice(voice: str) -> str:
    """The profile's TTS voice if the Realtime API has it too (fable, onyx and nova are TTS-only)."""
    from app.core.realtime_events import VOICES

    return voice if voice in VOICES else "alloy"
