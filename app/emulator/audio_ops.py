"""The audio operations: text to speech (tts, tts-hd, gpt-4o-mini-tts with `instructions`), transcription and
translation (whisper; gpt-4o-transcribe / -mini-transcribe, also streamed as `transcript.text.*` events)."""

from __future__ import annotations

import time

from app.emulator import audio, content
from app.emulator.catalog import INSTRUCT_TTS_MODELS, MAX_SPEECH_CHARS, SPEECH_CHUNK, TRANSCRIBE_MODELS
from app.emulator.content import Directives
from app.emulator.wire import WireHandler

LANGUAGE_NAMES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "ja": "japanese",
    "zh": "chinese",
}


def _truthy(value: object) -> bool:
    """A multipart form's boolean: openai sends `stream` as the text "true"."""
    return str(value).strip().lower() in ("true", "1")


class AudioOps(WireHandler):
    """The handler's speech and transcription routes; `Handler` dispatches to `_op_speech` / `_op_transcription`."""

    def _op_speech(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        text = js.get("input")
        if not isinstance(text, str) or not text.strip():
            return self._invalid("'input' is a required property", "input")
        if len(text) > MAX_SPEECH_CHARS:
            return self._invalid(
                f"string too long. Expected a string with maximum length {MAX_SPEECH_CHARS}, but "
                f"got a string with length {len(text)} instead.",
                "input",
                "string_above_max_length",
            )
        instruct = model in INSTRUCT_TTS_MODELS
        voices = audio.INSTRUCT_VOICES if instruct else audio.VOICES
        voice = js.get("voice")
        if voice not in voices:
            return self._invalid(
                f"Input should be {', '.join(repr(v) for v in voices[:-1])} or '{voices[-1]}' - 'voice'",
                "voice",
                "invalid_value",
            )
        instructions = js.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            return self._invalid(
                "Input should be a valid string - 'instructions'", "instructions", "invalid_type"
            )
        # tts/tts-hd: `instructions` "does not work" (openai-python's docs); no documented error, so it is ignored.
        speed = js.get("speed", 1.0)
        if not isinstance(speed, (int, float)) or not 0.25 <= float(speed) <= 4.0:
            return self._invalid(
                "Input should be less than or equal to 4 and greater than or equal to 0.25 - 'speed'",
                "speed",
                "invalid_value",
            )
        fmt = js.get("response_format") or "mp3"
        if fmt not in ("wav", "pcm"):
            if fmt in ("mp3", "opus", "aac", "flac"):
                return self._invalid(
                    f"response_format '{fmt}': the Parley emulator produces wav and pcm only; "
                    "ask for response_format='wav' or 'pcm'.",
                    "response_format",
                    "unsupported_value",
                )
            return self._invalid(
                "Input should be 'mp3', 'opus', 'aac', 'flac', 'wav' or 'pcm' - 'response_format'",
                "response_format",
                "invalid_value",
            )
        # A speaking style changes the voice's pitch a little, so a test can hear that it arrived.
        pcm = audio.synthesize(
            text, str(voice), float(speed), style=instructions if instruct and instructions else ""
        )
        body = (audio.wav_header(len(pcm)) + pcm) if fmt == "wav" else pcm
        if d.rate is not None:
            per_chunk = 1.0 / d.rate if d.rate > 0 else 0.0
        elif self.emu.token_rate == 0:
            per_chunk = 0.0
        else:
            per_chunk = SPEECH_CHUNK / (audio.RATE * 2) / 5.0  # 5x real time
        self._start_stream("audio/wav" if fmt == "wav" else "audio/pcm")
        start = time.monotonic()
        count = (len(body) + SPEECH_CHUNK - 1) // SPEECH_CHUNK
        for i in range(count):
            if d.fault == "cut" and i >= max(1, int(count * 0.3)):
                self._cut()
            if per_chunk and i:
                self._sleep(start + i * per_chunk - time.monotonic())
            self._chunk(body[i * SPEECH_CHUNK : (i + 1) * SPEECH_CHUNK])
        self._end_stream()

    def _op_transcription(
        self,
        deployment: str,
        model: str,
        dims: int,
        js: dict,
        form: dict,
        files: dict,
        d: Directives,
        op: str,
    ) -> None:
        if "file" not in files:
            return self._invalid("'file' is a required property", "file")
        filename, data = files["file"]
        if not data:
            return self._invalid(
                "The audio file could not be decoded or its format is not supported.", "file", "invalid_value"
            )
        fmt = str(form.get("response_format") or "json")
        if fmt not in ("json", "text", "srt", "verbose_json", "vtt"):
            return self._invalid(
                f"'{fmt}' is not one of ['json', 'text', 'srt', 'verbose_json', 'vtt'] - 'response_format'",
                "response_format",
            )
        gpt4o = model in TRANSCRIBE_MODELS
        if gpt4o and fmt not in ("json", "text"):
            return self._invalid(
                f"response_format '{fmt}' is not compatible with model '{model}'. Use 'json' or 'text' instead.",
                "response_format",
                "unsupported_value",
            )
        text, duration, segments = audio.transcribe(data, self.emu._take_heard)
        self.emu._record_transcript(text, duration)
        cut = d.fault == "cut"
        if gpt4o:
            # whisper ignores `stream` ("Streaming is not supported for the whisper-1 model and will be ignored").
            if _truthy(form.get("stream")) and fmt == "json":
                return self._stream_transcript(text, duration, d)
            if fmt == "json":
                return self._json(200, {"text": text, "usage": _usage(text, duration)}, cut=cut)
        if fmt == "json":
            return self._json(200, {"text": text}, cut=cut)
        if fmt == "text":
            return self._send(200, (text + "\n").encode(), "text/plain; charset=utf-8", cut=cut)
        if fmt in ("srt", "vtt"):
            return self._send(
                200, audio.subtitles(text, segments, fmt).encode(), "text/plain; charset=utf-8", cut=cut
            )
        lines = audio.split_sentences(text, len(segments)) if text else []
        segs = [
            {
                "id": i,
                "seek": 0,
                "start": s,
                "end": e,
                "text": " " + line,
                "tokens": list(range(50364, 50364 + content.count_tokens(line))),
                "temperature": 0.0,
                "avg_logprob": -0.25,
                "compression_ratio": 1.2,
                "no_speech_prob": 0.01,
            }
            for i, ((s, e), line) in enumerate(zip(segments, lines, strict=False))
        ]
        language = str(form.get("language") or "en")
        task = "translate" if op.endswith("translations") else "transcribe"
        self._json(
            200,
            {
                "task": task,
                "language": LANGUAGE_NAMES.get(language, language),
                "duration": round(duration, 2),
                "text": text,
                "segments": segs,
            },
            cut=cut,
        )

    def _stream_transcript(self, text: str, duration: float, d: Directives) -> None:
        """`transcript.text.delta` events a word at a time, then `transcript.text.done` with the whole text and usage,
        then `data: [DONE]`, at the emulator's token rate (a `rate:` word or `token_rate`)."""
        rate = d.rate if d.rate is not None else self.emu.token_rate
        per_word = 1.0 / rate if rate else 0.0
        words = [w + " " for w in text.split(" ")] if text else []
        if words:
            words[-1] = words[-1].rstrip(" ")
        self._start_stream("text/event-stream; charset=utf-8")
        start = time.monotonic()
        for i, word in enumerate(words):
            if d.fault == "cut" and i >= max(1, len(words) // 2):
                self._cut()
            if per_word and i:
                self._sleep(start + i * per_word - time.monotonic())
            self._sse({"type": "transcript.text.delta", "delta": word})
        self._sse({"type": "transcript.text.done", "text": text, "usage": _usage(text, duration)})
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()


def _usage(text: str, duration: float) -> dict:
    """openai's `Usage` of type "tokens" for gpt-4o transcription: audio tokens for the seconds heard (10 per
    second, a round figure), text tokens for the prompt (none sent here), output tokens for the transcript."""
    audio_tokens = int(round(duration * 10))
    output = content.count_tokens(text) if text else 0
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        "output_tokens": output,
        "total_tokens": audio_tokens + output,
    }
