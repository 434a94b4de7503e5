"""One model of Azure content-filter results, for prompts and completions, from every shape Azure sends them in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Source(StrEnum):
    PROMPT = "prompt"
    COMPLETION = "completion"


# How each category Azure reports is named for people (harm categories carry a severity; the rest are detections).
LABELS = {
    "hate": "Hate",
    "sexual": "Sexual",
    "violence": "Violence",
    "self_harm": "Self-harm",
    "jailbreak": "Jailbreak attempt",
    "indirect_attack": "Indirect attack",
    "protected_material_text": "Protected material (text)",
    "protected_material_code": "Protected material (code)",
    "profanity": "Profanity",
    "custom_blocklists": "Custom blocklist",
}
SEVERITY_ORDER = {"safe": 0, "low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class Category:
    """One category's verdict: `severity` for harm categories, `detected` for detections."""

    name: str
    filtered: bool
    severity: str | None = None
    detected: bool | None = None
    # Blocklist ids, protected-material citation URL/licence, and the like, as (key, value) pairs.
    details: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name.replace("_", " ").capitalize())

    @property
    def notable(self) -> bool:
        """Worth showing without opening the details: filtered, detected, or above 'safe'."""
        return self.filtered or bool(self.detected) or SEVERITY_ORDER.get(self.severity or "safe", 0) > 0

    @property
    def state(self) -> str:
        """'severity medium', 'detected', 'not detected', or '' for a blocklist match."""
        if self.severity is not None:
            return f"severity {self.severity}"
        if self.detected is not None:
            return "detected" if self.detected else "not detected"
        return ""

    def describe(self) -> str:
        verdict = "filtered" if self.filtered else ""
        return f"{self.label}: " + ", ".join(p for p in (self.state, verdict) if p)


@dataclass(frozen=True)
class Verdict:
    """All categories Azure reported for one prompt (by index) or one completion choice."""

    source: Source
    categories: tuple[Category, ...] = ()
    index: int = 0
    error: str | None = None  # Azure may report that the filter itself failed for this item

    @property
    def filtered(self) -> bool:
        return any(c.filtered for c in self.categories)

    @property
    def triggered(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.filtered)

    @property
    def notable(self) -> tuple[Category, ...]:
        return tuple(c for c in self.categories if c.notable)

    def get(self, name: str) -> Category | None:
        return next((c for c in self.categories if c.name == name), None)

    def summary(self) -> str:
        """A one-line description such as 'Violence (medium), Jailbreak attempt (detected)'."""
        parts = []
        for c in self.triggered or self.notable:
            parts.append(f"{c.label} ({c.severity or ('detected' if c.detected else 'matched')})")
        return ", ".join(parts) if parts else "no category above safe"

    def merged(self, other: Verdict) -> Verdict:
        """Later chunks (asynchronous filter) add or update categories of the same message."""
        by_name = {c.name: c for c in self.categories}
        for c in other.categories:
            by_name[c.name] = c
        return Verdict(self.source, tuple(by_name.values()), self.index, other.error or self.error)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        """The inverse of `to_json` (history stores verdicts this way)."""
        categories = tuple(
            Category(
                str(c.get("name", "")),
                bool(c.get("filtered")),
                c.get("severity"),
                c.get("detected"),
                tuple((str(k), str(v)) for k, v in (c.get("details") or {}).items()),
            )
            for c in data.get("categories", [])
            if isinstance(c, Mapping)
        )
        source = Source.PROMPT if data.get("source") == "prompt" else Source.COMPLETION
        return cls(source, categories, int(data.get("index", 0) or 0), data.get("error"))

    def to_json(self) -> dict[str, Any]:
        return {
            **({"error": self.error} if self.error else {}),
            "source": str(self.source),
            "index": self.index,
            "filtered": self.filtered,
            "categories": [
                {
                    "name": c.name,
                    "filtered": c.filtered,
                    **({"severity": c.severity} if c.severity is not None else {}),
                    **({"detected": c.detected} if c.detected is not None else {}),
                    **({"details": dict(c.details)} if c.details else {}),
                }
                for c in self.categories
            ],
        }


def _details(value: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for key, val in value.items():
        if key in ("filtered", "severity", "detected"):
            continue
        if isinstance(val, Mapping):
            out.extend((f"{key}.{k}", str(v)) for k, v in val.items() if v is not None)
        elif val is not None:
            out.append((key, str(val)))
    return tuple(out)


def parse_categories(results: Mapping[str, Any] | None) -> tuple[Category, ...]:
    """Parse one `content_filter_results` / `content_filter_result` mapping."""
    if not results:
        return ()
    cats: list[Category] = []
    for name, value in results.items():
        if name == "error":
            continue
        if name == "custom_blocklists":
            cats.extend(_parse_blocklists(value))
            continue
        if not isinstance(value, Mapping):
            continue
        cats.append(
            Category(
                name=name,
                filtered=bool(value.get("filtered", False)),
                severity=value.get("severity"),
                detected=value.get("detected"),
                details=_details(value),
            )
        )
    return tuple(cats)


def _parse_blocklists(value: Any) -> list[Category]:
    # Two shapes exist: a list of {id, filtered} or {"filtered": bool, "details": [{id, filtered}]}.
    items: Iterable[Any]
    if isinstance(value, Mapping):
        items = value.get("details") or []
        if not items:
            return [
                Category(
                    "custom_blocklists",
                    bool(value.get("filtered", False)),
                    detected=bool(value.get("filtered")),
                )
            ]
    elif isinstance(value, list):
        items = value
    else:
        return []
    cats = []
    for item in items:
        if isinstance(item, Mapping):
            ident = str(item.get("id", "blocklist"))
            filtered = bool(item.get("filtered", False))
            cats.append(Category("custom_blocklists", filtered, detected=filtered, details=(("id", ident),)))
    return cats


def _error_text(results: Mapping[str, Any] | None) -> str | None:
    err = (results or {}).get("error")
    if isinstance(err, Mapping):
        return str(err.get("message") or err.get("code") or "content filter error")
    return None


def completion_verdict(results: Mapping[str, Any] | None, index: int = 0) -> Verdict | None:
    if results is None:
        return None
    return Verdict(Source.COMPLETION, parse_categories(results), index, _error_text(results))


def prompt_verdicts(prompt_filter_results: Any) -> list[Verdict]:
    """`prompt_filter_results` (chat: a list of {prompt_index, content_filter_results}; images: one mapping)."""
    if not prompt_filter_results:
        return []
    if isinstance(prompt_filter_results, Mapping):
        if "content_filter_results" in prompt_filter_results:
            prompt_filter_results = [prompt_filter_results]
        else:  # the DALL-E shape: the categories directly
            return [Verdict(Source.PROMPT, parse_categories(prompt_filter_results), 0)]
    verdicts = []
    for item in prompt_filter_results:
        if not isinstance(item, Mapping):
            continue
        results = item.get("content_filter_results") or item.get("content_filter_result") or {}
        index = int(item.get("prompt_index", item.get("index", 0)) or 0)
        verdicts.append(Verdict(Source.PROMPT, parse_categories(results), index, _error_text(results)))
    return verdicts


def verdict_from_error_body(body: Any) -> Verdict | None:
    """The verdict inside a 400 `content_filter` / `content_policy_violation` error envelope, if any.

    Chat sends `error.innererror.content_filter_result`; DALL-E sends `error.inner_error.content_filter_results`.
    The openai client hands over either the whole envelope or just its `error` member.
    """
    if not isinstance(body, Mapping):
        return None
    err = body.get("error", body)
    if not isinstance(err, Mapping):
        return None
    for inner_key in ("innererror", "inner_error"):
        inner = err.get(inner_key)
        if isinstance(inner, Mapping):
            results = inner.get("content_filter_result") or inner.get("content_filter_results")
            if isinstance(results, Mapping):
                return Verdict(Source.PROMPT, parse_categories(results), 0, _error_text(results))
    return None


def revised_prompt_from_error_body(body: Any) -> str | None:
    if not isinstance(body, Mapping):
        return None
    err = body.get("error", body)
    inner = err.get("inner_error") or err.get("innererror") if isinstance(err, Mapping) else None
    if isinstance(inner, Mapping) and inner.get("revised_prompt"):
        return str(inner["revised_prompt"])
    return None
