"""The `parley` command: the window by default, and subcommands that reuse `app.core` without Qt.

Nothing heavy is imported at module level: `parley --version` loads argparse and this file only, `openai` is
imported when a subcommand first talks to Azure, and PySide6 only when the window starts (with no display and no
QT_QPA_PLATFORM, Qt aborts the whole process, so subcommands must never touch it).

Exit codes (docs/cli.md): 0 ok, 1 other failure, 2 usage or configuration, 3 content filtered, 4 authentication,
5 deployment or api-version not found, 6 rate limited after retries, 7 network or timeout, 130 stopped (Ctrl+C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import app

if TYPE_CHECKING:  # pragma: no cover
    from app.core.cancel import CancelToken
    from app.core.connection import Connection
    from app.core.errors import Problem

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_FILTERED = 3
EXIT_INTERRUPTED = 130

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NOT_CONFIGURED = (
    "Parley is not configured: there is no Azure OpenAI endpoint to talk to.\n"
    "  Set one up in Settings in the app (run `parley`), or set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY\n"
    "  (and OPENAI_API_VERSION) in the environment, or add --demo to use the built-in emulator."
)


class UsageError(Exception):
    """A usage or configuration mistake the CLI reports itself (exit 2)."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: cancel, keep what was printed, exit."""


# ---------------------------------------------------------------------------------------------------------------
# Arguments


class _Parser(argparse.ArgumentParser):
    def error(
        self, message: str
    ) -> None:  # argparse's own exit code for usage errors is 2 too; keep its words
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _bounded(convert: type, low: float, high: float | None, bound_text: str, kind: str):
    """An argparse type: a number of `convert`'s kind within [low, high], with the message for each way it fails."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{bound_text}: {text}")
        return value

    return parse


_positive_int = _bounded(int, 1, None, "must be at least 1", "a whole number")
_non_negative_int = _bounded(int, 0, None, "must be 0 or more", "a whole number")
_temperature = _bounded(float, 0.0, 2.0, "must be between 0 and 2", "a number")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        help="how much goes to the log file (default INFO; DEBUG includes the HTTP libraries)",
    )
    common.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="talk to the built-in Azure OpenAI emulator instead of Azure",
    )
    common.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="use this saved profile instead of the active one",
    )
    common.add_argument(
        "--retries",
        metavar="N",
        type=_non_negative_int,
        default=argparse.SUPPRESS,
        help="retries after a 429, 5xx or dropped connection (default: the profile's, or PARLEY_MAX_RETRIES)",
    )

    parser = _Parser(
        prog="parley",
        parents=[common],
        description="Parley, a desktop assistant for Azure OpenAI. With no command it opens the window.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage/configuration, 3 content filtered, 4 authentication, "
        "5 deployment or api-version not found, 6 rate limited, 7 network/timeout, 130 stopped.",
    )
    parser.add_argument("--version", action="version", version=f"parley {app.__version__}")
    parser.add_argument("--screenshot", metavar="FILE.png", help="window only: save a screenshot and quit")
    parser.add_argument(
        "--tab",
        metavar="NAME",
        help="window only: open on this tab (chat, voice, images, completions, jobs, settings)",
    )
    parser.add_argument(
        "--send", metavar="TEXT", help="window only: start a new chat and send TEXT once connected"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = add("ask", "Ask the chat deployment; the answer streams to stdout.")
    p.add_argument("prompt", metavar="PROMPT", help="the message; - reads it from stdin")
    p.add_argument(
        "-m", "--deployment", metavar="DEPLOYMENT", help="chat deployment (default: the profile's)"
    )
    p.add_argument(
        "--image", metavar="FILE", action="append", default=[], help="attach an image (repeatable)"
    )
    p.add_argument("--system", metavar="TEXT", help="system prompt")
    p.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    p.add_argument("--max-tokens", metavar="N", type=_positive_int)
    p.add_argument("--temperature", metavar="T", type=_temperature)

    p = add("complete", "Legacy completions (e.g. gpt-35-turbo-instruct); the text streams to stdout.")
    p.add_argument("prompt", metavar="PROMPT", help="the prompt; - reads it from stdin")
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="completions deployment")
    p.add_argument("--max-tokens", metavar="N", type=_positive_int, default=100)
    p.add_argument("--temperature", metavar="T", type=_temperature, default=0.0)
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")

    p = add("embed", "Embed a text and print its vector.")
    p.add_argument("text", metavar="TEXT", help="the text; - reads it from stdin")
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="embeddings deployment")
    p.add_argument(
        "--dimensions", metavar="N", type=_positive_int, help="shorten the vector (text-embedding-3)"
    )
    p.add_argument("--json", action="store_true", help="print the whole vector as JSON")

    p = add("speak", "Text to speech into a WAV file (24 kHz mono).")
    p.add_argument("text", metavar="TEXT", help="what to say; - reads it from stdin")
    p.add_argument("-o", "--output", metavar="OUT.wav", required=True)
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="speech deployment")
    p.add_argument("--voice", help="alloy, echo, fable, onyx, nova or shimmer (default: the profile's)")
    p.add_argument("--speed", type=float, help="0.25 to 4 (default: the profile's)")

    p = add("transcribe", "Transcribe an audio file (WAV, mp3, m4a, ...) and print the text.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="transcription deployment")
    p.add_argument("--language", metavar="CODE", help="ISO-639-1 language of the audio, e.g. en")
    p.add_argument("--json", action="store_true", help="print a JSON object")

    p = add("image", "Generate an image with DALL-E 3 into a PNG file.")
    p.add_argument("prompt", metavar="PROMPT", help="the prompt; - reads it from stdin")
    p.add_argument("-o", "--output", metavar="OUT.png", required=True)
    p.add_argument("-m", "--deployment", metavar="DEPLOYMENT", help="images deployment")
    p.add_argument("--size", default="1024x1024", choices=("1024x1024", "1792x1024", "1024x1792"))
    p.add_argument("--quality", default="standard", choices=("standard", "hd"))
    p.add_argument("--style", default="vivid", choices=("vivid", "natural"))
    p.add_argument("--format", dest="response_format", default="b64_json", choices=("b64_json", "url"))
    p.add_argument("--json", action="store_true", help="print a JSON object")

    p = add("jobs", "List fine-tuning jobs and batches.")
    p.add_argument(
        "kind", nargs="?", choices=("fine-tuning", "batches"), help="only this kind (default: both)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per job")

    p = add("emulator", "Run the Azure OpenAI emulator in the foreground until Ctrl+C.")
    p.add_argument(
        "--port", type=_non_negative_int, default=0, help="port on 127.0.0.1 (default: any free port)"
    )
    p.add_argument("--api-key", metavar="K", help="accept only this api-key (default: any)")
    return parser


# ---------------------------------------------------------------------------------------------------------------
# Output


def _err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _json_line(obj: dict[str, Any]) -> None:
    import json

    _out(json.dumps(obj, ensure_ascii=False) + "\n")


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


def _report(problem: Problem, *, json_mode: bool = False) -> int:
    import logging

    from app.core.logs import redact

    logging.getLogger("parley.cli").warning(
        "%s [%s, exit %d]", problem.one_line(), problem.kind, problem.exit_code
    )
    if json_mode:
        from app.core.events import Failed, to_json

        _json_line(to_json(Failed(problem)))
    _err(redact(problem_words(problem)))
    return problem.exit_code


def _verdict_words(verdict: Any, *, stopped: bool) -> str | None:
    """A filter verdict worth telling: the answer was stopped, the prompt was flagged, or something was detected."""
    from app.core.filters import Source

    what = "prompt" if verdict.source == Source.PROMPT else "answer"
    if stopped:
        return f"Content filter: the {what} was stopped — {verdict.summary()}."
    if verdict.error:
        return f"Content filter: Azure could not check the {what} ({verdict.error})."
    if verdict.filtered:
        return f"Content filter: the {what} was filtered — {verdict.summary()}."
    if verdict.notable:
        return f"Content filter: in the {what}: {verdict.summary()}."
    return None


def _retry_words(event: Any) -> str:
    return (
        f"{event.problem.title} — retrying in {event.wait:.1f} s "
        f"(attempt {event.attempt} of {event.max_attempts})"
    )


# ---------------------------------------------------------------------------------------------------------------
# Running core jobs


def _events(make: Callable[[], Iterator[Any]], cancel: CancelToken) -> Iterator[Any]:
    """The events of `make()`, produced on a worker thread so Ctrl+C in the main thread can cancel them at once."""
    import queue

    q: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            for event in make():
                q.put(("event", event))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            q.put(("error", exc))
        finally:
            q.put(("end", None))

    worker = threading.Thread(target=work, name="parley-cli-job", daemon=True)
    worker.start()
    try:
        while True:
            try:
                kind, value = q.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    except KeyboardInterrupt:
        cancel.cancel()
        worker.join(2.0)  # the socket is shut down; the job ends at once
        raise


def _read_text(value: str, what: str) -> str:
    text = sys.stdin.read() if value == "-" else value
    if not text.strip():
        raise UsageError(f"The {what} is empty." + (" (stdin had no text)" if value == "-" else ""))
    return text.rstrip("\n") if value == "-" else text


def _max_retries(args: argparse.Namespace, conn: Connection) -> int:
    if getattr(args, "retries", None) is not None:
        return int(args.retries)
    env = os.environ.get("PARLEY_MAX_RETRIES", "").strip()
    if env:
        try:
            return max(0, int(env))
        except ValueError:
            raise UsageError(f"PARLEY_MAX_RETRIES must be a whole number, not {env!r}.") from None
    return conn.profile.max_retries


def _configured(environ: Any) -> bool:
    if environ.get("AZURE_OPENAI_ENDPOINT", "").strip():
        return True
    from app.core.profiles import ProfileStore

    return ProfileStore.load().active_profile() is not None


def connect(args: argparse.Namespace) -> Connection:
    """The connection the command runs on: --demo, --profile NAME, the environment, or the active profile."""
    from app.core import errors

    try:
        return _connect(args)
    except errors.ParleyError as exc:
        p = exc.problem
        if p.kind not in (errors.Kind.KEYRING, errors.Kind.CONFIG):
            raise
        hint = "From the command line, AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY (or --demo) work too."
        raise errors.ParleyError(
            errors.Problem(p.kind, p.title, p.detail, f"{p.action} {hint}".strip())
        ) from None


def _connect(args: argparse.Namespace) -> Connection:
    from app.core import connection, logs
    from app.core.profiles import ProfileStore

    logs.add_secret(os.environ.get("AZURE_OPENAI_API_KEY"))
    if getattr(args, "demo", False):
        return connection.connect(demo=True, demo_server=start_emulator)
    name = getattr(args, "profile", None)
    if name:
        store = ProfileStore.load()
        profile = store.get(name)
        if profile is None:
            known = ", ".join(p.name for p in store.profiles) or "none saved yet"
            raise UsageError(
                f"There is no profile named '{name}' (profiles: {known}). Add it in Settings in the app."
            )
        return connection.connect(profile, demo_server=start_emulator)
    if not _configured(os.environ):
        raise UsageError(NOT_CONFIGURED)
    return connection.connect(demo_server=start_emulator)


def start_emulator() -> Any:
    """Demo mode's emulator (--demo, or a demo profile), handed to core, which never imports it."""
    from app.emulator import Emulator

    emu = Emulator()
    emu.start()
    return emu


def _deployment(args: argparse.Namespace, conn: Connection, capability: str) -> str:
    from app.core import errors

    chosen = (getattr(args, "deployment", None) or "").strip()
    if chosen:
        return chosen
    try:
        return conn.deployment(capability)
    except errors.ParleyError as exc:
        p = exc.problem
        raise errors.ParleyError(
            errors.Problem(
                p.kind, p.title, p.detail, f"Pass -m DEPLOYMENT, or {p.action[0].lower()}{p.action[1:]}"
            )
        ) from None


def _context(conn: Connection, operation: str, deployment: str) -> Any:
    from dataclasses import replace

    return replace(conn.context(operation), deployment=deployment)


# ---------------------------------------------------------------------------------------------------------------
# Commands


def _stream_text(events: Iterator[Any], *, json_mode: bool) -> int:
    """Print a chat/completions event stream: deltas to stdout, verdicts and problems to stderr; the exit code."""
    from app.core import events as ev
    from app.core.filters import Source

    wrote = False
    at_line_start = True
    answer_verdict = None
    prompt_notes: list[str] = []
    code = EXIT_OK

    def end_line() -> None:
        nonlocal at_line_start
        if wrote and not at_line_start:
            _out("\n")
            at_line_start = True

    try:
        for event in events:
            if json_mode:
                if isinstance(event, ev.Failed):
                    return _report(event.problem, json_mode=True)
                _json_line(ev.to_json(event))
                if isinstance(event, ev.Retrying):
                    _err(_retry_words(event))
                if isinstance(event, ev.Done):
                    code = (
                        EXIT_FILTERED
                        if event.finish_reason == "content_filter"
                        else EXIT_INTERRUPTED
                        if event.finish_reason == "cancelled"
                        else EXIT_OK
                    )
                continue
            if isinstance(event, ev.Delta):
                _out(event.text)
                wrote = True
                at_line_start = event.text.endswith("\n")
            elif isinstance(event, ev.Retrying):
                _err(_retry_words(event))
            elif isinstance(event, ev.FilterResult):
                if event.verdict.source == Source.PROMPT:
                    words = _verdict_words(event.verdict, stopped=False)
                    if words:
                        prompt_notes.append(words)
                else:
                    answer_verdict = event.verdict
            elif isinstance(event, ev.Failed):
                end_line()
                for note in prompt_notes:
                    _err(note)
                return _report(event.problem)
            elif isinstance(event, ev.Done):
                end_line()
                for note in prompt_notes:
                    _err(note)
                if event.finish_reason == "content_filter":
                    if answer_verdict is not None:
                        _err(_verdict_words(answer_verdict, stopped=True) or "")
                    else:
                        _err("Content filter: the answer was stopped.")
                    code = EXIT_FILTERED
                elif event.finish_reason == "cancelled":
                    _err("Stopped.")
                    code = EXIT_INTERRUPTED
                else:
                    if answer_verdict is not None:
                        words = _verdict_words(answer_verdict, stopped=False)
                        if words:
                            _err(words)
                    if event.finish_reason == "length":
                        _err("(The answer reached the token limit; raise --max-tokens for more.)")
    except KeyboardInterrupt:
        end_line()
        raise
    return code


def cmd_ask(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    import mimetypes

    from app.core import chat

    prompt = _read_text(args.prompt, "prompt")
    images = []
    for name in args.image:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"Cannot read the image {name}: {exc.strerror or exc}.") from None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        part, note = chat.prepare_image(data, mime, path.name)
        if note:
            raise UsageError(
                note + " Scale it down first (or attach it in the app, which does that for you)."
            )
        images.append(part)
    deployment = _deployment(args, conn, "chat")
    request = chat.ChatRequest(
        deployment,
        (chat.Message("user", prompt, tuple(images)),),
        system=args.system,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        stream=not args.no_stream,
    )
    client = conn.client()
    ctx = _context(conn, "chat", deployment)
    retries = _max_retries(args, conn)
    return _stream_text(
        _events(
            lambda: chat.stream_chat(client, request, cancel=cancel, ctx=ctx, max_retries=retries), cancel
        ),
        json_mode=args.json,
    )


def cmd_complete(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import completions

    prompt = _read_text(args.prompt, "prompt")
    deployment = _deployment(args, conn, "completions")
    request = completions.CompletionRequest(
        deployment, prompt, max_tokens=args.max_tokens, temperature=args.temperature
    )
    client = conn.client()
    ctx = _context(conn, "completions", deployment)
    retries = _max_retries(args, conn)
    return _stream_text(
        _events(
            lambda: completions.stream_completion(
                client, request, cancel=cancel, ctx=ctx, max_retries=retries
            ),
            cancel,
        ),
        json_mode=args.json,
    )


def cmd_embed(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import embeddings
    from app.core import events as ev

    text = _read_text(args.text, "text")
    deployment = _deployment(args, conn, "embeddings")
    client = conn.client()
    ctx = _context(conn, "embeddings", deployment)
    retries = _max_retries(args, conn)
    gen = embeddings.embed(
        client,
        [text],
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        dimensions=args.dimensions,
        max_retries=retries,
    )
    vector = None
    for event in _events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            _err(_retry_words(event))
        elif isinstance(event, embeddings.EmbeddingBatch):
            vector = [float(x) for x in event.vectors[0]]
            request_id = event.request_id
        elif isinstance(event, ev.Failed):
            return _report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done):
            if event.finish_reason == "cancelled":
                _err("Stopped.")
                return EXIT_INTERRUPTED
            if vector is None:
                _err("Azure answered without a vector.")
                return EXIT_FAILURE
            if args.json:
                usage = event.usage
                _json_line(
                    {
                        "type": "embedding",
                        "deployment": deployment,
                        "dimensions": len(vector),
                        "embedding": vector,
                        "request_id": request_id,
                        "usage": None
                        if usage is None
                        else {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens},
                    }
                )
            else:
                head = ", ".join(f"{x:.6f}" for x in vector[:8])
                more = ", …" if len(vector) > 8 else ""
                _out(f"dimensions: {len(vector)}\n[{head}{more}]\n")
    return EXIT_OK


def cmd_speak(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import audio_api
    from app.core import events as ev

    text = _read_text(args.text, "text")
    deployment = _deployment(args, conn, "speech")
    voice = args.voice or conn.profile.tts_voice
    speed = args.speed if args.speed is not None else conn.profile.tts_speed
    client = conn.client()
    ctx = _context(conn, "speech", deployment)
    gen = audio_api.speak_to_file(
        client,
        text,
        args.output,
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        voice=voice,
        speed=speed,
        max_retries=_max_retries(args, conn),
    )
    for event in _events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            _err(_retry_words(event))
        elif isinstance(event, audio_api.SavedAudio):
            _err(
                f"Saved {event.seconds:.1f} s of speech to {event.path}"
                + (f" ({event.pieces} requests)" if event.pieces > 1 else "")
                + "."
            )
        elif isinstance(event, ev.Failed):
            return _report(event.problem)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            _err("Stopped; no file was written.")
            return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_transcribe(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import audio_api
    from app.core import events as ev

    path = Path(args.file)
    try:
        audio = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read the audio file {args.file}: {exc.strerror or exc}.") from None
    deployment = _deployment(args, conn, "transcription")
    client = conn.client()
    ctx = _context(conn, "transcription", deployment)
    gen = audio_api.transcribe(
        client,
        audio,
        cancel=cancel,
        ctx=ctx,
        deployment=deployment,
        filename=path.name,
        language=args.language,
        max_retries=_max_retries(args, conn),
    )
    for event in _events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            _err(_retry_words(event))
        elif isinstance(event, audio_api.Transcript):
            if args.json:
                _json_line(
                    {
                        "type": "transcript",
                        "text": event.text,
                        "request_id": event.request_id,
                        "duration": event.duration,
                    }
                )
            elif event.text:
                _out(event.text + "\n")
            else:
                _err("No speech was heard in the file.")
        elif isinstance(event, ev.Failed):
            return _report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            _err("Stopped.")
            return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_image(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from app.core import events as ev
    from app.core import images

    prompt = _read_text(args.prompt, "prompt")
    deployment = _deployment(args, conn, "images")
    request = images.ImageRequest(
        deployment,
        prompt,
        size=args.size,
        quality=args.quality,
        style=args.style,
        response_format=args.response_format,
    )
    client = conn.client()
    ctx = _context(conn, "images", deployment)
    gen = images.generate(client, request, cancel=cancel, ctx=ctx, max_retries=_max_retries(args, conn))
    out = Path(args.output)
    for event in _events(lambda: gen, cancel):
        if isinstance(event, ev.Retrying):
            _err(_retry_words(event))
        elif isinstance(event, images.GeneratedImage):
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_name(out.name + ".part")
                tmp.write_bytes(event.png)
                os.replace(tmp, out)
            except OSError as exc:
                raise UsageError(f"Cannot write {out}: {exc.strerror or exc}.") from None
            if event.revised_prompt:
                _err(f"Revised prompt: {event.revised_prompt}")
            w, h = event.size
            _err(f"Saved a {w}×{h} image to {out}.")
            if args.json:
                _json_line(
                    {
                        "type": "image",
                        "path": str(out),
                        "width": w,
                        "height": h,
                        "revised_prompt": event.revised_prompt,
                        "request_id": event.request_id,
                    }
                )
        elif isinstance(event, ev.Failed):
            return _report(event.problem, json_mode=args.json)
        elif isinstance(event, ev.Done) and event.finish_reason == "cancelled":
            _err("Stopped.")
            return EXIT_INTERRUPTED
    return EXIT_OK


def _when(ts: int | None) -> str:
    if not ts:
        return "-"
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def cmd_jobs(args: argparse.Namespace, conn: Connection, cancel: CancelToken) -> int:
    from dataclasses import asdict

    from app.core import jobs

    retries = _max_retries(args, conn)
    kinds = [args.kind] if args.kind else ["fine-tuning", "batches"]
    ctx = _context(conn, "jobs", "")
    for kind in kinds:
        if kind == "fine-tuning":
            found = _call(
                lambda: jobs.list_fine_tuning_jobs(
                    client_of(conn), ctx=ctx, cancel=cancel, max_retries=retries
                ),
                cancel,
            )
            if args.json:
                for job in found:
                    _json_line({"type": "fine_tuning_job", **asdict(job)})
                continue
            _out("Fine-tuning jobs\n")
            rows = [
                (j.id, j.status, j.model or "-", _when(j.created_at), j.fine_tuned_model or j.error or "")
                for j in found
            ]
            _out(_table(("ID", "STATUS", "MODEL", "CREATED", "RESULT"), rows) if rows else "  (none)\n")
        else:
            found_b = _call(
                lambda: jobs.list_batches(client_of(conn), ctx=ctx, cancel=cancel, max_retries=retries),
                cancel,
            )
            if args.json:
                for batch in found_b:
                    _json_line({"type": "batch", **asdict(batch)})
                continue
            _out("Batches\n")
            rows = [
                (
                    b.id,
                    b.status,
                    b.endpoint,
                    _when(b.created_at),
                    f"{b.request_counts.completed}/{b.request_counts.total}"
                    + (f" ({b.request_counts.failed} failed)" if b.request_counts.failed else ""),
                )
                for b in found_b
            ]
            _out(_table(("ID", "STATUS", "ENDPOINT", "CREATED", "DONE"), rows) if rows else "  (none)\n")
        if not args.json and kind != kinds[-1]:
            _out("\n")
    return EXIT_OK


def client_of(conn: Connection) -> Any:
    return conn.client()


def _call(fn: Callable[[], Any], cancel: CancelToken) -> Any:
    """A plain core call on the worker thread, so Ctrl+C cancels it; returns its value or raises its error."""
    box: list[Any] = []

    def gen() -> Iterator[Any]:
        box.append(fn())
        yield from ()

    for _ in _events(gen, cancel):
        pass
    return box[0]


def cmd_emulator(args: argparse.Namespace) -> int:
    import time

    from app.emulator import DEMO_WORDS, DEPLOYMENTS, Emulator

    emu = Emulator(port=args.port, api_key=args.api_key)
    try:
        url = emu.start()
    except OSError as exc:
        raise UsageError(f"Cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}.") from None
    try:
        _out(f"Azure OpenAI emulator at {url}\n")
        names = ", ".join(f"{name} ({kind})" for name, (kind, _model, _dims) in DEPLOYMENTS.items())
        _out(f"Deployments: {names}\n")
        _out(f"API key: {'only the one given with --api-key' if args.api_key else 'any'}\n")
        _out("Demo words in a prompt: " + ", ".join(DEMO_WORDS) + "\n")
        _out(f"Try: AZURE_OPENAI_ENDPOINT={url} AZURE_OPENAI_API_KEY=any parley ask 'hello'\n")
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        _err("Emulator stopped.")
        return EXIT_OK
    finally:
        emu.stop()


COMMANDS: dict[str, Callable[[argparse.Namespace, Any, Any], int]] = {
    "ask": cmd_ask,
    "complete": cmd_complete,
    "embed": cmd_embed,
    "speak": cmd_speak,
    "transcribe": cmd_transcribe,
    "image": cmd_image,
    "jobs": cmd_jobs,
}


# ---------------------------------------------------------------------------------------------------------------
# Entry points


def _start_gui(args: argparse.Namespace) -> int:
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    )
    if headless:
        if args.screenshot:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
        else:
            _err(
                "parley: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set).\n"
                "  Use a command instead (parley --help lists them), or set QT_QPA_PLATFORM=offscreen."
            )
            return EXIT_USAGE
    from app.ui.app import run_gui

    return run_gui(
        demo=bool(getattr(args, "demo", False)),
        screenshot=args.screenshot,
        tab=args.tab,
        profile=getattr(args, "profile", None),
        send=args.send,
    )


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _run(args: argparse.Namespace, log_file: Path | None) -> int:
    import logging

    log = logging.getLogger("parley.cli")
    if args.command is None:
        return _start_gui(args)
    if args.command == "emulator":
        return cmd_emulator(args)

    from app.core import errors
    from app.core.cancel import CancelToken

    cancel = CancelToken()
    conn = None
    json_mode = bool(getattr(args, "json", False))
    try:
        conn = connect(args)
        log.info(
            "parley %s: %s via %s (%s)", app.__version__, args.command, conn.source, conn.profile.endpoint
        )
        return COMMANDS[args.command](args, conn, cancel)
    except errors.ParleyError as exc:
        return _report(exc.problem, json_mode=json_mode)
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def main(argv: list[str] | None = None) -> int:
    """`parley [options] [COMMAND ...]`; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    for name, default in (
        ("demo", False),
        ("profile", None),
        ("retries", None),
        ("log_level", os.environ.get("PARLEY_LOG_LEVEL", "INFO").upper()),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)

    log_file: Path | None = None
    try:
        from app.core import logs

        log_file = logs.setup_logging(args.log_level if args.log_level in LOG_LEVELS else "INFO")
    except Exception as exc:  # noqa: BLE001 - a broken log must not stop the command
        _err(f"parley: logging is off ({exc}).")

    previous = None
    if args.command is not None and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(args, log_file)
    except UsageError as exc:
        import logging

        logging.getLogger("parley.cli").warning("usage: %s", exc)
        _err(f"parley: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("Stopped.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python's exit flush quiet
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - never a traceback on the terminal
        import logging

        logging.getLogger("parley.cli").exception("unexpected failure in %s", args.command or "gui")
        where = f" — details in {log_file}" if log_file else ""
        try:
            from app.core.logs import redact

            text = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
        except Exception:  # noqa: BLE001
            text = type(exc).__name__
        _err(f"parley: unexpected error: {text}{where}")
        return EXIT_FAILURE
    finally:
        if previous is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, previous)


def gui_main() -> int:
    """The `parley-gui` entry point (no console on Windows): the same options, the window by default."""
    return main(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
