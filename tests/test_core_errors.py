"""errors.py and filters.py: every openai error class of the seed's table mapped to one Problem, and every verdict shape."""

from __future__ import annotations

import httpx2
import openai
import pytest

from app.core import errors, filters, secrets
from app.core.errors import Context, Kind

URL = "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
CTX = Context(
    "chat", deployment="gpt-4o", api_version="2024-10-21", endpoint="https://res.openai.azure.com", auth="key"
)


def status_error(status: int, body: dict | None, headers: dict | None = None) -> openai.APIStatusError:
    """The exception the real client raises for this response (its own status-to-class dispatch)."""
    request = httpx2.Request("POST", URL)
    response = httpx2.Response(
        status, request=request, json=body, headers={"x-request-id": "req-123", **(headers or {})}
    )
    client = openai.AzureOpenAI(
        azure_endpoint="https://res.openai.azure.com", api_key="k", api_version="2024-10-21"
    )
    return client._make_status_error(f"Error code: {status}", body=body, response=response)


def err(code: str | None, message: str, **more) -> dict:
    return {"error": {"code": code, "message": message, **more}}


FILTER_BODY = err(
    "content_filter",
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
    status=400,
    innererror={
        "code": "ResponsibleAIPolicyViolation",
        "content_filter_result": {
            "hate": {"filtered": False, "severity": "safe"},
            "jailbreak": {"filtered": False, "detected": False},
            "self_harm": {"filtered": False, "severity": "safe"},
            "sexual": {"filtered": False, "severity": "safe"},
            "violence": {"filtered": True, "severity": "medium"},
        },
    },
)


@pytest.mark.parametrize(
    ("status", "body", "cls", "kind"),
    [
        (400, err("BadRequest", "Invalid value for 'temperature'"), openai.BadRequestError, Kind.BAD_REQUEST),
        (
            401,
            err("401", "Access denied due to invalid subscription key or wrong API endpoint."),
            openai.AuthenticationError,
            Kind.AUTH,
        ),
        (403, err("403", "Public access is disabled."), openai.PermissionDeniedError, Kind.PERMISSION),
        (
            404,
            err("DeploymentNotFound", "The API deployment for this resource does not exist."),
            openai.NotFoundError,
            Kind.DEPLOYMENT_NOT_FOUND,
        ),
        (404, err("404", "Resource not found"), openai.NotFoundError, Kind.API_VERSION),
        (422, err(None, "Unprocessable"), openai.UnprocessableEntityError, Kind.BAD_REQUEST),
        (
            429,
            err("429", "Requests to the ChatCompletions_Create Operation have exceeded rate limit."),
            openai.RateLimitError,
            Kind.RATE_LIMIT,
        ),
        (
            500,
            err(None, "The server had an error while processing your request."),
            openai.InternalServerError,
            Kind.SERVER,
        ),
        (503, err(None, "Service unavailable"), openai.InternalServerError, Kind.SERVER),
    ],
)
def test_status_errors_map_to_one_problem(status, body, cls, kind):
    exc = status_error(status, body)
    assert isinstance(exc, cls)
    problem = errors.from_exception(exc, CTX)
    assert problem.kind == kind
    assert problem.status == status
    assert problem.request_id == "req-123"
    assert problem.title and problem.detail and problem.action
    assert problem.retryable == (kind in (Kind.RATE_LIMIT, Kind.SERVER))


def test_content_filter_400_carries_the_verdict():
    problem = errors.from_exception(status_error(400, FILTER_BODY), CTX)
    assert problem.kind == Kind.FILTERED and problem.exit_code == 3
    assert problem.verdict is not None and problem.verdict.filtered
    assert [c.name for c in problem.verdict.triggered] == ["violence"]
    assert problem.verdict.get("violence").severity == "medium"
    assert "Violence (medium)" in problem.detail


def test_dalle_content_policy_violation_with_revised_prompt():
    body = err(
        "content_policy_violation",
        "Your request was rejected",
        inner_error={
            "code": "ResponsibleAIPolicyViolation",
            "revised_prompt": "A calm rabbit",
            "content_filter_results": {
                "violence": {"filtered": True, "severity": "high"},
                "profanity": {"filtered": False, "detected": False},
            },
        },
    )
    problem = errors.from_exception(status_error(400, body), Context("images", deployment="dall-e-3"))
    assert problem.kind == Kind.FILTERED
    assert problem.revised_prompt == "A calm rabbit"
    assert "image prompt" in problem.detail
    assert problem.verdict.get("violence").severity == "high"
    # The Images tab's words: a prompt and Generate, not the chat's message and Send.
    assert problem.action == "Rephrase your prompt and generate again; your text is kept."
    chat = errors.from_exception(status_error(400, FILTER_BODY), CTX)
    assert chat.action == "Rephrase your message and send it again; your text is kept."


def test_deployment_not_found_names_the_deployment_and_the_field():
    problem = errors.from_exception(
        status_error(404, err("DeploymentNotFound", "x")), Context("chat", deployment="gpt-5o")
    )
    assert "'gpt-5o'" in problem.detail and "chat deployment" in problem.action and problem.exit_code == 5


def test_auth_action_depends_on_auth_mode():
    exc = status_error(401, err("401", "Access denied"))
    assert "API key" in errors.from_exception(exc, CTX).action
    assert "Entra" in errors.from_exception(exc, Context("chat", auth="entra")).action


def test_rate_limit_retry_after_headers():
    p = errors.from_exception(status_error(429, err("429", "slow down"), {"retry-after-ms": "300"}), CTX)
    assert p.retry_after == pytest.approx(0.3)
    p = errors.from_exception(status_error(429, err("429", "slow down"), {"retry-after": "7"}), CTX)
    assert p.retry_after == 7.0 and "7 s" in p.detail


def test_api_version_hint_on_400():
    p = errors.from_exception(status_error(400, err("BadRequest", "API version not supported")), CTX)
    assert "api-version" in p.action


def test_connection_and_timeout_errors():
    request = httpx2.Request("POST", URL)
    try:
        raise openai.APIConnectionError(request=request) from httpx2.ConnectError(
            "[Errno 111] Connection refused"
        )
    except openai.APIConnectionError as exc:
        p = errors.from_exception(exc, CTX)
    assert p.kind == Kind.NETWORK and "connection refused" in p.detail and p.retryable
    p = errors.from_exception(openai.APITimeoutError(request=request), CTX)
    assert p.kind == Kind.TIMEOUT and p.retryable


def test_non_openai_failures():
    from azure.identity import CredentialUnavailableError
    from keyring.errors import NoKeyringError

    assert errors.from_exception(CredentialUnavailableError("az login needed"), CTX).kind == Kind.AUTH
    assert errors.from_exception(NoKeyringError("none"), CTX).kind == Kind.KEYRING
    assert errors.from_exception(ConnectionResetError("reset by peer"), CTX).kind == Kind.NETWORK
    assert errors.from_exception(ValueError("boom"), CTX).kind == Kind.OTHER
    inner = errors.Problem(Kind.CONFIG, "t", "d", "a")
    assert errors.from_exception(errors.ParleyError(inner)) is inner


def test_keyring_errors_have_distinct_texts():
    from keyring.errors import InitError, KeyringLocked, NoKeyringError

    none = secrets.map_keyring_error(NoKeyringError()).problem
    locked = secrets.map_keyring_error(KeyringLocked("Failed to unlock the collection!")).problem
    init = secrets.map_keyring_error(InitError("Failed to create the collection")).problem
    assert none.kind == locked.kind == Kind.KEYRING
    assert none.title == "No keyring available"
    assert locked.title == init.title == "The keyring is locked"
    assert none.detail != locked.detail


def test_problem_json_and_exit_codes():
    p = errors.from_exception(status_error(400, FILTER_BODY), CTX)
    data = p.to_json()
    assert data["kind"] == "filtered" and data["verdict"]["categories"]
    assert "req-123" in p.one_line()
    assert errors.cancelled().kind == Kind.CANCELLED


# -- filters ----------------------------------------------------------------------------------------------------

SEED_PROMPT_RESULTS = [
    {"prompt_index": 0, "content_filter_results": {"jailbreak": {"filtered": False, "detected": False}}},
    {
        "prompt_index": 1,
        "content_filter_results": {
            "sexual": {"filtered": False, "severity": "safe"},
            "violence": {"filtered": False, "severity": "safe"},
            "hate": {"filtered": False, "severity": "safe"},
            "self_harm": {"filtered": False, "severity": "safe"},
        },
    },
]


def test_prompt_verdicts_from_the_seed():
    verdicts = filters.prompt_verdicts(SEED_PROMPT_RESULTS)
    assert [v.index for v in verdicts] == [0, 1]
    assert verdicts[0].get("jailbreak").detected is False
    assert not any(v.filtered for v in verdicts)
    assert verdicts[1].summary() == "no category above safe"


def test_dalle_prompt_shape_and_blocklists():
    [v] = filters.prompt_verdicts(
        {"profanity": {"detected": True, "filtered": False}, "hate": {"filtered": False, "severity": "low"}}
    )
    assert v.get("profanity").detected and v.get("hate").severity == "low"
    cats = filters.parse_categories({"custom_blocklists": [{"id": "bl1", "filtered": True}]})
    assert cats[0].filtered and ("id", "bl1") in cats[0].details
    cats = filters.parse_categories(
        {"custom_blocklists": {"filtered": True, "details": [{"id": "b2", "filtered": True}]}}
    )
    assert cats[0].details == (("id", "b2"),)


def test_protected_material_citation_and_error():
    v = filters.completion_verdict(
        {
            "protected_material_code": {
                "filtered": False,
                "detected": True,
                "citation": {"URL": "https://github.com/x", "license": "MIT"},
            },
            "error": {"code": 500, "message": "filter unavailable"},
        }
    )
    cat = v.get("protected_material_code")
    assert cat.detected and ("citation.URL", "https://github.com/x") in cat.details
    assert v.error == "filter unavailable"
    assert "Protected material (code) (detected)" in v.summary()


def test_verdict_from_error_body_accepts_envelope_or_member():
    assert filters.verdict_from_error_body(FILTER_BODY).filtered
    assert filters.verdict_from_error_body(FILTER_BODY["error"]).filtered
    assert filters.verdict_from_error_body({"error": {"code": "x"}}) is None


def test_open_settings_is_offered_exactly_for_problems_fixed_there():
    def problem(kind):
        return errors.Problem(kind, "t", "d", "a")

    settings = {
        errors.Kind.AUTH,
        errors.Kind.PERMISSION,
        errors.Kind.DEPLOYMENT_NOT_FOUND,
        errors.Kind.API_VERSION,
        errors.Kind.CONFIG,
        errors.Kind.KEYRING,
    }
    assert {kind for kind in errors.Kind if problem(kind).fix_in_settings} == settings
