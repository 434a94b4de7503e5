"""What to do next after Azure refused a request, worded from what is known about it (the api-version in use, the
message Azure gave), for `errors.from_status`: advice that repeats what the user already does is worse than none."""

from __future__ import annotations

import re

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
