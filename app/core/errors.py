"""Every failure mapped to one user-facing `Problem`: what happened, what to do next, and the request id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict

from app.core import advice, filters


class Kind(StrEnum):
    AUTH = "auth"
    PERMISSION = "permission"
    DEPLOYMENT_NOT_FOUND = "deployment_not_found"
    API_VERSION = "api_version"
    NOT_FOUND = "not_found"
    FILTERED = "filtered"
    BAD_REQUEST = "bad_request"
    RATE_LIMIT = "rate_limit"
    SERVER = "server"
    NETWORK = "network"
    TIMEOUT = "timeout"
    CONFIG = "config"
    KEYRING = "keyring"
    CANCELLED = "cancelled"
    AUDIO = "audio"
    OTHER = "other"


# CLI exit codes, one per family of failure (README documents them).
EXIT_CODES = {
    Kind.FILTERED: 3,
    Kind.AUTH: 4,
    Kind.PERMISSION: 4,
    Kind.DEPLOYMENT_NOT_FOUND: 5,
    Kind.API_VERSION: 5,
    Kind.NOT_FOUND: 5,
    Kind.RATE_LIMIT: 6,
    Kind.NETWORK: 7,
    Kind.TIMEOUT: 7,
    Kind.CONFIG: 2,
    Kind.KEYRING: 2,
}

# Failures fixed in the connection settings. Not NOT_FOUND: that is a missing image or file, not a setting.
SETTINGS_KINDS = frozenset(
    {Kind.AUTH, Kind.PERMISSION, Kind.DEPLOYMENT_NOT_FOUND, Kind.API_VERSION, Kind.CONFIG, Kind.KEYRING}
)


@dataclass(frozen=True)
class Problem:
    """A failure as the user should see it. Crosses thread boundaries as a value, never as an exception."""

    kind: Kind
    title: str  # short: "Deployment not found"
    detail: str  # what happened, in words
    action: str  # what to do next
    status: int | None = None
    code: str | None = None  # Azure's error code, e.g. DeploymentNotFound
    request_id: str | None = None
    retry_after: float | None = None  # seconds
    verdict: filters.Verdict | None = None  # for content-filter refusals
    revised_prompt: str | None = None  # DALL-E refusals carry one
    retryable: bool = False

    def __post_init__(self) -> None:
        # Every output (stderr, --json, cards, history, log) starts from these fields: bound them and take out any
        # key a server echoed back, once, here.
        from app.core.logs import bounded, redact

        for name in ("title", "detail", "action"):
            object.__setattr__(self, name, bounded(redact(getattr(self, name))))

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.kind, 1)

    @property
    def fix_in_settings(self) -> bool:
        """Whether the fix is in the connection settings (key, sign-in, endpoint, api-version, deployment name):
        every card offers "Open Settings" exactly for these."""
        return self.kind in SETTINGS_KINDS

    def one_line(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.title}: {self.detail} {self.action}{rid}".strip()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "title": self.title,
            "detail": self.detail,
            "action": self.action,
            "status": self.status,
            "code": self.code,
            "request_id": self.request_id,
            "retry_after": self.retry_after,
            **({"verdict": self.verdict.to_json()} if self.verdict else {}),
            **({"revised_prompt": self.revised_prompt} if self.revised_prompt else {}),
        }


def problem_from_json(data: dict[str, Any]) -> Problem:
    """The inverse of `Problem.to_json` (history stores the problem a message ended with)."""
    try:
        kind = Kind(data.get("kind", "other"))
    except ValueError:
        kind = Kind.OTHER
    verdict = filters.Verdict.from_json(data["verdict"]) if isinstance(data.get("verdict"), dict) else None
    return Problem(
        kind,
        str(data.get("title", "")),
        str(data.get("detail", "")),
        str(data.get("action", "")),
        data.get("status"),
        data.get("code"),
        data.get("request_id"),
        data.get("retry_after"),
        verdict,
        data.get("revised_prompt"),
    )


class UnexpectedReply(Exception):
    """A 200 whose body is not what the operation answers: a proxy's or captive portal's page, JSON of another shape,
    text where audio was due. `body` is all of it or its start (`size`: the whole length, when known)."""

    def __init__(self, content_type: str | None, body: bytes | str, size: int | None = None):
        super().__init__(f"{advice.reply_kind(content_type)}, not an answer")
        self.content_type, self.body, self.size = content_type, body, size


class ParleyError(Exception):
    """Raised inside core where a function cannot go on; carries the Problem to show."""

    def __init__(self, problem: Problem):
        super().__init__(problem.one_line())
        self.problem = problem


@dataclass(frozen=True)
class Context:
    """What the failing call was doing, so the fix text can name it."""

    operation: str = (
        "request"  # "chat", "speech", "transcription", "images", "embeddings", "completions", ...
    )
    deployment: str | None = None
    api_version: str | None = None
    endpoint: str | None = None
    auth: str | None = None  # "key" or "entra"


def _error_member(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return err
    return {}


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return float(ms) / 1000.0
        sec = headers.get("retry-after")
        if sec is not None:
            return float(sec)
    except (TypeError, ValueError):
        return None
    return None


def _request_id(exc: Any) -> str | None:
    rid = getattr(exc, "request_id", None)
    if rid:
        return str(rid)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        return headers.get("x-request-id") or headers.get("apim-request-id")
    return None


class _Common(TypedDict):
    """The fields every HTTP Problem carries, whatever its kind."""

    status: int
    code: str | None
    request_id: str | None
    retry_after: float | None


def from_status(
    status: int, body: Any, headers: Any = None, request_id: str | None = None, ctx: Context = Context()
) -> Problem:
    """Map an HTTP error response (status, parsed JSON body) to a Problem."""
    err = _error_member(body)
    code = str(err.get("code")) if err.get("code") is not None else None
    message = str(err.get("message") or "").strip()
    retry_after = _retry_after(headers)
    what = ctx.operation
    dep = f"'{ctx.deployment}'" if ctx.deployment else "the deployment"
    common = _Common(status=status, code=code, request_id=request_id, retry_after=retry_after)

    if status == 400 and code in ("content_filter", "content_policy_violation"):
        verdict = filters.verdict_from_error_body(body)
        cats = verdict.summary() if verdict else "a category"
        return Problem(
            Kind.FILTERED,
            "Blocked by Azure's content filter",
            f"Azure's content filter blocked the {'image prompt' if code == 'content_policy_violation' else 'prompt'}: {cats}.",
            # The Images tab has a prompt and a Generate button, the chat a message and Send.
            "Rephrase your prompt and generate again; your text is kept."
            if what == "images"
            else "Rephrase your message and send it again; your text is kept.",
            verdict=verdict,
            revised_prompt=filters.revised_prompt_from_error_body(body),
            **common,
        )
    if status == 401:
        if ctx.auth == "entra":
            action = "Sign in again with Microsoft Entra ID in Settings, or check that your account has the 'Cognitive Services OpenAI User' role."
        else:
            action = "Check the API key for this resource in Settings (Keys and Endpoint in the Azure portal); keys rotate."
        return Problem(
            Kind.AUTH,
            "Not authorised",
            message or "Access denied: the key or token was not accepted.",
            action,
            **common,
        )
    if status == 403:
        return Problem(
            Kind.PERMISSION,
            "Permission denied",
            message or "The resource refused this request.",
            "Ask your Azure admin for the 'Cognitive Services OpenAI User' role on this resource, or check its network rules.",
            **common,
        )
    if status == 404 and code == "DeploymentNotFound":
        return Problem(
            Kind.DEPLOYMENT_NOT_FOUND,
            "Deployment not found",
            f"Deployment {dep} not found on this resource.",
            f"Check the {what} deployment name in Settings (Azure AI Foundry → Deployments). A new deployment can take 5 minutes to appear.",
            **common,
        )
    if status == 404:
        version = ctx.api_version or "(none)"
        if ctx.operation == "speech":
            action = advice.speech_not_found(ctx.api_version)
        else:
            action = f"Check the endpoint URL and the api-version ({version}) in Settings; try 2024-10-21 (GA) or 2024-10-01-preview."
        return Problem(
            Kind.API_VERSION,
            "Resource not found",
            f"The endpoint does not serve {what} at api-version {version}."
            if message.lower().startswith("resource not found") or not message
            else message,
            action,
            **common,
        )
    if status == 408:
        return Problem(
            Kind.TIMEOUT,
            "Request timed out",
            message or "Azure took too long to answer.",
            "Try again; the request was not completed.",
            retryable=True,
            **common,
        )
    if status == 413:
        return Problem(
            Kind.BAD_REQUEST,
            "File too large",
            message or "The upload is larger than Azure accepts (25 MB).",
            "Use a shorter recording or a smaller file.",
            **common,
        )
    if status == 429:
        wait = f" Azure asked to wait {format_seconds(retry_after)}." if retry_after else ""
        return Problem(
            Kind.RATE_LIMIT,
            "Rate limited",
            (message or "Too many requests for this deployment's quota.") + wait,
            "Wait a moment and retry, or raise the deployment's tokens-per-minute quota in Azure AI Foundry.",
            retryable=True,
            **common,
        )
    if status >= 500:
        return Problem(
            Kind.SERVER,
            "Azure had a problem",
            message or f"The service answered {status}.",
            "Retry in a moment; if it persists, check Azure status for your region.",
            retryable=True,
            **common,
        )
    if status == 422:
        return Problem(
            Kind.BAD_REQUEST,
            "Request not understood",
            message or "Azure could not process this request.",
            "Check the options you chose and retry.",
            **common,
        )
    return Problem(
        Kind.BAD_REQUEST,
        "Azure rejected the request",
        message or f"The service answered {status}.",
        advice.bad_request(message),
        **common,
    )


def format_seconds(seconds: float) -> str:
    """'0.3 s', '2 s', '1 min 5 s': precise when short, because a 300 ms wait is not 'wait 0 s'."""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def from_exception(exc: BaseException, ctx: Context = Context()) -> Problem:
    """Map any exception raised while talking to Azure (openai, httpx2, azure.identity, keyring) to a Problem."""
    if isinstance(exc, ParleyError):
        return exc.problem
    try:
        import openai  # already imported by whoever raised an openai error
    except ImportError:  # pragma: no cover
        openai = None  # type: ignore[assignment]

    if openai is not None:
        if isinstance(exc, openai.APIStatusError):
            response = exc.response
            return from_status(
                exc.status_code,
                exc.body
                if isinstance(exc.body, dict) and "error" in exc.body
                else {"error": exc.body}
                if exc.body
                else None,
                getattr(response, "headers", None),
                _request_id(exc),
                ctx,
            )
        if isinstance(exc, openai.APITimeoutError):
            return Problem(
                Kind.TIMEOUT,
                "Request timed out",
                "Azure did not answer in time.",
                "Check your connection and try again, or raise the timeout in Settings.",
                retryable=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = advice.connection_reason(cause, ctx)
            return Problem(
                Kind.NETWORK,
                "Could not reach Azure",
                reason,
                "Check the endpoint in Settings and your network connection, then retry.",
                retryable=True,
            )
        if isinstance(exc, openai.APIResponseValidationError):
            return Problem(
                Kind.OTHER,
                "Unexpected answer",
                "Azure's answer was not in the expected shape.",
                "Retry; if it persists, report it with the request id.",
                request_id=_request_id(exc),
            )
        if isinstance(exc, openai.OpenAIError) and "credential" in str(exc).lower():
            return Problem(
                Kind.CONFIG,
                "No credentials",
                str(exc),
                "Add an API key or sign in with Microsoft Entra ID in Settings.",
            )

    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("azure.identity") or name in (
        "ClientAuthenticationError",
        "CredentialUnavailableError",
    ):
        return Problem(
            Kind.AUTH,
            "Microsoft Entra ID sign-in failed",
            _first_lines(str(exc)),
            "Sign in with 'az login' or the Sign in button in Settings, or switch this profile to an API key.",
        )
    if module.startswith("keyring"):
        return Problem(
            Kind.KEYRING,
            "The system keyring is not available",
            _first_lines(str(exc)) or name,
            "Unlock your keyring (or install one), or choose 'use for this session only' in Settings.",
        )
    if isinstance(exc, UnexpectedReply | UnicodeDecodeError | json.JSONDecodeError):
        # A proxy's or captive portal's page, or bytes mangled on the way: not an answer. Mangled bytes are worth
        # another try; a page that says what it is will say it again.
        if isinstance(exc, UnexpectedReply):
            what, body, size = advice.reply_kind(exc.content_type), exc.body, exc.size
        elif isinstance(exc, json.JSONDecodeError):
            what, body, size = "text that is not valid JSON", exc.doc, None
        else:
            what, body, size = "bytes that are not UTF-8", exc.object, None
        return Problem(
            Kind.NETWORK,
            "The answer could not be read",
            advice.unexpected_reply(what, body, size),
            "Try again; if it persists, check the endpoint in Settings and the network (sign in to its portal, or "
            "ask about its proxy).",
            retryable=not isinstance(exc, UnexpectedReply),
        )
    if module.startswith(("httpx", "httpcore")):
        # Raised unwrapped while a body is read (openai wraps only the wait for headers): a stalled or cut body.
        if "Timeout" in name:
            return Problem(
                Kind.TIMEOUT,
                "Timed out",
                "Azure stopped sending before the answer was complete.",
                "Try again, or raise the timeout (Settings, or --timeout).",
                retryable=True,
            )
        return Problem(
            Kind.NETWORK,
            "Connection lost",
            advice.connection_reason(exc, ctx)
            if str(exc)
            else "The connection dropped before the answer was complete.",
            "Check your network, then retry.",
            retryable=True,
        )
    if isinstance(exc, TimeoutError):
        return Problem(
            Kind.TIMEOUT,
            "Timed out",
            str(exc) or "The operation took too long.",
            "Try again.",
            retryable=True,
        )
    if isinstance(exc, ConnectionError | OSError) and not isinstance(
        exc, FileNotFoundError | PermissionError
    ):
        return Problem(
            Kind.NETWORK,
            "Connection lost",
            advice.connection_reason(exc, ctx),
            "Check your network, then retry.",
            retryable=True,
        )
    return Problem(
        Kind.OTHER,
        "Something went wrong",
        f"{name}: {_first_lines(str(exc))}",
        "Try again; if it persists, copy the report from Help.",
    )


_first_lines = advice.first_lines  # secrets' name for it


def cancelled() -> Problem:
    return Problem(Kind.CANCELLED, "Stopped", "You stopped this request.", "")
