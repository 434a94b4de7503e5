"""What every `parley` command shares: exit codes, usage errors, argument types, output on stdout/stderr (problems,
retries and filter verdicts in words, or one JSON object per line, every line redacted here, once), input text and
files checked before anything is sent, and output files written whole or not at all."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import argparse  # app/cli/parser.py: a window launch does without it

    from app.core.errors import Problem

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_FILTERED = 3
EXIT_INTERRUPTED = 130

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class UsageError(Exception):
    """A usage or configuration mistake the CLI reports itself (exit 2)."""


# ---------------------------------------------------------------------------------------------------------------
# Arguments


def _bounded(convert: type, low: float, high: float | None, bound_text: str, kind: str):
    """An argparse type: a number of `convert`'s kind within [low, high], with the message for each way it fails."""

    def parse(text: str):
        import argparse

        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{bound_text}: {text}")
        return value

    return parse


positive_int = _bounded(int, 1, None, "must be at least 1", "a whole number")
non_negative_int = _bounded(int, 0, None, "must be 0 or more", "a whole number")
temperature = _bounded(float, 0.0, 2.0, "must be between 0 and 2", "a number")
seconds = _bounded(float, 0.1, 3600.0, "must be between 0.1 and 3600 seconds", "a number of seconds")


def add_answer_options(
    p: argparse.ArgumentParser,
    *,
    default_tokens: int | None = None,
    default_temperature: float | None = None,
    reasoning: bool = False,
) -> None:
    """--max-tokens and --temperature, worded once for every command that takes them (with their defaults);
    `reasoning`: the deployment may be a reasoning one, which takes them differently, and the help says how."""
    tokens_help = "longest answer in tokens"
    temperature_help = "0-2, higher answers more varied"
    if reasoning:
        tokens_help += " (sent as max_completion_tokens to a reasoning deployment)"
        temperature_help += "; a deployment that does not take it answers anyway, with a note on stderr"
    if default_tokens is not None:
        tokens_help += " (default: %(default)s)"
    if default_temperature is not None:
        temperature_help += " (default: %(default)s)"
    p.add_argument("--max-tokens", metavar="N", type=positive_int, default=default_tokens, help=tokens_help)
    p.add_argument(
        "--temperature", metavar="T", type=temperature, default=default_temperature, help=temperature_help
    )


class FileName(str):
    """An argument that names a file: its `type=`. A file name may be in any encoding the file system has (Python
    keeps bytes that are not UTF-8 as surrogates, and `open()` turns them back), so the UTF-8 check of arguments
    (which go on the wire) passes it by; core sends a readable form of it (`paths.wire_name`)."""


class Commands:
    """The subcommands as their modules register them: each `register(commands)` adds its parser with `add`."""

    def __init__(
        self, sub: Any, common: argparse.ArgumentParser, local: argparse.ArgumentParser | None = None
    ):
        """`local`: the global options that apply to a command that does not connect (no --demo, --profile...)."""
        self._sub = sub
        self._common = common
        self._local = local or common

    def add(
        self, name: str, help_text: str, run: Callable[..., int], *, connects: bool = True
    ) -> argparse.ArgumentParser:
        """The subparser of `name`, with the global options; `run(args, conn, cancel)` (or `run(args)` when it
        does not `connect`) handles it."""
        parent = self._common if connects else self._local
        p = self._sub.add_parser(name, help=help_text, description=help_text, parents=[parent])
        p.set_defaults(run=run, connects=connects)
        return p


# ---------------------------------------------------------------------------------------------------------------
# Output


# Every output goes through these three, which redact keys and tokens (a server may echo the key back in any field:
# a delta, a model name, a filter's blocklist id, a revised prompt), so no command has to remember to.


def _redact(text: str) -> str:
    from app.core.logs import redact

    return redact(text)


def _redact_values(obj: Any) -> Any:
    """`obj` with every string redacted: before JSON encoding, so an escaped quote can never be cut in half."""
    if isinstance(obj, str):
        return _redact(obj)
    if isinstance(obj, dict):
        return {k: _redact_values(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact_values(v) for v in obj]
    return obj


def err(text: str) -> None:
    progress_clear()
    text = _redact(text)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def out(text: str) -> None:
    global _wrote_stdout
    progress_clear()
    sys.stdout.write(_redact(text))
    sys.stdout.flush()
    _wrote_stdout = _wrote_stdout or bool(text)


def json_line(obj: dict[str, Any]) -> None:
    import json

    out(json.dumps(_redact_values(obj), ensure_ascii=False) + "\n")


# -- progress while waiting -----------------------------------------------------------------------------------------

PROGRESS_AFTER = 3.0  # seconds of silence before "waiting for Azure…" is shown
_PROGRESS_LINES = (3, 10, 30, 60, 120, 300, 600, 1200, 2400)  # when a log or pipe gets a line: sparingly
_wrote_stdout = False
_progress_shown = False  # an updated-in-place line is on the terminal


def progress(waited: float, shown: int) -> int:
    """Tell stderr that Azure has been silent for `waited` seconds; `shown` is what the caller last showed (0 at
    first). Returns what is shown now. A terminal gets one line updated in place, anything else a line at 3, 10, 30,
    60 s... Nothing once the answer has started on stdout: the line would land inside it."""
    global _progress_shown
    if _wrote_stdout or waited < PROGRESS_AFTER:
        return shown
    whole = int(waited)
    tty = _isatty(sys.stderr)
    if tty:
        if whole == shown:
            return shown
        sys.stderr.write(f"\rwaiting for Azure… {whole} s\x1b[K")
        _progress_shown = True
    else:
        due = [s for s in _PROGRESS_LINES if s <= waited]
        if not due or due[-1] <= shown:
            return shown
        whole = due[-1]
        sys.stderr.write(f"waiting for Azure… {whole} s\n")
    sys.stderr.flush()
    return whole


def progress_clear() -> None:
    """Take an updated-in-place progress line off the terminal before anything else is written."""
    global _progress_shown
    if _progress_shown:
        _progress_shown = False
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def problem_words(problem: Problem) -> str:
    """A Problem as the user reads it on stderr: title and detail, what to do, the request id."""
    lines = [f"{problem.title}: {problem.detail}".rstrip()]
    if (
        problem.verdict is not None
        and problem.verdict.triggered
        and problem.verdict.summary() not in problem.detail
    ):
        lines.append(f"  Content filter: {problem.verdict.summary()}.")
    if problem.revised_prompt:
        lines.append(f"  Revised prompt: {problem.revised_prompt}")
    if problem.action:
        lines.append(f"  {problem.action}")
    if problem.request_id:
        lines.append(f"  Request id: {problem.request_id}")
    return "\n".join(lines)


def report(problem: Problem, *, json_mode: bool = False) -> int:
    import logging

    from app.core.logs import redact

    logging.getLogger("parley.cli").warning(
        "%s [%s, exit %d]", problem.one_line(), problem.kind, problem.exit_code
    )
    if json_mode:
        from app.core.events import Failed, to_json

        json_line(to_json(Failed(problem)))
    err(redact(problem_words(problem)))
    return problem.exit_code


def retry_words(event: Any) -> str:
    return (
        f"{event.problem.title} — retrying in {event.wait:.1f} s "
        f"(attempt {event.attempt} of {event.max_attempts})"
    )


# ---------------------------------------------------------------------------------------------------------------
# Input


def not_utf8(text: str) -> str | None:
    """Where `text` (an argument Python decoded with surrogateescape) is not UTF-8, in words; None when it is."""
    for i, ch in enumerate(text):
        if "\udc80" <= ch <= "\udcff":
            return f"byte 0x{ord(ch) - 0xDC00:02x} at character {i + 1}"
        if "\ud800" <= ch <= "\udfff":
            return f"character {i + 1}"
    return None


def read_text(value: str, what: str) -> str:
    """A text argument, or stdin for `-`: UTF-8 text (a UsageError naming the first bad byte otherwise)."""
    if value == "-":
        text = _read_stdin(what)
    else:
        text = check_text(value, what)
    if not text.strip():
        raise UsageError(f"The {what} is empty." + (" (stdin had no text)" if value == "-" else ""))
    return text.rstrip("\n") if value == "-" else text


def check_text(value: str, what: str) -> str:
    where = not_utf8(value)
    if where:
        raise UsageError(
            f"The {what} is not valid UTF-8 text ({where}). Pass UTF-8 text (check the terminal's or file's encoding)."
        )
    return value


def _read_stdin(what: str) -> str:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a replaced stdin (tests, embedding): already text
        return check_text(sys.stdin.read(), what)
    data = buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"The {what} on stdin is not valid UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start + 1}). "
            "Convert it first, e.g. `iconv -f latin1 -t utf-8`."
        ) from None


def what_it_is(data: bytes) -> str:
    """What a file's bytes really are, in words, for a refusal: 'empty', 'text (starts "hello…")', or the type."""
    if not data:
        return "empty (0 bytes)"
    known = (
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
        (b"ID3", "MP3 audio"),
        (b"fLaC", "FLAC audio"),
        (b"OggS", "Ogg audio"),
        (b"\x1a\x45\xdf\xa3", "WebM/Matroska media"),
    )
    for magic, name in known:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF":
        return {b"WAVE": "WAV audio", b"WEBP": "a WebP image"}.get(data[8:12], "a RIFF file")
    if data[4:8] == b"ftyp":
        return "MP4/M4A media"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else ""
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        first = " ".join(text.split())[:30]
        return f'text (it starts "{first}…")'
    return f"not a known type (it starts {data[:8].hex(' ')})"


AUDIO_TYPES = ("WAV audio", "MP3 audio", "FLAC audio", "Ogg audio", "WebM/Matroska media", "MP4/M4A media")


def is_audio(data: bytes) -> bool:
    """Whether `data` looks like a format Whisper takes (WAV, MP3 with or without ID3, FLAC, Ogg, WebM, MP4/M4A)."""
    if what_it_is(data) in AUDIO_TYPES:
        return True
    return len(data) > 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0  # a bare MPEG audio frame


def check_audio(name: str, data: bytes) -> None:
    """A UsageError unless `data` is audio worth sending to Whisper: not empty, not another kind of file, and (for
    a PCM WAV: 8-bit to 32-bit) not silent — Whisper turns silence into invented words, so the Voice tab never sends it either."""
    if not is_audio(data):
        raise UsageError(
            f"{name} is not audio: it is {what_it_is(data)}. Whisper takes WAV, MP3, M4A, FLAC, Ogg or WebM files."
        )
    from app.core import wavinfo

    level = wavinfo.loudest_dbfs(data)
    if level is not None and level < wavinfo.SILENT_DBFS:
        raise UsageError(
            f"{name} is silent: its loudest moment is {level:.0f} dBFS (speech is above {wavinfo.SILENT_DBFS:.0f}). "
            "It was not sent, as Whisper invents words for silence; check the recording's input level."
        )


# ---------------------------------------------------------------------------------------------------------------
# Output files


def write_file(path: str | Any, data: bytes) -> None:
    """Write `data` to `path` whole or not at all: through a `.part` beside the file it names (a symlink's target),
    which is removed on any failure (a full disk, Ctrl+C); a UsageError (exit 2) says what went wrong, and a path
    that is not a regular file (a FIFO, a device, a folder) is refused (`core.outfiles`)."""
    from pathlib import Path

    from app.core import outfiles

    out_path = Path(path)
    part = None
    try:
        final = outfiles.target(out_path)  # a symlink's target; a FIFO or device is refused, never replaced
        part = outfiles.part_of(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as fh:
            fh.write(data)
        outfiles.commit(part, final)
    except OSError as exc:
        _remove(part)
        raise UsageError(
            f"Cannot write {out_path}: {exc.strerror or exc}. Choose another file or folder."
        ) from None
    except BaseException:
        _remove(part)
        raise


def check_writable(path: str | Any) -> None:
    """A UsageError (exit 2) now, before Azure is paid for an answer, when `path` cannot be written: its folder is
    a file, is read-only or cannot be made, or `path` is not a regular file (a FIFO, a device, a folder). Leaves
    nothing behind."""
    from pathlib import Path

    from app.core import outfiles

    out_path = Path(path)
    part = None
    try:
        final = outfiles.target(out_path)
        part = outfiles.part_of(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "ab"):
            pass
    except OSError as exc:
        raise UsageError(
            f"Cannot write {out_path}: {exc.strerror or exc}. Choose another file or folder."
        ) from None
    _remove(part)


def _remove(path: Any) -> None:
    import contextlib

    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
