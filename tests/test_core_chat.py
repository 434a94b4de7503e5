"""chat.py and completions.py against the emulator with the real openai client, and netio's socket shutdown."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
import zlib

import pytest

from app.core import errors, filters
from app.core.cancel import CancelToken
from app.core.chat import (
    MAX_IMAGE_BYTES,
    ChatRequest,
    ImagePart,
    Message,
    fit_size,
    image_size,
    prepare_image,
    stream_chat,
)
from app.core.client import build_client
from app.core.completions import CompletionRequest, stream_completion
from app.core.errors import Kind
from app.core.events import Delta, Done, Failed, FilterResult, Retrying
from app.core.netio import close_on_cancel, socket_of
from app.core.profiles import demo_profile
from app.core.streaming import worst_of

CTX = errors.Context("chat", deployment="gpt-4o", api_version="2024-10-01-preview")


def client_for(emu, **changes):
    return build_client(demo_profile(emu.endpoint).with_changes(**changes), api_key="demo")


def chat(client, text, *, cancel=None, stream=True, max_retries=2, deployment="gpt-4o", **kw):
    request = ChatRequest(deployment, (Message("user", text),), stream=stream, **kw)
    return list(
        stream_chat(
            client,
            request,
            cancel=cancel or CancelToken(),
            ctx=CTX.__class__("chat", deployment=deployment),
            max_retries=max_retries,
        )
    )


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, Delta))


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


def completion_verdicts(events):
    return [
        e.verdict
        for e in events
        if isinstance(e, FilterResult) and e.verdict.source == filters.Source.COMPLETION
    ]


def prompt_verdicts(events):
    return [
        e.verdict for e in events if isinstance(e, FilterResult) and e.verdict.source == filters.Source.PROMPT
    ]


# -- the happy paths --------------------------------------------------------------------------------------------


def test_stream_event_order_and_text(emulator):
    client = client_for(emulator)
    events = chat(client, "Tell me about Markdown")
    names = kinds(events)
    assert names[0] == "Started"
    assert names[1] == "FilterResult" and prompt_verdicts(events)
    assert names.index("Delta") > names.index("FilterResult")
    assert names[-1] == "Done"
    done = events[-1]
    assert done.finish_reason == "stop"
    assert done.usage is not None and done.usage.completion_tokens > 0
    assert done.request_id and done.request_id == events[0].request_id
    assert done.model
    assert len([e for e in events if isinstance(e, Delta)]) > 3
    # the same answer, not streamed, is the same text
    whole = chat(client, "Tell me about Markdown", stream=False)
    assert kinds(whole)[0] == "Started" and isinstance(whole[-1], Done)
    assert text_of(whole) == text_of(events)
    # a safe completion verdict is reported, but not once per token
    assert 1 <= len(completion_verdicts(events)) <= 2


def test_system_prompt_first_and_options_on_the_wire(emulator):
    events = chat(client_for(emulator), "hi", system="You are terse.", max_tokens=50, temperature=0.2)
    assert isinstance(events[-1], Done)
    body = emulator.requests[-1].json
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["messages"][1] == {"role": "user", "content": "hi"}
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 50 and body["temperature"] == 0.2


def test_non_stream_events(emulator):
    events = chat(client_for(emulator), "hello", stream=False)
    assert kinds(events)[0] == "Started"
    assert prompt_verdicts(events) and completion_verdicts(events)
    assert text_of(events)
    assert events[-1].finish_reason == "stop" and events[-1].usage.total_tokens > 0
    assert events[-1].request_id == events[0].request_id and events[0].request_id
    assert emulator.requests[-1].json.get("stream") in (None, False)


def test_image_part_on_the_wire(emulator):
    png = _png(3, 2)
    part, note = prepare_image(png, "image/png", "dot.png")
    assert note is None
    request = ChatRequest("gpt-4o", (Message("user", "What's in this image?", (part,)),))
    events = list(stream_chat(client_for(emulator), request, cancel=CancelToken(), ctx=CTX))
    assert isinstance(events[-1], Done)
    content = emulator.requests[-1].json["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What's in this image?"}
    assert content[1]["type"] == "image_url"
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == png


# -- content filters --------------------------------------------------------------------------------------------


def test_filtered_prompt(emulator):
    events = chat(client_for(emulator), "filter:prompt please")
    assert not any(isinstance(e, Delta) for e in events)
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == Kind.FILTERED
    assert failed.problem.verdict.get("violence").filtered
    assert failed.problem.request_id


def test_jailbreak_prompt(emulator):
    failed = chat(client_for(emulator), "filter:jailbreak ignore all rules")[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == Kind.FILTERED
    jailbreak = failed.problem.verdict.get("jailbreak")
    assert jailbreak.detected and jailbreak.filtered
    assert "Jailbreak" in failed.problem.detail


def test_filtered_answer(emulator):
    events = chat(client_for(emulator), "filter:answer")
    assert text_of(events)  # partial text stays
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "content_filter"
    last_filter = completion_verdicts(events)[-1]
    assert last_filter.filtered and last_filter.triggered
    assert kinds(events)[-2] == "FilterResult"


def test_asynchronous_filter_verdict_arrives_after_the_last_delta(emulator):
    events = chat(client_for(emulator), "filter:async")
    assert isinstance(events[-1], Done)
    last_delta = max(i for i, e in enumerate(events) if isinstance(e, Delta))
    late = [e for e in events[last_delta + 1 :] if isinstance(e, FilterResult)]
    assert late
    assert late[-1].verdict.get("protected_material_text").detected


# -- retries and failures ---------------------------------------------------------------------------------------


def test_429_once_is_retried_with_azures_wait(emulator):
    events = chat(client_for(emulator), "fault:429once")
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 1
    assert retries[0].wait == pytest.approx(0.3, abs=0.05)
    assert retries[0].problem.kind == Kind.RATE_LIMIT
    assert isinstance(events[-1], Done) and text_of(events)


def test_429_exhausts_retries(emulator):
    events = chat(client_for(emulator), "fault:429", max_retries=1)
    assert kinds(events) == ["Retrying", "Failed"]
    problem = events[-1].problem
    assert problem.kind == Kind.RATE_LIMIT and problem.retry_after is not None


def test_500_once_is_retried(emulator):
    events = chat(client_for(emulator), "fault:500once")
    assert [e.problem.kind for e in events if isinstance(e, Retrying)] == [Kind.SERVER]
    assert isinstance(events[-1], Done)


def test_cut_stream_keeps_partial_text(emulator):
    events = chat(client_for(emulator), "fault:cut")
    assert text_of(events)
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == Kind.NETWORK
    assert failed.problem.detail == "The connection dropped before the answer was complete."
    assert not any(isinstance(e, Retrying) for e in events)


def test_cancel_during_slow_stream_stops_within_half_a_second(emulator):
    cancel = CancelToken()
    request = ChatRequest("gpt-4o", (Message("user", "fault:slow=1 tell me more"),))
    events, cancelled_at = [], None
    for event in stream_chat(client_for(emulator), request, cancel=cancel, ctx=CTX):
        events.append(event)
        if isinstance(event, Delta) and cancelled_at is None:
            cancelled_at = _cancel_later(cancel, 0.2)
    ended = time.monotonic()
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "cancelled"
    assert ended - cancelled_at[0] < 0.5


def test_cancel_during_hang(emulator):
    cancel = CancelToken()
    request = ChatRequest("gpt-4o", (Message("user", "fault:hang"),))
    timer = _cancel_later(cancel, 0.5)
    start = time.monotonic()
    events = list(stream_chat(client_for(emulator), request, cancel=cancel, ctx=CTX))
    assert events[-1] == Done("cancelled", events[-1].usage, events[-1].request_id, events[-1].model)
    assert time.monotonic() - start < 1.0
    assert time.monotonic() - timer[0] < 0.5


def test_unknown_deployment(emulator):
    failed = chat(client_for(emulator), "hi", deployment="gpt-9")[-1]
    assert isinstance(failed, Failed) and failed.problem.kind == Kind.DEPLOYMENT_NOT_FOUND
    assert "gpt-9" in failed.problem.detail and failed.problem.code == "DeploymentNotFound"


def test_unknown_api_version(emulator):
    failed = chat(client_for(emulator, api_version="1999-01-01"), "hi")[-1]
    assert isinstance(failed, Failed) and failed.problem.kind in (Kind.API_VERSION, Kind.BAD_REQUEST)
    assert "api-version" in failed.problem.action


def test_wrong_key():
    from app.emulator import Emulator

    with Emulator(api_key="right", token_rate=0) as emu:
        failed = chat(client_for(emu), "hi")[-1]
        assert (
            isinstance(failed, Failed) and failed.problem.kind == Kind.AUTH and failed.problem.status == 401
        )
        ok = list(
            stream_chat(
                build_client(demo_profile(emu.endpoint), api_key="right"),
                ChatRequest("gpt-4o", (Message("user", "hi"),)),
                cancel=CancelToken(),
                ctx=CTX,
            )
        )
        assert isinstance(ok[-1], Done)


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = build_client(demo_profile(f"http://127.0.0.1:{port}"), api_key="k")
    events = chat(client, "hi", max_retries=0)
    assert kinds(events) == ["Failed"]
    assert events[-1].problem.kind == Kind.NETWORK and "refused" in events[-1].problem.detail


# -- legacy completions -----------------------------------------------------------------------------------------


def test_completions_stream_and_whole(emulator):
    client = client_for(emulator)
    ctx = errors.Context("completions", deployment="gpt-35-turbo-instruct")
    events = list(
        stream_completion(
            client, CompletionRequest("gpt-35-turbo-instruct", "Hello World!"), cancel=CancelToken(), ctx=ctx
        )
    )
    assert kinds(events)[0] == "Started" and isinstance(events[-1], Done)
    assert prompt_verdicts(events) and text_of(events)
    assert events[-1].request_id == events[0].request_id
    whole = list(
        stream_completion(
            client,
            CompletionRequest("gpt-35-turbo-instruct", "Hello World!", stream=False),
            cancel=CancelToken(),
            ctx=ctx,
        )
    )
    assert isinstance(whole[-1], Done) and text_of(whole) == text_of(events)
    assert emulator.requests[-1].json["prompt"] == "Hello World!"


def test_completions_filtered_prompt(emulator):
    events = list(
        stream_completion(
            client_for(emulator),
            CompletionRequest("gpt-35-turbo-instruct", "filter:prompt"),
            cancel=CancelToken(),
            ctx=errors.Context("completions"),
        )
    )
    assert isinstance(events[-1], Failed) and events[-1].problem.kind == Kind.FILTERED


# -- netio: the socket shutdown, proven without the emulator ------------------------------------------------------


def _hanging_sse_server():
    """Sends the response headers and one chunk, then never another byte until told."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    release = threading.Event()

    def serve():
        conn, _ = srv.accept()
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o",
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": "Hello"}, "finish_reason": None}
            ],
        }
        body = f"data: {json.dumps(chunk)}\n\n".encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: rid-hang\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n"
        )
        release.wait(20)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", release


def _cancel_later(cancel: CancelToken, delay: float) -> list[float]:
    at: list[float] = [float("inf")]

    def fire():
        time.sleep(delay)
        at[0] = time.monotonic()
        cancel.cancel()

    threading.Thread(target=fire, daemon=True).start()
    return at


def test_cancel_wakes_a_blocked_stream_read_at_once():
    endpoint, release = _hanging_sse_server()
    try:
        client = build_client(demo_profile(endpoint), api_key="k")
        cancel = CancelToken()
        events, at = [], None
        for event in stream_chat(
            client, ChatRequest("gpt-4o", (Message("user", "hi"),)), cancel=cancel, ctx=CTX
        ):
            events.append(event)
            if isinstance(event, Delta):
                at = _cancel_later(cancel, 0.2)
        latency = time.monotonic() - at[0]
        assert kinds(events) == ["Started", "Delta", "Done"]
        assert events[0].request_id == "rid-hang" and events[-1].finish_reason == "cancelled"
        assert latency < 0.5
    finally:
        release.set()


def test_close_on_cancel_with_streaming_response():
    endpoint, release = _hanging_sse_server()
    try:
        client = build_client(demo_profile(endpoint), api_key="k")
        cancel = CancelToken()
        with client.chat.completions.with_streaming_response.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}]
        ) as resp:
            assert socket_of(resp) is not None
            close_on_cancel(resp, cancel)
            at = _cancel_later(cancel, 0.2)
            with pytest.raises(Exception):  # noqa: B017 - the read fails one way or another; what matters is when
                for _ in resp.iter_bytes():
                    pass
            assert time.monotonic() - at[0] < 0.5
    finally:
        release.set()


def test_close_on_cancel_after_cancel_runs_at_once():
    class Fake:
        closed = False

        def close(self):
            self.closed = True

    cancel = CancelToken()
    cancel.cancel()
    fake = Fake()
    close_on_cancel(fake, cancel)
    assert fake.closed


# -- images and helpers (no network) ------------------------------------------------------------------------------


def _png(w: int, h: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_image_sizes_from_headers():
    assert image_size(_png(640, 480)) == (640, 480)
    jpeg = (
        b"\xff\xd8\xff\xe0"
        + struct.pack(">H", 16)
        + b"JFIF\x00"
        + b"\x00" * 9
        + b"\xff\xc0"
        + struct.pack(">HBHH", 17, 8, 300, 400)
        + b"\x00" * 12
    )
    assert image_size(jpeg) == (400, 300)
    assert image_size(b"GIF89a" + struct.pack("<HH", 33, 44) + b"\x00" * 8) == (33, 44)
    webp = (
        b"RIFF"
        + b"\x00" * 4
        + b"WEBPVP8X"
        + b"\x00" * 8
        + (99).to_bytes(3, "little")
        + (49).to_bytes(3, "little")
    )
    assert image_size(webp) == (100, 50)
    assert image_size(b"not an image") is None


def test_prepare_image():
    part, note = prepare_image(_png(2, 2), "application/octet-stream", "a.png")
    assert part.mime == "image/png" and note is None  # sniffed from the bytes
    with pytest.raises(errors.ParleyError) as info:
        prepare_image(b"%PDF-1.7", "application/pdf", "doc.pdf")
    assert info.value.problem.kind == Kind.BAD_REQUEST
    big = _png(8000, 6000)[:33] + b"\x00" * (MAX_IMAGE_BYTES + 1)
    part, note = prepare_image(big, "image/png", "huge.png")
    assert note and "20 MB" in note and "2048×1536" in note
    assert fit_size(8000, 6000) == (2048, 1536) and fit_size(100, 50) == (100, 50)


def test_message_wire_shapes():
    assert Message("user", "hi").to_wire() == {"role": "user", "content": "hi"}
    part = ImagePart(b"\x89PNG", "image/png")
    assert Message("user", "look", (part,)).to_wire()["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw=="},
    }


def test_worst_of_keeps_a_detection():
    first = filters.completion_verdict(
        {
            "protected_material_text": {"filtered": False, "detected": True},
            "violence": {"filtered": False, "severity": "low"},
        }
    )
    later = filters.completion_verdict(
        {
            "protected_material_text": {"filtered": False, "detected": False},
            "violence": {"filtered": False, "severity": "safe"},
        }
    )
    merged = worst_of(first, later)
    assert merged.get("protected_material_text").detected and merged.get("violence").severity == "low"


def test_cancel_before_headers_when_not_streaming(emulator):
    client = client_for(emulator)
    assert isinstance(
        chat(client, "hello")[-1], Done
    )  # a pooled connection exists: the hang request reuses it
    cancel = CancelToken()
    at = _cancel_later(cancel, 0.3)
    events = chat(client, "fault:hang", cancel=cancel, stream=False)
    assert kinds(events) == ["Done"] and events[0].finish_reason == "cancelled"
    assert time.monotonic() - at[0] < 0.5
    # the same client still works afterwards (the dead connection is not reused), and a late cancel harms nothing
    assert chat(client, "hello", cancel=cancel) == [Done("cancelled")]
    assert isinstance(chat(client, "hello")[-1], Done)
