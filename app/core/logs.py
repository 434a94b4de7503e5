"""Parley's log: one rotating JSON-lines file (`parley.log` in `paths.log_dir()`), with secrets redacted everywhere.

Every handler gets a `RedactingFilter`: API keys (`api-key: ...`, `api-key=...`, `"api-key": "..."`),
`Authorization: ...` values, `Bearer <token>`, `sk-...` keys, JWTs, and every value registered with `add_secret`
(the key read from the keyring or the environment) become `«redacted»` — in the message, its arguments, exception
text and tracebacks. No Qt here: the CLI, the GUI and the core share it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, cast

from app.core import paths

LOG_FILE = "parley.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
REDACTED = "«redacted»"
MIN_SECRET_LEN = 8  # shorter values would redact ordinary words
# Libraries that log every request (URLs, headers) at DEBUG/INFO: quiet unless the user asked for DEBUG.
NOISY_LOGGERS = ("httpx2", "httpcore2", "httpx", "httpcore", "openai", "azure", "urllib3", "msal", "keyring")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_TEXT = 4_000  # what a problem shows of a server's message
MAX_LOG_TEXT = 16_000  # what one log line keeps of a message or traceback

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_re: re.Pattern[str] | None = None

_VALUE = r"[^\s\"',;}&)\]]+"
_patterns: tuple[tuple[re.Pattern[str], str], ...] | None = None


def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The patterns, compiled on the first record (~1 ms the window's first frame need not pay)."""
    global _patterns
    if _patterns is None:
        _patterns = (
            # Authorization: Bearer xyz / "authorization": "Basic xyz" / authorization=xyz
            (
                re.compile(
                    r"(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|token)\s+)?(?!«)" + _VALUE, re.I
                ),
                "AUTH",
            ),
            # api-key: xyz / "api-key": "xyz" / api_key='xyz' / ?api-key=xyz / Ocp-Apim-Subscription-Key: xyz
            (
                re.compile(
                    r"(\b(?:[a-z]+[-_])*(?:api[-_]?key|subscription[-_]key|access[-_]token|client[-_]secret)"
                    r"[\"']?\s*[:=]\s*[\"']?)(?!«)" + _VALUE,
                    re.I,
                ),
                r"\1" + REDACTED,
            ),
            # Bearer <token> anywhere else
            (re.compile(r"(\bbearer\s+)[A-Za-z0-9\-._~+/=]{8,}", re.I), r"\1" + REDACTED),
            # OpenAI-style keys: sk-..., sk-proj-...
            (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), REDACTED),
            # JWTs (Entra ID access tokens)
            (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"), REDACTED),
        )
    return _patterns


def _auth_sub(match: re.Match[str]) -> str:
    scheme = match.group(2)
    return match.group(1) + (f"{scheme} " if scheme else "") + REDACTED


def add_secret(value: str | None) -> None:
    """Redact `value` wherever it appears from now on (the configured API key, a token)."""
    global _secret_re
    if not value:
        return
    value = str(value).strip()
    if len(value) < MIN_SECRET_LEN:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in ordered))


def clear_secrets() -> None:
    """Forget every registered secret (tests)."""
    global _secret_re
    with _secrets_lock:
        _secrets.clear()
        _secret_re = None


def redact(text: Any) -> str:
    """`text` with keys, tokens and registered secrets replaced by «redacted»."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, repl in _compiled():
        text = regex.sub(_auth_sub if repl == "AUTH" else repl, text)
    return text


def bounded(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, or its first `limit` characters and a note of how much was left out (a server once sent 20 MB)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters not shown]"


class RedactingFilter(logging.Filter):
    """Rewrites a record so nothing after it can see a secret: message (with its args), exception and stack text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_parley_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = bounded(redact(message), MAX_LOG_TEXT)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            if not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            # Keep the type for handlers that look at it, drop the live objects (their str() is unredacted).
            record.exc_info = None
        if record.exc_text:
            record.exc_text = bounded(redact(record.exc_text), MAX_LOG_TEXT)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._parley_redacted = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, thread and, when there was one, exc."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        obj: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            "thread": record.threadName,
        }
        exc = record.exc_text
        if not exc and record.exc_info and record.exc_info[0] is not None:
            exc = self.formatException(record.exc_info)
        if exc:
            obj["exc"] = redact(exc)
        if record.stack_info:
            obj["stack"] = redact(record.stack_info)
        for key, value in record.__dict__.items():  # extra={"event": "ready"} and the like
            if key in _RECORD_FIELDS or key.startswith("_") or key in obj:
                continue
            obj[key] = value if isinstance(value, int | float | bool) or value is None else redact(value)
        return _SURROGATE.sub(_escaped, json.dumps(obj, ensure_ascii=False))


# A file name in another encoding than UTF-8 reaches a message as surrogate escapes, which UTF-8 cannot write: the
# line keeps them as JSON escapes (`caf\udce9`), so it stays valid UTF-8 JSON and still reads back as the name.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


_RECORD_FIELDS = frozenset(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class _ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PrivateLogFile(logging.FileHandler):
    """The log file, readable by the user alone (0600), that never prints Python's "--- Logging error ---": when
    the disk is full or the folder read-only, it says so once on stderr and stops writing.

    It rolls over as RotatingFileHandler does (parley.log -> parley.log.1 ... .N once it would pass `max_bytes`),
    written here because importing logging.handlers (socket, pickle, queue) cost the window's start ~14 ms."""

    failed = False

    def __init__(self, filename: Path, *, max_bytes: int, backups: int, encoding: str = "utf-8"):
        super().__init__(filename, mode="a", encoding=encoding, delay=True)
        self.max_bytes, self.backups = max_bytes, backups

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        return cast(io.TextIOWrapper, open(fd, self.mode, encoding=self.encoding, errors=self.errors))  # noqa: SIM115

    def emit(self, record: logging.LogRecord) -> None:
        if self.failed:
            return
        try:
            if self._full(record):
                self._roll_over()
        except Exception:  # noqa: BLE001 - as logging does: handleError says it once
            self.handleError(record)
            return
        super().emit(record)

    def _full(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            self.stream = self._open()
        size = self.stream.tell() + len(self.format(record).encode(self.encoding or "utf-8")) + 1
        return size > self.max_bytes and self.stream.tell() > 0

    def _roll_over(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        base = self.baseFilename
        for index in range(self.backups - 1, 0, -1):
            if os.path.exists(f"{base}.{index}"):
                os.replace(f"{base}.{index}", f"{base}.{index + 1}")
        if self.backups > 0:
            os.replace(base, f"{base}.1")
        else:
            os.remove(base)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if self.failed:
            return
        self.failed = True
        err = sys.exc_info()[1]
        try:
            sys.stderr.write(f"parley: cannot write the log {self.baseFilename} ({err}); logging stopped.\n")
        except Exception:  # noqa: BLE001 - stderr itself may be gone
            pass
        try:
            if self.stream is not None:
                self.stream.close()
        except OSError:
            pass
        self.stream = None


_installed: list[logging.Handler] = []


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    name = str(level).strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose one of {', '.join(LEVELS)}")
    return logging.getLevelName(name)


def log_path() -> Path:
    return paths.log_dir() / LOG_FILE


def protect(handler: logging.Handler) -> None:
    """Put the redaction filter on `handler` (once)."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())


def setup_logging(level: str | int = "INFO", *, console: bool = False) -> Path:
    """Log to `parley.log` (JSON lines, 2 MB × 5) in the log folder at `level`; returns the file's path.

    Calling it again replaces the handlers it installed before. With `console`, records also go to stderr (redacted,
    plain text). httpx2/httpcore2/openai/azure stay at WARNING unless `level` is DEBUG.
    """
    number = _level_number(level)
    root = logging.getLogger()
    _remove_installed()

    path = log_path()
    handler: logging.Handler
    try:
        paths.ensure(path.parent)
        handler = PrivateLogFile(path, max_bytes=MAX_BYTES, backups=BACKUPS)
    except OSError as exc:  # an unwritable log folder must not stop the app
        sys.stderr.write(f"parley: cannot write the log in {path.parent} ({exc}); logging to stderr.\n")
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(number)
    _installed.append(handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(_ConsoleFormatter())
        stream.setLevel(number)
        _installed.append(stream)

    for h in _installed:
        protect(h)
        root.addHandler(h)
    # Handlers someone else added (logging.basicConfig from OPENAI_LOG, a test's caplog) get the filter too.
    for h in root.handlers:
        protect(h)
    root.setLevel(number)
    noisy = logging.DEBUG if number <= logging.DEBUG else max(number, logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(noisy)
    logging.captureWarnings(True)
    return path


def _remove_installed() -> None:
    """Take off and close the handlers setup_logging put on the root logger."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        try:
            handler.close()
        except Exception:  # noqa: BLE001
            pass
    _installed.clear()


def shutdown_logging() -> None:
    """Remove and close the handlers `setup_logging` installed and give the noisy loggers their levels back (tests)."""
    root = logging.getLogger()
    _remove_installed()
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(False)
