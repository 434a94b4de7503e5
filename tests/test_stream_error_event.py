"""An error event in the middle of a chat stream (Azure sends `data: {"error": ...}` when the model fails part-way)
ends the answer with Azure's own words, the text so far kept; streams are read as plain JSON, not openai's models,
so this pins the in-stream error handling they keep."""

from __future__ import annotations

import json

from fault_server import FaultServer, chunk, sse

from app.core import errors
from app.core.cancel import CancelToken
from app.core.chat import ChatRequest, Message, stream_chat
from app.core.client import build_client
from app.core.events import Delta, Done, Failed
from app.core.profiles import demo_profile

AZURE_SAYS = "The server had an error while processing your request. Sorry about that!"


def error_event() -> bytes:
    body = {"error": {"message": AZURE_SAYS, "type": "server_error", "param": None, "code": None}}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def test_an_error_event_mid_stream_keeps_the_text_and_says_what_azure_said():
    with FaultServer(
        lambda h: sse(h, chunk("Hello"), chunk(" there"), error_event(), chunk(" never"))
    ) as server:
        client = build_client(demo_profile(server.endpoint), api_key="demo")
        events = list(
            stream_chat(
                client,
                ChatRequest("gpt-4o", (Message("user", "hi"),)),
                cancel=CancelToken(),
                ctx=errors.Context("chat", deployment="gpt-4o"),
                max_retries=0,
            )
        )
    assert "".join(e.text for e in events if isinstance(e, Delta)) == "Hello there"
    failed = [e for e in events if isinstance(e, Failed)]
    assert failed and not [e for e in events if isinstance(e, Done)]
    problem = failed[0].problem
    assert AZURE_SAYS in problem.detail and "partial answer is kept" in problem.action
    assert problem.kind == errors.Kind.SERVER
