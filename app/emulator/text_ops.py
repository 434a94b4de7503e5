"""The text operations: chat completions (with images), legacy completions and embeddings, streamed or not."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid
from typing import Any

from app.emulator import content, embeddings, imaging, reasoning
from app.emulator.catalog import DEFAULT_TOKEN_RATE, MSG_PROMPT_FILTER
from app.emulator.content import Directives
from app.emulator.wire import WireHandler


class TextOps(WireHandler):
    """The handler's text routes; `Handler` dispatches to `_op_<kind>`."""

    def _think(self, d: Directives) -> float:
        """Seconds a reasoning model thinks before its first token: `think:N` / `x-parley-think`, else the
        emulator's `think_seconds`."""
        return d.think if d.think is not None else float(self.emu.think_seconds)

    def _rate(self, d: Directives) -> float:
        if d.rate is not None:
            return d.rate
        return DEFAULT_TOKEN_RATE if self.emu.token_rate is None else float(self.emu.token_rate)

    # -- chat and completions -----------------------------------------------------------------------------------

    def _op_chat(
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
        messages = js.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._invalid(
                "'messages' is a required property" if messages is None else "[] is too short - 'messages'",
                "messages",
            )
        question, images, prompt_tokens = "", [], 0
        for msg in messages:
            if not isinstance(msg, dict):
                return self._invalid(f"{msg!r} is not of type 'object' - 'messages'", "messages")
            prompt_tokens += 4
            parts = msg.get("content")
            texts: list[str] = []
            msg_images: list[str] = []
            if isinstance(parts, str):
                texts.append(parts)
            elif isinstance(parts, list):
                for part in parts:
                    if not isinstance(part, dict):
                        continue
                    if part.get("type") == "text":
                        texts.append(str(part.get("text", "")))
                    elif part.get("type") == "image_url":
                        url = str((part.get("image_url") or {}).get("url", ""))
                        note, tokens = _describe_image(url)
                        if note is None:
                            return self._error(
                                400,
                                {
                                    "code": "BadRequest",
                                    "message": "Invalid image data.",
                                    "param": None,
                                    "type": None,
                                },
                            )
                        msg_images.append(note)
                        prompt_tokens += tokens
            joined = " ".join(texts)
            prompt_tokens += content.count_tokens(joined)
            if msg.get("role") == "user":
                question, images = joined, msg_images
        prompt_tokens += 3
        rejected = reasoning.rejection(model, js, self.api_version)
        if rejected is not None:
            return self._error(400, rejected)
        if d.filter in ("prompt", "jailbreak"):
            return self._content_filter_error(d.filter)
        answer = content.answer_markdown(question, images, d.tokens)
        limit = js.get("max_completion_tokens") or js.get("max_tokens")
        pfr = content.prompt_filter_results(len(images))
        answered = reasoning.answering_model(model, question)
        thought = reasoning.reasoning_tokens(answered, question, js.get("reasoning_effort"))
        self._respond_text("chat", answered, answer, limit, prompt_tokens, pfr, js, d, thought)

    def _op_completions(
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
        prompt = js.get("prompt")
        if isinstance(prompt, list):
            prompt = " ".join(str(p) for p in prompt)
        if prompt is None:
            prompt = "<|endoftext|>"
        prompt = str(prompt)
        if d.filter in ("prompt", "jailbreak"):
            return self._content_filter_error(d.filter)
        answer = content.completion_text(prompt, d.tokens)
        limit = js.get("max_tokens", 16)
        pfr = [{"prompt_index": 0, "content_filter_results": content.prompt_results(jailbreak=False)}]
        self._respond_text("completions", model, answer, limit, content.count_tokens(prompt), pfr, js, d)

    def _content_filter_error(self, kind: str) -> None:
        self._error(
            400,
            {
                "message": MSG_PROMPT_FILTER,
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": content.blocked_prompt_result(kind),
                },
            },
        )

    def _respond_text(
        self,
        kind: str,
        model: str,
        answer: str,
        limit: Any,
        prompt_tokens: int,
        pfr: list,
        js: dict,
        d: Directives,
        thought: int = 0,
    ) -> None:
        pieces = content.tokenize(answer)
        finish = "stop"
        if isinstance(limit, int) and limit > 0:
            # reasoning counts against max_completion_tokens: a small limit can leave no room for the answer
            thought = min(thought, limit)
            if limit - thought < len(pieces):
                pieces, finish = pieces[: limit - thought], "length"
        if d.filter == "answer":
            pieces, finish = pieces[: max(1, int(len(pieces) * 0.4))], "content_filter"
        chat = kind == "chat"
        completion_tokens = len(pieces) + thought  # reasoning tokens are billed as output
        usage: dict[str, Any] = {
            "completion_tokens": completion_tokens,
            "prompt_tokens": prompt_tokens,
            "total_tokens": completion_tokens + prompt_tokens,
        }
        if chat:  # the details Azure adds to chat usage (openai's CompletionUsage)
            usage["completion_tokens_details"] = {
                "accepted_prediction_tokens": 0,
                "audio_tokens": 0,
                "reasoning_tokens": thought,
                "rejected_prediction_tokens": 0,
            }
            usage["prompt_tokens_details"] = {
                "audio_tokens": 0,
                "cached_tokens": reasoning.cached_tokens(prompt_tokens),
            }
        thinks = chat and (reasoning.is_reasoning(model) or thought > 0)
        prefix = "chatcmpl-" if chat else "cmpl-"
        cid = prefix + base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=")[:29]
        created = int(time.time())
        fingerprint = "fp_" + hashlib.md5(model.encode()).hexdigest()[:10] if chat else None
        results = content.safe_results()
        final_results = content.filtered_answer_results() if finish == "content_filter" else results
        if d.filter == "async":
            final_results = content.async_annotation_results()

        if not js.get("stream"):
            if thinks:  # the silent reasoning phase: nothing arrives before the whole answer
                self._sleep(self._think(d))
            text = "".join(pieces)
            if chat:
                choice = {
                    "finish_reason": finish,
                    "index": 0,
                    "logprobs": None,
                    "message": {"content": text, "refusal": None, "role": "assistant"},
                    "content_filter_results": final_results,
                }
                obj = "chat.completion"
            else:
                choice = {
                    "finish_reason": finish,
                    "index": 0,
                    "logprobs": None,
                    "text": text,
                    "content_filter_results": final_results,
                }
                obj = "text_completion"
            body = {
                "id": cid,
                "choices": [choice],
                "created": created,
                "model": model,
                "object": obj,
                "system_fingerprint": fingerprint,
                "usage": usage
                if chat
                else dict(usage, completion_tokens_details=None, prompt_tokens_details=None),
                "prompt_filter_results": pfr,
            }
            return self._json(200, body, cut=d.fault == "cut")

        include_usage = bool((js.get("stream_options") or {}).get("include_usage"))
        rate = self._rate(d)
        head = {
            "id": cid,
            "created": created,
            "model": model,
            "object": "chat.completion.chunk" if chat else "text_completion",
            "system_fingerprint": fingerprint,
        }
        if include_usage:
            head["usage"] = None
        if not chat:
            head.pop("system_fingerprint")

        def chunk(
            text: str | None, cfr: dict | None, finish_reason: str | None = None, role: bool = False
        ) -> dict:
            if chat:
                delta: dict[str, Any] = {}
                if role:
                    delta = {"content": "", "refusal": None, "role": "assistant"}
                elif text is not None:
                    delta = {"content": text}
                choice = {
                    "content_filter_results": cfr if cfr is not None else {},
                    "delta": delta,
                    "finish_reason": finish_reason,
                    "index": 0,
                    "logprobs": None,
                }
            else:
                choice = {
                    "text": text or "",
                    "index": 0,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                    "content_filter_results": cfr if cfr is not None else {},
                }
            return dict(head, choices=[choice])

        self._start_stream("text/event-stream; charset=utf-8", [("Cache-Control", "no-cache")])
        self._sse(
            {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": pfr}
        )
        if chat:
            self._sse(chunk(None, {}, role=True))
        if thinks:  # the silent reasoning phase: no token (and no keep-alive) until the model has thought
            self._sleep(self._think(d))
        start = time.monotonic()
        cut_at = max(1, int(len(pieces) * 0.3)) if d.fault == "cut" else None
        async_mode = d.filter == "async"
        for i, piece in enumerate(pieces):
            if rate > 0:
                self._sleep(start + (i + 1) / rate - time.monotonic())
            if cut_at is not None and i >= cut_at:
                self._cut()
            self._sse(chunk(piece, {} if async_mode else results))
        if cut_at is not None:
            self._cut()
        if async_mode:  # late annotations: what the asynchronous filter found, with the offsets it covers
            n = len("".join(pieces))
            for start_off, end_off, cfr in (
                (0, n // 2, content.safe_results()),
                (n // 2, n, content.async_annotation_results()),
            ):
                self._sse(
                    {
                        "id": "",
                        "object": "",
                        "created": 0,
                        "model": "",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": None,
                                "content_filter_results": cfr,
                                "content_filter_offsets": {
                                    "check_offset": end_off,
                                    "start_offset": start_off,
                                    "end_offset": end_off,
                                },
                            }
                        ],
                    }
                )
        if finish == "content_filter":
            self._sse(chunk(None, final_results, "content_filter"))
        else:
            self._sse(chunk(None if chat else "", {} if chat else None, finish))
        if include_usage:
            self._sse(dict(head, choices=[], usage=usage))
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()

    # -- embeddings ---------------------------------------------------------------------------------------------

    def _op_embeddings(
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
        raw = js.get("input")
        if raw is None:
            return self._invalid("'input' is a required property", "input")
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
            texts = [" ".join(map(str, raw))]
        elif isinstance(raw, list) and raw:
            texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw]
        else:
            return self._invalid(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "input",
            )
        if len(texts) > 2048:
            return self._invalid("Too many inputs. The max number of inputs is 2048.", "input")
        if any(t == "" for t in texts):
            return self._invalid(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "input",
            )
        want = js.get("dimensions")
        if want is not None:
            if not deployment.startswith("text-embedding-3"):
                return self._invalid("This model does not support specifying dimensions.", "dimensions")
            if not isinstance(want, int) or not 1 <= want <= dims:
                return self._invalid(
                    f"Invalid value for 'dimensions': must be between 1 and {dims}.", "dimensions"
                )
            dims = want
        fmt = js.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            return self._invalid(
                f"'{fmt}' is not one of ['float', 'base64'] - 'encoding_format'", "encoding_format"
            )
        data = []
        for i, text in enumerate(texts):
            vec = embeddings.embed(text, dims)
            value: Any = (
                base64.b64encode(vec.astype("<f4").tobytes()).decode()
                if fmt == "base64"
                else [round(float(x), 8) for x in vec.tolist()]
            )
            data.append({"object": "embedding", "index": i, "embedding": value})
        tokens = sum(content.count_tokens(t) for t in texts)
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
            cut=d.fault == "cut",
        )


def _describe_image(url: str) -> tuple[str | None, int]:
    """(a sentence for the answer, prompt tokens) or (None, 0) if a data: URL does not hold an image."""
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        try:
            raw = base64.b64decode(payload, validate=False) if ";base64" in header else payload.encode()
        except (binascii.Error, ValueError):
            return None, 0
        info = imaging.image_info(raw[:65536]) or imaging.image_info(raw)
        if info is None:
            return None, 0
        fmt, w, h = info
        return f"I received an image of {w}×{h} pixels ({fmt}).", _image_tokens(w, h)
    if url.startswith(("http://", "https://")):
        return f"I received an image link ({url[:60]}).", 85
    return None, 0


def _image_tokens(width: int, height: int) -> int:
    scale = min(1.0, 2048 / max(width, height, 1))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / max(min(w, h), 1))
    w, h = w * scale, h * scale
    tiles = -(-int(w) // 512) * -(-int(h) // 512)
    return 85 + 170 * max(1, tiles)
