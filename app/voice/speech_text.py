"""Text made for the ear: Markdown, code and URLs stripped or summarised, and answers cut into sentences as they stream."""

from __future__ import annotations

import re
from urllib.parse import urlparse

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]{1,40})`|`[^`\n]+`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_URL = re.compile(r"\bhttps?://[^\s)>\]]+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.M)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M)
_QUOTE = re.compile(r"^\s*>\s?", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M)
_HR = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.M)


def _host(url: str) -> str:
    try:
        host = urlparse(url).hostname or "a website"
    except ValueError:  # an answer's `https://[…` is not a URL urllib can read
        host = "a website"
    return host.removeprefix("www.")


def strip_markdown(text: str) -> str:
    """What Parley says aloud for a Markdown answer."""
    text = _FENCE.sub(" (There is a code example on screen.) ", text)
    text = _IMAGE.sub(lambda m: f" (image: {m.group(1)}) " if m.group(1) else " ", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _URL.sub(lambda m: f"a link to {_host(m.group(0))}", text)
    text = _INLINE_CODE.sub(lambda m: m.group(1) or "code", text)
    text = _TABLE_RULE.sub("", text)
    text = _HR.sub("", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    text = _QUOTE.sub("", text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    text = text.replace("|", ", ")
    # Lines that end without punctuation (headings, list items) become sentences of their own.
    lines = [ln.strip() for ln in text.splitlines()]
    out = []
    for ln in lines:
        if not ln:
            continue
        out.append(ln if ln[-1] in ".!?:;…)" else ln + ".")
    return re.sub(r"\s+", " ", " ".join(out)).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "mr.", "mrs.", "dr.", "st.", "no.")


class SentenceSplitter:
    """Feed streamed Markdown deltas; get complete, speakable sentences as soon as each one ends.

    A fenced code block is held back until it closes, so its content is never read out.
    """

    def __init__(self, min_chars: int = 12):
        self._buffer = ""
        self.min_chars = min_chars

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        if self._buffer.count("```") % 2 == 1:  # inside an open code block: wait for it to close
            head, _, _ = self._buffer.rpartition("```")
            return self._cut(head, keep_from=len(head))
        return self._cut(self._buffer, keep_from=None)

    def _cut(self, text: str, keep_from: int | None) -> list[str]:
        sentences = []
        start = 0
        fences = [m.span() for m in _FENCE.finditer(text)]
        for match in _SENTENCE_END.finditer(text):
            if any(a < match.start() < b for a, b in fences):
                continue  # a full stop inside code is not the end of a sentence
            candidate = text[start : match.end()]
            words = candidate.strip().split()
            if words and words[-1].lower() in _ABBREVIATIONS:
                continue
            if len(candidate.strip()) < self.min_chars:
                continue
            spoken = strip_markdown(candidate)
            if spoken:
                sentences.append(spoken)
            start = match.end()
        self._buffer = text[start:] + (self._buffer[keep_from:] if keep_from is not None else "")
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        spoken = strip_markdown(rest)
        return [spoken] if spoken else []


def split_long(text: str, limit: int = 4096) -> list[str]:
    """Pieces of at most `limit` characters, cut at sentence ends, else at spaces (TTS accepts 4096 at most)."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? "), window.rfind("\n"))
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit - 1
        pieces.append(text[: cut + 1].strip())
        text = text[cut + 1 :].strip()
    if text:
        pieces.append(text)
    return pieces
