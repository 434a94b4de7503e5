"""What the emulator says: demo words, the deterministic Markdown answer, tokens, and content-filter results.

Stdlib only. Nothing here touches the network; server.py turns these into Azure's wire shapes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# The demo words, looked for (case-insensitively) in the last user message, a completions prompt or an image
# prompt. The README and the GUI show this table; docs/emulator.md explains each one.
DEMO_WORDS: dict[str, str] = {
    "filter:prompt": "400 content_filter: the prompt is blocked (violence, medium)",
    "filter:jailbreak": "400 content_filter: the prompt is blocked as a jailbreak attempt",
    "filter:answer": "the answer stops after ~40% with finish_reason content_filter (violence, high)",
    "filter:async": "asynchronous filter: late annotation chunks after the last delta (protected material detected)",
    "filter:image": "DALL-E 400 content_policy_violation with inner_error and revised_prompt",
    "fault:429": "429 rate limit with retry-after-ms: 300 and retry-after: 1",
    "fault:429once": "429 the first time this exact request is seen, then success",
    "fault:500": "500 InternalServerError",
    "fault:500once": "500 the first time this exact request is seen, then success",
    "fault:cut": "the stream stops after ~30% and the TCP connection is dropped (no [DONE])",
    "fault:hang": "the request is accepted and never answered",
    "fault:slow=N": "stream at N tokens/s (default 5); speech at N chunks/s",
    "len:N": "the answer is about N tokens long",
    "think:N": "a reasoning deployment thinks N seconds (silence) before its first token",
}

# The same behaviour, selected per request by header (applies to every route).
DEMO_HEADERS: dict[str, str] = {
    "x-parley-fault": "429 | 429once | 500 | 500once | cut | hang | slow | slow=N",
    "x-parley-tokens": "N: the answer is about N tokens long",
    "x-parley-token-rate": "N: tokens per second for this request (0 = no delay)",
    "x-parley-think": "N: seconds a reasoning deployment thinks before its first token",
}

_FAULT_RE = re.compile(r"fault:(429once|429|500once|500|cut|hang|slow(?:=(\d+(?:\.\d+)?))?)", re.I)
_FILTER_RE = re.compile(r"filter:(prompt|jailbreak|answer|async|image)", re.I)
_LEN_RE = re.compile(r"len:(\d+)", re.I)
_THINK_RE = re.compile(r"think:(\d+(?:\.\d+)?)", re.I)
_HEADER_FAULT_RE = re.compile(
    r"^\s*(429once|429|500once|500|cut|hang|slow)(?:\s*=\s*(\d+(?:\.\d+)?))?\s*$", re.I
)


@dataclass(frozen=True)
class Directives:
    """What the demo words and x-parley-* headers ask of one request."""

    fault: str | None = None  # 429, 429once, 500, 500once, cut, hang, slow
    filter: str | None = None  # prompt, jailbreak, answer, async, image
    tokens: int | None = None  # answer length
    rate: float | None = None  # tokens/s for this request (None: the emulator's default)
    think: float | None = None  # seconds a reasoning model thinks (None: the emulator's think_seconds)


def directives(text: str, headers: dict[str, str]) -> Directives:
    """Demo words in `text`, overridden by the x-parley-* headers."""
    fault = rate = tokens = None
    flt = None
    m = _FAULT_RE.search(text or "")
    if m:
        fault = m.group(1).lower()
        if fault.startswith("slow"):
            fault, rate = "slow", float(m.group(2) or 5)
    m = _FILTER_RE.search(text or "")
    if m:
        flt = m.group(1).lower()
    m = _LEN_RE.search(text or "")
    if m:
        tokens = max(1, min(int(m.group(1)), 200_000))
    header = headers.get("x-parley-fault")
    if header:
        m = _HEADER_FAULT_RE.match(header)
        if m:
            fault = m.group(1).lower()
            if fault == "slow":
                rate = float(m.group(2) or 5)
    if headers.get("x-parley-tokens", "").strip().isdigit():
        tokens = max(1, min(int(headers["x-parley-tokens"]), 200_000))
    try:
        if headers.get("x-parley-token-rate"):
            rate = max(0.0, float(headers["x-parley-token-rate"]))
    except ValueError:
        pass
    think = None
    m = _THINK_RE.search(text or "")
    if m:
        think = min(float(m.group(1)), 600.0)
    try:
        if headers.get("x-parley-think"):
            think = min(max(0.0, float(headers["x-parley-think"])), 600.0)
    except ValueError:
        pass
    return Directives(fault, flt, tokens, rate, think)


# -- tokens -----------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


def tokenize(text: str) -> list[str]:
    """Word-ish pieces that keep their leading whitespace: ''.join(tokenize(t)) == t."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text)) if text else 0


def stable_hash(text: str, size: int = 8) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=size).digest(), "big")


# -- the answer -------------------------------------------------------------------------------------------------

_STOP = set(
    "a an the and or but if of to in on at for with about from by as is are was were be been being do does did "
    "what when where who whom which why how can could would should will shall may might must i you he she it we "
    "they me my your our their this that these those please tell explain give show write make me us any some "
    "more most much many very just also not no yes so than then there here into over under up down out".split()
)
_DEMO_TOKEN_RE = re.compile(r"(?:fault|filter|len):\S*", re.I)

_OPENINGS = (
    "Here is a short overview",
    "Good question. Here is what matters most",
    "Here are a few practical points",
    "Here is a quick summary",
)
_CLOSINGS = (
    "I hope this helps; ask a follow-up question if you want more detail on any point.",
    "Let me know which part you would like to explore next.",
    "If you share more context, I can tailor the example to your case.",
)
_POINTS = (
    ("Start simple", "get a small version of {t} working before adding options"),
    ("Measure", "check how {t} behaves with real data, not only with examples"),
    ("Name things well", "clear names make {t} easier to read and to change"),
    ("Handle errors", "decide early what {t} should do when something goes wrong"),
    ("Write it down", "a short note about {t} saves time for the next person"),
    ("Test it", "one small automated test for {t} catches most regressions"),
)
_EXTRA = (
    "A useful way to think about {t} is as a series of small, reversible steps. Each step should leave the "
    "system in a working state, so that you can stop at any point and still have something to show.",
    "In practice, {t} tends to fail at the edges: empty inputs, very large inputs, slow networks and "
    "unexpected characters. Listing those cases up front makes the design much calmer.",
    "When you explain {t} to someone else, start with the problem it solves, then the simplest example, and "
    "only then the details. People remember stories better than lists of features.",
    "Finally, keep an eye on cost and speed. For {t}, a quick estimate on the back of an envelope often "
    "tells you whether an idea is worth trying before you write any code.",
)


def topic_words(question: str) -> list[str]:
    cleaned = _DEMO_TOKEN_RE.sub(" ", question)
    words = [
        w for w in re.findall(r"[A-Za-z][A-Za-z0-9'-]*", cleaned) if w.lower() not in _STOP and len(w) > 1
    ]
    return words[:3]


def _quote(question: str, limit: int = 12) -> str:
    words = " ".join(question.split()).split(" ")
    text = " ".join(words[:limit])
    return text + ("…" if len(words) > limit else "")


def answer_markdown(question: str, image_notes: list[str] | None = None, tokens: int | None = None) -> str:
    """A deterministic, useful-looking Markdown answer that depends on the question (~150 tokens by default)."""
    h = stable_hash(question)
    topics = topic_words(question)
    topic = " ".join(topics).lower() if topics else "this topic"
    slug = "_".join(w.lower().replace("'", "").replace("-", "_") for w in topics) or "topic"
    quote = _quote(question) if question.strip() else "(an empty message)"
    parts = [f"> {quote}\n\n"]
    opening = _OPENINGS[h % len(_OPENINGS)]
    if image_notes:
        parts.append(" ".join(image_notes) + "\n\n")
    parts.append(f"{opening} about **{topic}**.\n\n")
    parts.append(f"## {topic[:1].upper() + topic[1:]}\n\n")
    start = (h >> 8) % len(_POINTS)
    for i in range(3):
        title, text = _POINTS[(start + i) % len(_POINTS)]
        parts.append(f"- **{title}**: {text.format(t=topic)}.\n")
    parts.append("\n")
    extra_at = len(parts)
    parts.append(
        "```python\n"
        f"def {slug}_summary(items: list[str]) -> str:\n"
        f'    """Summarise notes about {topic}."""\n'
        '    return "; ".join(item.strip() for item in items if item.strip())\n'
        "```\n\n"
    )
    parts.append(_CLOSINGS[(h >> 16) % len(_CLOSINGS)])
    text = "".join(parts)
    if tokens is None:
        return text
    # Longer: insert extra paragraphs before the code; shorter: cut at a token boundary.
    i = 0
    while count_tokens(text) < tokens:
        para = _EXTRA[(h + i) % len(_EXTRA)].format(t=topic)
        if i >= len(_EXTRA):
            para = f"### Note {i + 1}\n\n" + para
        parts.insert(extra_at + i, para + "\n\n")
        text = "".join(parts)
        i += 1
    pieces = tokenize(text)
    return "".join(pieces[:tokens])


def completion_text(prompt: str, tokens: int | None = None) -> str:
    """The legacy completions answer: plain prose continuing the prompt."""
    h = stable_hash(prompt)
    topics = topic_words(prompt)
    topic = " ".join(topics).lower() if topics else "this"
    sentences = [
        f"\n\n{_quote(prompt, 8)}",
        f"\n\nThis is a completion about {topic}.",
        f" {_EXTRA[h % len(_EXTRA)].format(t=topic)}",
    ]
    text = "".join(sentences)
    if tokens is not None:
        i = 1
        while count_tokens(text) < tokens:
            text += " " + _EXTRA[(h + i) % len(_EXTRA)].format(t=topic)
            i += 1
        text = "".join(tokenize(text)[:tokens])
    return text


def revised_prompt(prompt: str) -> str:
    """DALL-E 3's habit: a richer, deterministic rewording of the prompt."""
    h = stable_hash(prompt)
    base = _DEMO_TOKEN_RE.sub(" ", prompt).strip().rstrip(".!?") or "an abstract composition"
    base = base[0].lower() + base[1:] if base else base
    settings = (
        "set against a soft pastel sky",
        "in a sunlit meadow",
        "in a cosy, warmly lit room",
        "on a quiet city street at dusk",
        "beside a calm lake at sunrise",
    )
    details = (
        "rich textures and gentle shadows",
        "vivid colours and crisp detail",
        "a shallow depth of field",
        "playful, whimsical touches",
    )
    return (
        f"A detailed illustration of {base}, {settings[h % len(settings)]}, "
        f"rendered with {details[(h >> 8) % len(details)]}."
    )


# -- content-filter results ---------------------------------------------------------------------------------------


def _sev(severity: str = "safe", filtered: bool = False) -> dict:
    return {"filtered": filtered, "severity": severity}


def safe_results() -> dict:
    """The four harm categories, all safe (completion side)."""
    return {"hate": _sev(), "self_harm": _sev(), "sexual": _sev(), "violence": _sev()}


def prompt_results(jailbreak: bool = True) -> dict:
    out = {"hate": _sev()}
    if jailbreak:
        out["jailbreak"] = {"filtered": False, "detected": False}
    out.update({"self_harm": _sev(), "sexual": _sev(), "violence": _sev()})
    return out


def prompt_filter_results(images: int = 0) -> list[dict]:
    """Chat's `prompt_filter_results`: text only → index 0 with all categories; with images, index 0 carries the
    jailbreak check of the text and one further index per image carries the harm categories (as the seed shows)."""
    if not images:
        return [{"prompt_index": 0, "content_filter_results": prompt_results()}]
    out = [
        {"prompt_index": 0, "content_filter_results": {"jailbreak": {"filtered": False, "detected": False}}}
    ]
    for i in range(images):
        out.append(
            {
                "prompt_index": i + 1,
                "content_filter_results": {
                    "sexual": _sev(),
                    "violence": _sev(),
                    "hate": _sev(),
                    "self_harm": _sev(),
                },
            }
        )
    return out


def blocked_prompt_result(kind: str) -> dict:
    """innererror.content_filter_result of a filtered prompt (kind: 'prompt' = violence, 'jailbreak')."""
    jail = kind == "jailbreak"
    return {
        "hate": _sev(),
        "jailbreak": {"filtered": jail, "detected": jail},
        "self_harm": _sev(),
        "sexual": _sev(),
        "violence": _sev("medium", True) if not jail else _sev(),
    }


def filtered_answer_results() -> dict:
    out = safe_results()
    out["violence"] = _sev("high", True)
    return out


def async_annotation_results() -> dict:
    out = safe_results()
    out["violence"] = _sev("low")
    out["protected_material_text"] = {"filtered": False, "detected": True}
    out["protected_material_code"] = {"filtered": False, "detected": False}
    return out


def image_prompt_results() -> dict:
    return {
        "hate": _sev(),
        "profanity": {"detected": False, "filtered": False},
        "self_harm": _sev(),
        "sexual": _sev(),
        "violence": _sev(),
    }


def image_blocked_results() -> dict:
    return {
        "hate": _sev(),
        "jailbreak": {"detected": False, "filtered": False},
        "self_harm": _sev(),
        "sexual": _sev("medium", True),
        "violence": _sev("medium", True),
    }
