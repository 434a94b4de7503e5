"""The words of `errors`' problems that depend on what is known: what to do after Azure refused a request (from the
api-version in use and the message Azure gave: advice that repeats what the user already does is worse than none),
why a connection failed, and what came back when it was not an answer."""

from __future__ import annotations

import re
from typing import Any

SPEECH_FIRST_PREVIEW = "2024-02-15-preview"  # the first api-version with /audio/speech


def speech_not_found(version: str | None) -> str:
    """What to do when speech is not found, from the api-version in use: a GA version has no speech at all, a
    preview older than 2024-02-15-preview predates it; a later preview is not the cause (advising "use a preview"
    there repeats what the user already does), so the resource's region is."""
    if not version or not version.endswith("-preview"):
        shown = f" ({version})" if version else ""
        return (
            f"Text to speech needs a preview api-version, and this one{shown} is not: set 2024-10-01-preview "
            "in Settings (OPENAI_API_VERSION from the command line)."
        )
    if version < SPEECH_FIRST_PREVIEW:
        return (
            f"Text to speech arrived in api-version {SPEECH_FIRST_PREVIEW}; {version} is older. Set "
            "2024-10-01-preview in Settings (OPENAI_API_VERSION from the command line)."
        )
    return (
        f"The api-version ({version}) already offers text to speech, so this resource does not: speech (tts, tts-hd) "
        "is deployed only on resources in North Central US or Sweden Central. Check the endpoint and the speech "
        "deployment in Settings."
    )


def bad_request(message: str) -> str:
    """What to do about a 400 Azure explained in `message`."""
    low = message.lower()
    if "api version" in low or "api-version" in low:
        return "Choose another api-version in Settings (the seed lists 2024-10-21 and 2024-10-01-preview)."
    if "maximum context length" in low or "too many tokens" in low or re.search(r"\btokens?\b.*\blimit", low):
        return "Shorten the conversation or start a new one."
    return "Change the input or options and try again."


def connection_reason(cause: BaseException | None, ctx: Any) -> str:
    """Why a connection failed, in words, from the exception under it (`ctx`: an `errors.Context`)."""
    text = str(cause or "")
    low = text.lower()
    where = f" {ctx.endpoint}" if ctx.endpoint else ""
    if (
        "name or service not known" in low
        or "nodename nor servname" in low
        or "getaddrinfo" in low
        or "name resolution" in low
    ):
        return f"The endpoint's host name{where} could not be found."
    if "connection refused" in low:
        return f"Nothing answered at{where or ' the endpoint'} (connection refused)."
    if "certificate" in low or "ssl" in low:
        return f"The secure connection to{where or ' the endpoint'} failed: {first_lines(text)}"
    if (
        "incomplete" in low
        or "peer closed" in low
        or "reset" in low
        or "remoteprotocol" in low
        or "disconnect" in low
    ):
        return "The connection dropped before the answer was complete."
    return f"The connection to{where or ' the endpoint'} failed" + (f": {first_lines(text)}" if text else ".")


def first_lines(text: str, n: int = 3) -> str:
    """The first `n` lines of `text`, stripped."""
    return "\n".join(text.strip().splitlines()[:n])


QUOTED_CHARS = (
    120  # of a reply that is not an answer: enough to recognise a portal's page, never the whole of it
)
_SCANNED = 65536  # redacted before it is cut, so a key never shows in part


def reply_kind(content_type: str | None) -> str:
    """'a text/html page', 'a reply of type text/plain': what a reply that is not an answer says it is."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not ctype:
        return "a reply without a content type"
    return f"a {ctype} page" if "html" in ctype else f"a reply of type {ctype}"


def unexpected_reply(what: str, body: bytes | str, size: int | None = None) -> str:
    """Azure's reply was not what Parley expected (WHAT, N bytes: 'the start of it'), and the likely cause."""
    from app.core.logs import redact

    text = body[:_SCANNED].decode("utf-8", "replace") if isinstance(body, bytes) else body[:_SCANNED]
    text = " ".join(redact(text).split())
    text = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text[: QUOTED_CHARS + 1])
    quote = text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + "…"
    if size is None:
        size = len(body.encode() if isinstance(body, str) else body)
    said = f", {size:,} byte{'' if size == 1 else 's'}" + (f": '{quote}'" if quote else "")
    return f"Azure's reply was not what Parley expected ({what}{said}): a proxy or a captive portal may be in the way."
