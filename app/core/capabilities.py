"""What kind of model each deployment serves (its family), so requests are shaped the way that model accepts.

Deployment names are often opaque ("prod-chat"), so a name alone never decides: a family learned from Azure (the
`model` field of a response, the connection test, a 400 `unsupported_parameter`) is kept in the profile
(`Profile.families`) and wins; the model name is only the first guess.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Family(StrEnum):
    CHAT = "chat"  # gpt-4o, gpt-4.1, gpt-35-turbo, gpt-5-chat: temperature, max_tokens, system role
    REASONING = "reasoning"  # o1/o3/o4-mini, gpt-5.x, model-router: max_completion_tokens, reasoning effort
    DALLE = "dall-e"  # dall-e-3: size/quality/style/response_format
    GPT_IMAGE = (
        "gpt-image"  # gpt-image-1/-1-mini/-1.5/-2: quality low..high, background, output_format, edits
    )
    TTS = "tts"  # tts, tts-hd: voice and speed
    TTS_INSTRUCT = "tts-instruct"  # gpt-4o-mini-tts: voice, speed and `instructions` (a speaking style)
    WHISPER = "whisper"  # whisper: transcription, no streaming
    TRANSCRIBE = "gpt-4o-transcribe"  # gpt-4o-transcribe / -mini-transcribe: streamed transcription
    EMBEDDINGS = "embeddings"  # text-embedding-*
    COMPLETIONS = "completions"  # gpt-35-turbo-instruct, davinci-002, babbage-002
    REALTIME = "realtime"  # gpt-realtime, gpt-realtime-mini, gpt-4o-realtime-preview

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Family.CHAT: "Chat",
    Family.REASONING: "Reasoning chat",
    Family.DALLE: "DALL-E",
    Family.GPT_IMAGE: "GPT-image",
    Family.TTS: "Text to speech",
    Family.TTS_INSTRUCT: "Text to speech with a speaking style",
    Family.WHISPER: "Whisper transcription",
    Family.TRANSCRIBE: "GPT-4o transcription",
    Family.EMBEDDINGS: "Embeddings",
    Family.COMPLETIONS: "Completions (legacy)",
    Family.REALTIME: "Realtime (speech to speech)",
}

# Most specific first: the first pattern that matches the start of a normalised model name decides.
_PATTERNS: tuple[tuple[str, Family], ...] = (
    (r"gpt-?5(\.\d+)?-chat", Family.CHAT),  # gpt-5-chat is a chat model, not a reasoning one
    (r"gpt-?4o(-mini)?-transcribe", Family.TRANSCRIBE),
    (r"gpt-?4o(-mini)?-tts", Family.TTS_INSTRUCT),
    (r"gpt-?(4o(-mini)?-)?realtime", Family.REALTIME),
    (r"gpt-?image", Family.GPT_IMAGE),
    (r"dall-?e", Family.DALLE),
    (r"tts", Family.TTS),
    (r"whisper", Family.WHISPER),
    (r"text-embedding|embedding", Family.EMBEDDINGS),
    (r"gpt-?35-turbo-instruct|gpt-3\.5-turbo-instruct|davinci|babbage", Family.COMPLETIONS),
    (r"o\d(-mini|-pro|-preview|-deep-research)?\b|gpt-?5|model-router|codex", Family.REASONING),
    (r"gpt-?4|gpt-?35|gpt-3\.5", Family.CHAT),
)


def family_for_model(name: str | None) -> Family | None:
    """The family a model name (or a deployment named after its model, as the seed's are) points to, else None."""
    if not name:
        return None
    text = name.strip().lower()
    for pattern, family in _PATTERNS:
        if re.match(pattern, text):
            return family
    return None


def parse(value: str | None) -> Family | None:
    """A stored family name back to the enum (None for a name this version does not know)."""
    try:
        return Family(value) if value else None
    except ValueError:
        return None
