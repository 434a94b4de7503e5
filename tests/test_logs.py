"""The log: JSON lines in the log folder, rotation, quiet HTTP libraries, and never a key — even at DEBUG."""

from __future__ import annotations

import json
import logging

import pytest

from app.core import logs

KEY = "0f3c9a7be21d4c55a8e6b1f2d3c4e5f6"  # looks like an Azure key: 32 hex characters


@pytest.fixture(autouse=True)
def clean_logging():
    logs.clear_secrets()
    yield
    logs.shutdown_logging()
    logs.clear_secrets()


def read_lines(path):
    for h in logging.getLogger().handlers:
        h.flush()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api-key: abc123def456", "api-key: «redacted»"),
        ('{"api-key": "abc123def456"}', '{"api-key": "«redacted»"}'),
        ("{'api-key': 'abc123def456', 'x': 1}", "{'api-key': '«redacted»', 'x': 1}"),
        (
            "GET /x?api-version=2024-10-21&api-key=abc123def456&y=2",
            "GET /x?api-version=2024-10-21&api-key=«redacted»&y=2",
        ),
        (
            "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJjb2duaXRpdmUifQ.c2ln",
            "Authorization: Bearer «redacted»",
        ),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "authorization: Basic «redacted»"),
        ("sent Bearer abcdefghijklmnop0123 to Azure", "sent Bearer «redacted» to Azure"),
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "OPENAI_API_KEY=«redacted»"),
        ("the key sk-abcdefghijklmnopqrstuvwx leaked", "the key «redacted» leaked"),
        ("Ocp-Apim-Subscription-Key: abc123def456", "Ocp-Apim-Subscription-Key: «redacted»"),
        ("token eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJjb2duaXRpdmUifQ.c2lnbmF0dXJl here", "token «redacted» here"),
    ],
)
def test_redact_known_shapes(text, expected):
    assert logs.redact(text) == expected


def test_redact_leaves_ordinary_text_alone():
    text = "api-version 2024-10-21, deployment gpt-4o, 42 tokens; the demo is ready"
    assert logs.redact(text) == text


def test_registered_secret_is_redacted_anywhere():
    logs.add_secret(KEY)
    logs.add_secret("short")  # too short to register: it would redact ordinary words
    assert logs.redact(f"x{KEY}y and b'{KEY}'") == "x«redacted»y and b'«redacted»'"
    assert logs.redact("short words") == "short words"


def test_json_lines_with_exception_and_args_redacted():
    path = logs.setup_logging("INFO")
    assert path == logs.log_path() and path.name == "parley.log"
    logs.add_secret(KEY)
    log = logging.getLogger("parley.test")
    log.info("hello %s and %r", "world", {"api-key": KEY})
    try:
        raise RuntimeError(f"request failed with key {KEY}")
    except RuntimeError:
        log.exception("it broke")
    log.debug("not at INFO")
    log.info("ready", extra={"event": "ready", "count": 3, "header": f"api-key: {KEY}"})
    lines = read_lines(path)
    assert [line["msg"] for line in lines] == [
        "hello world and {'api-key': '«redacted»'}",
        "it broke",
        "ready",
    ]
    assert (lines[2]["event"], lines[2]["count"], lines[2]["header"]) == ("ready", 3, "api-key: «redacted»")
    assert "exc" not in lines[0] and "args" not in lines[0]
    for line in lines:
        assert set(line) >= {"ts", "level", "logger", "msg", "thread"}
        assert line["logger"] == "parley.test" and line["thread"] == "MainThread"
    assert lines[1]["level"] == "ERROR"
    assert "RuntimeError: request failed with key «redacted»" in lines[1]["exc"]
    assert "Traceback" in lines[1]["exc"]
    assert KEY not in path.read_text(encoding="utf-8")


def test_rotating_file_and_quiet_libraries(monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 20_000)
    path = logs.setup_logging("INFO")
    for name in ("httpx2", "httpcore2", "openai"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    log = logging.getLogger("parley.test")
    for n in range(1000):  # ~150 KB of records: rolls over several times, keeps five old files
        log.info("record %04d %s", n, "x" * 100)
    logging.shutdown()
    kept = sorted(p.name for p in path.parent.iterdir())
    assert kept == ["parley.log", *(f"parley.log.{i}" for i in range(1, 6))]
    for p in path.parent.iterdir():
        assert p.stat().st_size <= 20_000 and p.stat().st_mode & 0o777 == 0o600
    newest = [json.loads(x)["msg"] for x in path.read_text(encoding="utf-8").splitlines()]
    assert newest[-1].startswith("record 0999")
    older = [json.loads(x)["msg"] for x in (path.parent / "parley.log.1").read_text().splitlines()]
    assert int(older[-1].split()[1]) + 1 == int(newest[0].split()[1])  # nothing lost at the seam
    logs.setup_logging("DEBUG")  # again: replaces, never doubles, its handlers
    files = [h for h in logging.getLogger().handlers if isinstance(h, logs.PrivateLogFile)]
    assert len(files) == 1
    for name in ("httpx2", "httpcore2", "openai"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.DEBUG
    with pytest.raises(ValueError):
        logs.setup_logging("LOUD")


def test_every_handler_gets_the_filter(capsys):
    other = logging.StreamHandler()  # e.g. logging.basicConfig from OPENAI_LOG=debug
    logging.getLogger().addHandler(other)
    try:
        logs.setup_logging("INFO", console=True)
        logs.add_secret(KEY)
        logging.getLogger("parley.test").warning("key is %s", KEY)
        err = capsys.readouterr().err
        assert "key is «redacted»" in err and KEY not in err
    finally:
        logging.getLogger().removeHandler(other)


def test_debug_openai_logging_of_a_real_request_never_writes_the_key(emulator, monkeypatch):
    """DEBUG turns on openai/httpx2/httpcore2 request logging; the key from the environment must not reach the file."""
    from app.core import chat, connection
    from app.core.cancel import CancelToken
    from app.core.events import Done

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    path = logs.setup_logging("DEBUG")
    conn = connection.connect()  # registers the key with the redactor
    try:
        request = chat.ChatRequest("gpt-4o", (chat.Message("user", "len:5 hello"),))
        events = list(
            chat.stream_chat(conn.client(), request, cancel=CancelToken(), ctx=conn.context("chat"))
        )
        assert isinstance(events[-1], Done) and events[-1].finish_reason == "stop"
        # What older openai versions and the HTTP libraries print at DEBUG: headers with the key in them.
        logging.getLogger("openai._base_client").debug("Request options: %s", {"headers": {"api-key": KEY}})
        logging.getLogger("httpcore2.http11").debug(
            "send_request_headers.started request=%r",
            [(b"api-key", KEY.encode()), (b"Authorization", b"Bearer " + KEY.encode())],
        )
        logging.getLogger("httpx2").debug("HTTP Request: POST %s/openai?api-key=%s", emulator.endpoint, KEY)
    finally:
        conn.close()
    assert emulator.requests[-1].used_key(KEY)  # the key really went over the wire
    text = path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    loggers = {line["logger"] for line in lines}
    assert any(name.startswith("openai") for name in loggers), loggers
    assert any(name.startswith("httpcore2") for name in loggers), loggers
    assert KEY not in text
    assert KEY[:12] not in text
    assert text.count("«redacted»") >= 3
