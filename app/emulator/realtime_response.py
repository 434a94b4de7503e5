"""One emulated Realtime answer: transcript and audio deltas interleaved and paced like the speech route, then
`response.done` with usage; stopped by a cancel, a barge-in, the filter or a fault word."""

from __future__ import annotations

import base64
import math
import re
import threading
from typing import TYPE_CHECKING, Any

from app.emulator import audio, content
from app.emulator.realtime_protocol import AUDIO_CHUNK, RATE, SPEED_UP, new_id

if TYPE_CHECKING:
    from app.emulator.realtime_protocol import Session


def spoken_answer(question: str, tokens: int | None = None) -> str:
    """A short spoken answer that depends on the question (about 40 tokens; `len:N` makes it N)."""
    topics = content.topic_words(question)
    topic = " ".join(topics).lower() if topics else "that"
    words = re.sub(r"(?:fault|filter|len):\S*", "", question).split()
    quote = " ".join(words[:10]) + ("…" if len(words) > 10 else "")
    quote = quote or "nothing I could hear"
    text = (
        f"You asked: {quote}{'' if quote[-1] in '.?!…' else '.'} Here is a short spoken answer about {topic}. "
        "Start small, check it with real examples, and ask me a follow-up question if you want more."
    )
    if tokens is None:
        return text
    while content.count_tokens(text) < tokens:
        text += f" There is more to say about {topic}, one step at a time."
    return "".join(content.tokenize(text)[:tokens])


class Response(threading.Thread):
    """One answer: transcript deltas and audio deltas interleaved, paced like the speech route, then
    response.done with usage. Stops early on cancel (or a barge-in the VAD heard), a filter or a fault."""

    def __init__(self, session: Session, d: content.Directives):
        super().__init__(name="parley-emulator-response", daemon=True)
        self.session = session
        self.d = d
        self.id = new_id("resp")
        self.item_id = new_id("item")
        self._stop_with: tuple[str | None, dict[str, Any] | None] | None = None
        self._stopped = threading.Event()

    def stop(self, status: str | None, details: dict[str, Any] | None) -> None:
        if self._stop_with is None:
            self._stop_with = (status, details)
        self._stopped.set()

    def _resource(self, status: str, details: dict[str, Any] | None, output: list, usage: Any) -> dict:
        s = self.session
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": "conv_" + s.id[5:],
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": RATE}, "voice": s.voice}},
            "usage": usage,
            "metadata": None,
        }

    def run(self) -> None:
        s = self.session
        try:
            self._run(s)
        except Exception:  # noqa: BLE001 - the client went away: nothing to tell
            pass
        finally:
            s._finished(self)

    def _run(self, s: Session) -> None:
        s.send({"type": "response.created", "response": self._resource("in_progress", None, [], None)})
        if self.d.fault == "429":
            message = (
                "Requests to the Realtime Operation under Azure OpenAI API version v1 have exceeded token rate limit "
                "of your current AIServices S0 pricing tier. Please retry after 1 second."
            )
            err = {"type": "invalid_request_error", "code": "rate_limit_exceeded", "message": message}
            s.send(
                {
                    "type": "response.done",
                    "response": self._resource(
                        "failed", {"type": "failed", "error": err}, [], self._usage("", 0)
                    ),
                }
            )
            return
        if self.d.fault == "500":
            err = {
                "type": "server_error",
                "code": "server_error",
                "message": "The server had an error while processing your request. Sorry about that!",
            }
            s.send(
                {
                    "type": "response.done",
                    "response": self._resource(
                        "failed", {"type": "failed", "error": err}, [], self._usage("", 0)
                    ),
                }
            )
            return
        text = spoken_answer(s.last_question, self.d.tokens)
        item = {
            "id": self.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        s.send(
            {"type": "response.output_item.added", "response_id": self.id, "output_index": 0, "item": item}
        )
        s.items[self.item_id] = {"role": "assistant", "text": "", "audio_ms": 0}
        s.last_item = self.item_id
        part = {"type": "audio", "transcript": ""}
        where = {"response_id": self.id, "item_id": self.item_id, "output_index": 0, "content_index": 0}
        s.send({"type": "response.content_part.added", **where, "part": part})
        if self.d.fault == "hang":
            while not self._stopped.wait(0.05) and not s._stopping.is_set():
                pass
            return
        pcm = audio.synthesize(text, s.voice)
        words = content.tokenize(text)
        chunks = [pcm[i : i + AUDIO_CHUNK] for i in range(0, len(pcm), AUDIO_CHUNK)] or [b""]
        limit = len(chunks)
        if self.d.filter == "answer":
            limit = max(1, int(len(chunks) * 0.4))
        if self.d.fault == "cut":
            limit = max(1, int(len(chunks) * 0.3))
        per_chunk = len(words) / len(chunks)
        said, sent_words, played_ms = [], 0, 0
        delay = self._delay()
        status: str | None = "completed"
        details: dict[str, Any] | None = None
        for i, chunk in enumerate(chunks[:limit]):
            if self._stopped.is_set():
                break
            upto = len(words) if i == len(chunks) - 1 else int(math.floor((i + 1) * per_chunk))
            for w in words[sent_words:upto]:
                s.send({"type": "response.output_audio_transcript.delta", **where, "delta": w})
                said.append(w)
            sent_words = upto
            s.send(
                {"type": "response.output_audio.delta", **where, "delta": base64.b64encode(chunk).decode()}
            )
            played_ms += len(chunk) // 2 * 1000 // RATE
            s.items[self.item_id].update(text="".join(said), audio_ms=played_ms)
            if delay and self._stopped.wait(delay):
                break
            if s._stopping.is_set():
                return
        else:
            if limit < len(chunks):
                if self.d.fault == "cut":
                    s._drop()
                    return
                status, details = "incomplete", {"type": "incomplete", "reason": "content_filter"}
        if self._stop_with is not None:
            if self._stop_with[0] is None:
                return
            status, details = self._stop_with
        transcript = "".join(said)
        s.send({"type": "response.output_audio.done", **where})
        s.send({"type": "response.output_audio_transcript.done", **where, "transcript": transcript})
        s.send(
            {
                "type": "response.content_part.done",
                **where,
                "part": {"type": "audio", "transcript": transcript},
            }
        )
        done_item = {
            **item,
            "status": "completed" if status == "completed" else "incomplete",
            "content": [{"type": "output_audio", "transcript": transcript}],
        }
        s.send(
            {
                "type": "response.output_item.done",
                "response_id": self.id,
                "output_index": 0,
                "item": done_item,
            }
        )
        s.send(
            {
                "type": "response.done",
                "response": self._resource(
                    status or "cancelled", details, [done_item], self._usage(transcript, played_ms)
                ),
            }
        )

    def _delay(self) -> float:
        """Seconds between 0.1 s audio chunks: ~5x real time; none with token_rate 0; fault:slow=N is N a second."""
        if self.d.fault == "slow" and self.d.rate:
            return 1.0 / self.d.rate
        rate = self.d.rate if self.d.rate is not None else self.session._token_rate
        if rate is not None and rate <= 0:
            return 0.0
        return 0.1 / SPEED_UP

    def _usage(self, transcript: str, audio_ms: int) -> dict[str, Any]:
        s = self.session
        heard_ms = sum(i["audio_ms"] for i in s.items.values() if i["role"] == "user")
        text_in = content.count_tokens(s.instructions)
        audio_in = heard_ms // 100  # about 10 tokens a second of input audio
        text_out = content.count_tokens(transcript)
        audio_out = audio_ms // 50  # about 20 tokens a second of output audio
        return {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": {"text_tokens": text_in, "audio_tokens": audio_in, "cached_tokens": 0},
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }
