"""The emulator's Realtime protocol, seen through the SDK's realtime client: the VAD on received audio, the server's
own barge-in (interrupt_response), truncate's checks, and the handshake's order of checks."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from openai import OpenAI

RATE = 24000


def speech(seconds: float, amp: float = 0.3) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amp * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes()


def client(emu: Any) -> OpenAI:
    root = emu.endpoint + "/openai/v1/"
    return OpenAI(api_key="k", base_url=root, websocket_base_url=root.replace("http://", "ws://"))


def append(conn: Any, pcm: bytes) -> None:
    for i in range(0, len(pcm), 4800):
        conn.send(
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm[i : i + 4800]).decode()}
        )


def until(conn: Any, name: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        event = json.loads(conn.recv_bytes())
        seen.append(event)
        if event["type"] == name:
            return seen


def test_vad_marks_speech_with_prefix_padding_and_the_silence_it_waited_for(emulator):
    with client(emulator).realtime.connect(model="gpt-realtime") as conn:
        until(conn, "session.created")
        turn = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 400}
        conn.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": turn}}},
            }
        )
        until(conn, "session.updated")
        append(conn, bytes(2 * RATE) + speech(1.0) + bytes(2 * RATE))  # 1 s silence, 1 s speech, 1 s silence
        events = until(conn, "response.done")
    started = next(e for e in events if e["type"] == "input_audio_buffer.speech_started")
    stopped = next(e for e in events if e["type"] == "input_audio_buffer.speech_stopped")
    assert 1000 - 300 <= started["audio_start_ms"] <= 1000  # includes the prefix padding
    assert 2000 + 400 <= stopped["audio_end_ms"] <= 2000 + 400 + 40  # includes the silence it waited for
    names = [e["type"] for e in events]
    assert names.index("input_audio_buffer.committed") < names.index("response.created")
    assert "conversation.item.added" in names


def test_speech_during_an_answer_cancels_it_as_turn_detected(emulator):
    emulator.token_rate = None  # paced, so the answer is still streaming
    emulator.hear("len:300 a long answer please")
    with client(emulator).realtime.connect(model="gpt-realtime") as conn:
        until(conn, "session.created")
        append(conn, speech(0.6) + bytes(RATE))
        until(conn, "response.output_audio.delta")
        append(conn, speech(0.3))
        events = until(conn, "response.done")
    done = events[-1]["response"]
    assert done["status"] == "cancelled" and done["status_details"]["reason"] == "turn_detected"
    assert any(e["type"] == "input_audio_buffer.speech_started" for e in events)


def test_truncate_checks_the_item_and_its_length(emulator):
    with client(emulator).realtime.connect(model="gpt-realtime") as conn:
        until(conn, "session.created")
        conn.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        until(conn, "session.updated")
        append(conn, speech(0.4))
        conn.send({"type": "input_audio_buffer.commit"})
        conn.send({"type": "response.create"})
        done = until(conn, "response.done")[-1]["response"]
        item = done["output"][0]["id"]
        conn.send(
            {
                "type": "conversation.item.truncate",
                "item_id": "item_nope",
                "content_index": 0,
                "audio_end_ms": 10,
            }
        )
        unknown = until(conn, "error")[-1]["error"]
        conn.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item,
                "content_index": 0,
                "audio_end_ms": 999_999,
            }
        )
        too_long = until(conn, "error")[-1]["error"]
        conn.send(
            {"type": "conversation.item.truncate", "item_id": item, "content_index": 0, "audio_end_ms": 500}
        )
        cut = until(conn, "conversation.item.truncated")[-1]
    assert unknown["param"] == "item_id" and too_long["param"] == "audio_end_ms"
    assert cut["item_id"] == item and cut["audio_end_ms"] == 500


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("model=gpt-realtime", {}, 401),  # no key at all
        ("model=gpt-realtime&api-version=2025-04-01-preview", {"api-key": "k"}, 401),  # dated version on v1
        ("model=nope", {"api-key": "k"}, 404),
        ("", {"api-key": "k"}, 400),
    ],
)
def test_the_handshake_is_refused_in_azures_order(emulator, query, headers, status):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = emulator.endpoint.replace("http://", "ws://") + "/openai/v1/realtime?" + query
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, open_timeout=5)
    response = refused.value.response
    assert response.status_code == status
    assert "error" in json.loads(response.body) and response.headers["x-request-id"]
