"""What kind of model each deployment serves (its family), so requests are shaped the way that model accepts.

Deployment names are often opaque ("prod-chat"), so a name alone never decides: a family learned from Azure (the
`model` field of a response, the connection test, a 400 `unsupported_parameter`) is kept in the profile
(`Profile.families`) and wins; the model name is only the first guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


# ---------------------------------------------------------------------------------------------------------------
# How a chat request is shaped for a model (Microsoft Learn, "Azure OpenAI reasoning models"; openai-python's
# `ReasoningEffort` literal: none, minimal, low, medium, high).

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
REASONING_API_VERSION = "2024-12-01-preview"  # reasoning models answer only at this api-version or later
SAMPLING_PARAMETERS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")


@dataclass(frozen=True)
class ChatTraits:
    """What a chat deployment accepts. `efforts` empty: send no `reasoning_effort`; `system_role` "" means the model
    takes no system or developer message, so the instructions go in front of the first user message."""

    reasoning: bool = False
    efforts: tuple[str, ...] = ()
    stream: bool = True
    system_role: str = "system"
    sampling: bool = True  # temperature, top_p and the penalties
    router: bool = False  # model-router: each answer comes from the model it picked

    @property
    def token_limit(self) -> str:
        return "max_completion_tokens" if self.reasoning else "max_tokens"


CHAT_TRAITS = ChatTraits()


def chat_traits(family: Family | None, model: str | None = None) -> ChatTraits:
    """The request shape for a chat deployment of `family` serving `model` (its model name, when known)."""
    if family != Family.REASONING:
        return CHAT_TRAITS
    name = (model or "").strip().lower()
    if name.startswith(
        "model-router"
    ):  # routes each request; reasoning_effort is not accepted, sampling is ignored
        return ChatTraits(True, (), True, "developer", False, router=True)
    if re.match(r"o1-(mini|preview)", name):  # the first o-series: no system or developer message, no effort
        return ChatTraits(True, (), True, "", False)
    if re.match(r"o1\b(?!-)|o1-\d{4}", name):  # o1 itself: Azure does not stream it
        return ChatTraits(True, ("low", "medium", "high"), False, "developer", False)
    if re.match(r"gpt-?5\.\d+", name):  # gpt-5.1 and later: 'none' replaces 'minimal'
        return ChatTraits(True, ("none", "low", "medium", "high"), True, "developer", False)
    if re.match(r"gpt-?5", name):
        return ChatTraits(True, ("minimal", "low", "medium", "high"), True, "developer", False)
    return ChatTraits(True, ("low", "medium", "high"), True, "developer", False)
