"""Reasoning deployments as Azure serves them: which chat parameters each model rejects, with Azure's own 400
envelopes (the wording is OpenAI's, `code` unsupported_parameter / unsupported_value), the api-version they need,
what `model-router` routes to, and the reasoning tokens an answer spends."""

from __future__ import annotations

import hashlib
import re
from typing import Any

# The models of the catalog that reason: model -> accepted reasoning_effort values (empty: the parameter is ignored)
_EFFORTS = {
    "o1": ("low", "medium", "high"),
    "o4-mini": ("low", "medium", "high"),
    "gpt-5-mini": ("minimal", "low", "medium", "high"),
    "gpt-5.1": ("none", "low", "medium", "high"),
    "model-router": (),
}
ROUTED = ("gpt-5-mini-2025-08-07", "gpt-4.1-mini-2025-04-14")  # what model-router picks from, by the question
MSG_OLD_VERSION = "Model {modelName} is enabled only for api versions 2024-12-01-preview and later"
FIRST_VERSION = "2024-12-01"


def base_model(model: str) -> str:
    """'o4-mini-2025-04-16' -> 'o4-mini' (the catalog's response model names carry a version date)."""
    return re.sub(r"-\d{4}-\d{2}-\d{2}$", "", model)


def is_reasoning(model: str) -> bool:
    return base_model(model) in _EFFORTS


def _unsupported_parameter(param: str, extra: str = "") -> dict[str, Any]:
    return {
        "message": f"Unsupported parameter: '{param}' is not supported with this model.{extra}",
        "type": "invalid_request_error",
        "param": param,
        "code": "unsupported_parameter",
    }


def _unsupported_value(param: str, message: str) -> dict[str, Any]:
    return {"message": message, "type": "invalid_request_error", "param": param, "code": "unsupported_value"}


def _words(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def rejection(model: str, js: dict, api_version: str) -> dict[str, Any] | None:
    """The `error` member Azure answers (400) for a chat request `js` to `model`, or None when it is accepted.
    Azure's order: the api-version, then each parameter."""
    name = base_model(model)
    if name not in _EFFORTS:
        return None
    if api_version != "v1" and api_version[:10] < FIRST_VERSION:
        return {"code": "BadRequest", "message": MSG_OLD_VERSION}
    router = name == "model-router"
    if "max_tokens" in js and js["max_tokens"] is not None and not router:
        return _unsupported_parameter("max_tokens", " Use 'max_completion_tokens' instead.")
    if not router:  # the router takes sampling parameters and ignores them for the reasoning models it picks
        for param in ("temperature", "top_p"):
            if js.get(param) is None:
                continue
            if name.startswith("gpt-5"):  # the gpt-5 family accepts only the default value
                if js[param] != 1:
                    return _unsupported_value(
                        param,
                        f"Unsupported value: '{param}' does not support {js[param]} with this model. "
                        "Only the default (1) value is supported.",
                    )
            else:
                return _unsupported_parameter(param)
        for param in ("presence_penalty", "frequency_penalty"):
            if js.get(param) is not None:
                return _unsupported_parameter(param)
    effort = js.get("reasoning_effort")
    allowed = _EFFORTS[name]
    if effort is not None and allowed and effort not in allowed:
        return _unsupported_value(
            "reasoning_effort",
            f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this model. "
            f"Supported values are: {_words(allowed)}.",
        )
    if name == "o1" and js.get("stream"):
        return _unsupported_value(
            "stream",
            "Unsupported value: 'stream' does not support true with this model. Supported values are: false.",
        )
    return None


def answering_model(model: str, question: str) -> str:
    """The `model` a response names: model-router names the model it routed to (short questions go to the small
    chat model, others to the reasoning one), every other deployment its own model."""
    if base_model(model) != "model-router":
        return model
    return ROUTED[1] if len(question) < 20 else ROUTED[0]


def reasoning_tokens(model: str, question: str, effort: Any) -> int:
    """How many hidden reasoning tokens the answering `model` spent: none for chat models, more for more effort."""
    if not is_reasoning(model):
        return 0
    scale = {"none": 0, "minimal": 1, "low": 2, "medium": 4, "high": 8}.get(str(effort or "medium"), 4)
    seed = int(hashlib.blake2b(question.encode(), digest_size=2).hexdigest(), 16) % 64
    return scale * (64 + seed)


def cached_tokens(prompt_tokens: int) -> int:
    """Azure caches prompts in blocks of 128 tokens once a prompt reaches 1024; the emulator reports as if the
    prompt had been seen before."""
    return 0 if prompt_tokens < 1024 else (prompt_tokens // 128) * 128
