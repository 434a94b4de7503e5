"""Cutting text into pieces Azure speaks in one request (at most 4096 characters), at sentence ends."""

from __future__ import annotations

import re

MAX_SPEECH_CHARS = 4096  # Azure's input limit for one speech request


def split_for_speech(text: str, limit: int = MAX_SPEECH_CHARS) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters at sentence ends (. ! ? … or a line break).

    Sentences are packed greedily; a single sentence longer than `limit` is cut at the last space that fits (a
    word longer than `limit` is the only thing ever cut mid-word). Pieces keep the text's own spacing inside them.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    # Sentence ends: terminal punctuation (plus closing quotes/brackets) followed by whitespace, or line breaks.
    ends = [m.end() for m in re.finditer(r"[.!?…。！？]+[\"'”’»)\]]*\s+|\n\s*", text)]
    bounds = [0] + [e for e in ends if 0 < e < len(text)] + [len(text)]
    sentences = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if text[a:b].strip()]

    pieces: list[str] = []
    start: int | None = None
    end = 0
    for a, b in sentences:
        if start is not None and len(text[start:b].strip()) <= limit:
            end = b
            continue
        if start is not None:
            pieces.append(text[start:end].strip())
            start = None
        if len(text[a:b].strip()) <= limit:
            start, end = a, b
        else:
            pieces.extend(_split_words(text[a:b].strip(), limit))
    if start is not None:
        pieces.append(text[start:end].strip())
    return [p for p in pieces if p]


def _split_words(sentence: str, limit: int) -> list[str]:
    out: list[str] = []
    rest = sentence
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind(" "), window.rfind("\t"), window.rfind("\n"))
        if cut <= 0:  # one word longer than the limit: nothing else to do
            cut = limit
        out.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        out.append(rest)
    return out
