"""The media operations: text to speech, transcription and translation, DALL-E 3 images and their download URLs
(the gpt-image family and edits: `gpt_image_ops`)."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from app.emulator import audio, content, imaging
from app.emulator.catalog import DALLE_SIZES, MAX_SPEECH_CHARS, MSG_IMAGE_FILTER, SPEECH_CHUNK
from app.emulator.content import Directives
from app.emulator.gpt_image_ops import GptImageOps


class MediaOps(GptImageOps):
    """The handler's audio and image routes; `Handler` dispatches to `_op_<kind>`."""

    # -- speech and transcription -------------------------------------------------------------------------------

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
        voice = js.get("voice")
        if voice not in audio.VOICES:
            return self._invalid(
                f"Input should be {', '.join(repr(v) for v in audio.VOICES[:-1])} or "
                f"'{audio.VOICES[-1]}' - 'voice'",
                "voice",
                "invalid_value",
            )
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
        pcm = audio.synthesize(text, voice, float(speed))
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
        text, duration, segments = audio.transcribe(data, self.emu._take_heard)
        self.emu._record_transcript(text, duration)
        language = str(form.get("language") or "en")
        cut = d.fault == "cut"
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
        names = {
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
        task = "translate" if op.endswith("translations") else "transcribe"
        self._json(
            200,
            {
                "task": task,
                "language": names.get(language, language),
                "duration": round(duration, 2),
                "text": text,
                "segments": segs,
            },
            cut=cut,
        )

    # -- images -------------------------------------------------------------------------------------------------

    def _op_images(
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
        if op == "images/edits" or model.startswith("gpt-image"):
            return self._gpt_image_op(deployment, model, js, form, files, d, op)
        prompt = js.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return self._invalid("'prompt' is a required property", "prompt")
        if len(prompt) > 4000:
            return self._invalid(
                "The prompt is too long. The maximum length is 4000 characters.", "prompt", "invalid_prompt"
            )
        n = js.get("n", 1)
        if n != 1:
            return self._invalid("You must provide n=1 for this model.", "n", "invalid_value")
        size = js.get("size") or "1024x1024"
        if size not in DALLE_SIZES:
            return self._invalid(
                "The size is not supported by this model. Supported sizes are 1024x1024, "
                "1792x1024 and 1024x1792.",
                "size",
                "invalid_size",
            )
        quality = js.get("quality") or "standard"
        if quality not in ("standard", "hd"):
            return self._invalid(
                f"'{quality}' is not one of ['standard', 'hd'] - 'quality'", "quality", "invalid_value"
            )
        style = js.get("style") or "vivid"
        if style not in ("vivid", "natural"):
            return self._invalid(
                f"'{style}' is not one of ['vivid', 'natural'] - 'style'", "style", "invalid_value"
            )
        fmt = js.get("response_format") or "url"
        if fmt not in ("url", "b64_json"):
            return self._invalid(
                f"'{fmt}' is not one of ['url', 'b64_json'] - 'response_format'",
                "response_format",
                "invalid_value",
            )
        revised = content.revised_prompt(prompt)
        if d.filter == "image":
            return self._error(
                400,
                {
                    "code": "content_policy_violation",
                    "inner_error": {
                        "code": "ResponsibleAIPolicyViolation",
                        "content_filter_results": content.image_blocked_results(),
                        "revised_prompt": revised,
                    },
                    "message": MSG_IMAGE_FILTER,
                    "type": "invalid_request_error",
                },
            )
        width, height = (int(v) for v in size.split("x"))
        png = imaging.png(width, height, f"{prompt}|{quality}|{style}")
        item: dict[str, Any] = {"b64_json": None, "revised_prompt": revised, "url": None}
        if fmt == "b64_json":
            item["b64_json"] = base64.b64encode(png).decode()
        else:
            image_id = self.emu._store_image(png)
            item["url"] = f"{self.emu.endpoint}/openai/emulator/images/{image_id}.png"
        item["content_filter_results"] = content.safe_results()
        item["prompt_filter_results"] = content.image_prompt_results()
        self._json(200, {"created": int(time.time()), "data": [item]}, cut=d.fault == "cut")

    def _serve_image(self, path: str) -> None:
        m = re.match(r"^/openai/emulator/images/([A-Za-z0-9_-]+)\.png$", path)
        png = self.emu._image(m.group(1)) if m else None
        if png is None:
            return self._send(
                404,
                b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
                b"<Message>The specified blob does not exist.</Message></Error>",
                "application/xml",
            )
        self._send(200, png, "image/png")
