"""Test connection: one tiny real call per filled deployment, each reported as OK (with latency) or as its Problem.

`probe_profile` resolves the credentials (a typed key, the keyring, or Entra ID) and yields `ProbeResult`s in the
order of `profiles.ALL_CAPABILITIES`. Images are checked without generating one (an invalid size reaches the
deployment and is refused for free); live voice's realtime deployment by opening a session and closing it once Azure
has configured it (no audio, no answer). After a failure that every other call would repeat (key, network,
permission), the rest are reported as skipped rather than tried again.
"""

from __future__ import annotations

import io
import threading
import time
import wave
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from app.core import client as client_mod
from app.core import errors, netio, profiles
from app.core.cancel import CancelToken
from app.core.capabilities import Family, family_for_model
from app.core.profiles import AuthMode, Profile

if TYPE_CHECKING:  # types only: importing them costs start-up time
    from openai import AzureOpenAI

PROBE_TIMEOUT = 20.0  # seconds per call: a test should not hang for the profile's full timeout
LABELS = {
    "chat": "Chat",
    "speech": "Speech",
    "transcription": "Transcription",
    "images": "Images",
    "embeddings": "Embeddings",
    "completions": "Completions",
    "realtime": "Realtime",
}
_WORK = {
    "chat": "chat",
    "speech": "text to speech",
    "transcription": "transcription",
    "images": "image generation",
    "embeddings": "embeddings",
    "completions": "legacy completions",
    "realtime": "live voice",
}
_STOP_KINDS = {errors.Kind.AUTH, errors.Kind.PERMISSION, errors.Kind.NETWORK, errors.Kind.TIMEOUT}


@dataclass(frozen=True)
class ProbeResult:
    capability: str
    deployment: str
    ok: bool
    seconds: float = 0.0
    note: str = ""
    problem: errors.Problem | None = None
    request_id: str | None = None
    skipped: bool = False
    family: Family | None = None  # what the deployment serves, as far as the test showed (else its name says)
    model: str | None = None  # the model Azure said answered (a response's `model`)

    @property
    def label(self) -> str:
        return LABELS.get(self.capability, self.capability)


def probe_profile(
    profile: Profile,
    *,
    cancel: CancelToken,
    typed_key: str = "",
    stored_name: str | None = None,
    secrets: Any = None,
) -> Iterator[ProbeResult]:
    """Credentials first (a typed key wins; else the key stored for `stored_name`; Entra ID for ENTRA), then `probe`."""
    api_key: str | None = None
    provider: Callable[[], str] | None = None
    if profile.auth == AuthMode.ENTRA:
        provider = client_mod.entra_token_provider()
    else:
        api_key = typed_key.strip() or None
        if api_key is None and stored_name:
            from app.core.secrets import SecretStore

            api_key = (secrets or SecretStore()).get(stored_name)
        if not api_key:
            raise errors.ParleyError(
                errors.Problem(
                    errors.Kind.CONFIG,
                    "No API key",
                    "There is no API key to test with.",
                    "Paste the key from the Azure portal (Keys and Endpoint), or choose Microsoft Entra ID.",
                )
            )
    yield from probe(profile, cancel=cancel, api_key=api_key, token_provider=provider)


def probe(
    profile: Profile,
    *,
    cancel: CancelToken,
    api_key: str | None = None,
    token_provider: Callable[[], str] | None = None,
) -> Iterator[ProbeResult]:
    todo = [(c, profile.deployments.for_capability(c).strip()) for c in profiles.ALL_CAPABILITIES]
    todo = [(c, d) for c, d in todo if d]
    if not todo:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "Nothing to test",
                "No deployment name is filled in.",
                "Enter at least the chat deployment's name (Azure AI Foundry → Deployments).",
            )
        )
    if api_key:
        _register_secret(api_key)
    quick = profile.with_changes(timeout=min(profile.timeout, PROBE_TIMEOUT))
    client = client_mod.build_client(quick, api_key=api_key, token_provider=token_provider)
    auth = "key" if api_key else "entra"
    stop: str | None = None  # why the rest are not tried: "<capability> failed with '<title>'"
    try:
        for capability, deployment in todo:
            if cancel.cancelled:
                return
            if stop is not None:
                yield ProbeResult(
                    capability, deployment, False, skipped=True, note=f"Not tried: {stop} first."
                )
                continue
            version = "v1" if profile.v1 else profile.api_version
            ctx = errors.Context(capability, deployment, version, profile.endpoint, auth)
            if capability == profiles.REALTIME:
                live = _live(quick, deployment, ctx, cancel, api_key, token_provider)
                if live is None:  # cancelled
                    return
                result = live
            else:
                result = _one(client, capability, deployment, ctx, cancel, profile)
            if result.problem is not None and result.problem.kind in _STOP_KINDS:
                stop = f"{result.label.lower()} failed with '{result.problem.title}'"
            yield result
    finally:
        client.close()


def _one(
    client: AzureOpenAI,
    capability: str,
    deployment: str,
    ctx: errors.Context,
    cancel: CancelToken,
    profile: Profile,
) -> ProbeResult:
    start = time.perf_counter()
    guessed = profile.family(deployment)
    try:
        with netio.cancellable(cancel):
            if capability == "chat":
                response, guessed = _chat(client, deployment, profile)
            else:
                response = _CALLS[capability](client, deployment)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the result's Problem
        seconds = time.perf_counter() - start
        if cancel.cancelled:
            raise
        problem = _refine(_problem(exc, ctx), capability, deployment)
        if _reached_deployment(problem, getattr(exc, "param", None)):
            return ProbeResult(
                capability,
                deployment,
                True,
                seconds,
                request_id=problem.request_id,
                note="Reached the deployment (checked without generating an image).",
                family=guessed,
            )
        return ProbeResult(
            capability,
            deployment,
            False,
            seconds,
            problem=problem,
            request_id=problem.request_id,
            family=guessed,
        )
    model = getattr(response, "model", None)
    model = model if isinstance(model, str) and model else None
    family = guessed
    if capability == "chat" and model and guessed != Family.REASONING:
        family = family_for_model(model) or guessed
    return ProbeResult(
        capability,
        deployment,
        True,
        time.perf_counter() - start,
        request_id=_request_id(response),
        family=family,
        model=None if profile.chat_traits(deployment).router else model,
    )


def _live(
    profile: Profile,
    deployment: str,
    ctx: errors.Context,
    cancel: CancelToken,
    api_key: str | None,
    token_provider: Callable[[], str] | None,
) -> ProbeResult | None:
    """A Realtime session on the deployment, closed once Azure has configured it: nothing is spoken or answered,
    so nothing is billed. None when the test was cancelled."""
    from app.core import realtime
    from app.core.events import Failed
    from app.core.realtime_events import LiveConfig, SessionStarted

    start = time.perf_counter()
    mine = cancel.child()
    timer = threading.Timer(profile.timeout, mine.cancel)  # Azure must configure the session in time
    client = realtime.build_client(profile, api_key=api_key, token_provider=token_provider)
    session = realtime.RealtimeSession(
        client, LiveConfig(deployment), cancel=mine, ctx=ctx, open_timeout=profile.timeout
    )
    events = cast(Generator[Any, None, None], session.run())  # a generator: closed below, on this thread
    outcome: SessionStarted | Failed | None = None
    timer.start()
    try:
        outcome = next((e for e in events if isinstance(e, SessionStarted | Failed)), None)
    finally:
        timer.cancel()
        session.close()
        events.close()
        client.close()
        cancel.forget(mine.cancel)
    seconds = time.perf_counter() - start
    family = profile.family(deployment)
    if isinstance(outcome, SessionStarted):
        return ProbeResult(profiles.REALTIME, deployment, True, seconds, family=family, model=outcome.model)
    if cancel.cancelled:
        return None
    problem = (
        outcome.problem
        if isinstance(outcome, Failed)
        else errors.Problem(
            errors.Kind.TIMEOUT,
            "No answer in time",
            f"Azure did not open a live session on '{deployment}' within {profile.timeout:.0f} s.",
            "Try again; if it keeps happening, check the realtime deployment's health in Azure AI Foundry.",
            retryable=True,
        )
    )
    problem = _refine(problem, profiles.REALTIME, deployment)
    return ProbeResult(
        profiles.REALTIME,
        deployment,
        False,
        seconds,
        problem=problem,
        request_id=problem.request_id,
        family=family,
    )


def _chat(client: AzureOpenAI, deployment: str, profile: Profile) -> tuple[Any, Family | None]:
    """The chat test, shaped for what the deployment is known to be (a reasoning model refuses `max_tokens`); when
    Azure says the model refuses the token limit it was sent, once more the reasoning way. (response, family)."""
    import openai

    from app.core import capabilities, chat

    traits = profile.chat_traits(deployment)
    family = profile.family(deployment)
    try:
        return _chat_call(client, deployment, traits), family
    except openai.BadRequestError as exc:
        problem = errors.from_exception(exc)
        if traits.reasoning or chat.rejected_parameter(problem) not in ("max_tokens", "temperature"):
            raise
    reasoned = capabilities.chat_traits(Family.REASONING, profile.model(deployment))
    return _chat_call(client, deployment, reasoned), Family.REASONING


def _chat_call(client: AzureOpenAI, deployment: str, traits: Any) -> Any:
    # A reasoning model spends tokens thinking before it answers: 1 would end it in `length` with nothing said,
    # which still proves the deployment answers, but a few more keep the test honest and cheap.
    limit: dict[str, Any] = {traits.token_limit: 16 if traits.reasoning else 1}
    return _answer(
        client.chat.completions.with_raw_response.create(
            model=deployment, messages=[{"role": "user", "content": "ping"}], **limit
        ),
        "choices",
    )


def _answer(raw: Any, member: str | None) -> Any:
    """The parsed answer of a `with_raw_response` call: a 200 that is not the answer (a proxy's or captive portal's
    page, which openai would hand back as its text) raises `errors.UnexpectedReply` rather than pass the test."""
    if member is None:  # speech: audio
        netio.expect_binary(raw)
        return raw.parse()
    return netio.parsed(raw, member)


def _problem(exc: BaseException, ctx: errors.Context) -> errors.Problem:
    if (type(exc).__module__ or "").startswith(("azure.identity", "azure.core")):
        from app.core import entra  # the token provider failed: say what the credential chain tried

        return entra.sign_in_problem(exc)
    return errors.from_exception(exc, ctx)


def _reached_deployment(problem: errors.Problem, param: object) -> bool:
    """The images probe asks for a size Azure refuses: that refusal proves key, api-version and deployment. DALL-E
    says "The size is not supported..."; gpt-image says "Invalid value: '1x1'. Supported values are: ..." and names
    `size` only in the error's `param`."""
    return (
        problem.status == 400
        and (problem.code or "") in ("invalid_size", "invalid_value")
        and (param == "size" or "size" in problem.detail.lower())
    )


def _refine(problem: errors.Problem, capability: str, deployment: str) -> errors.Problem:
    if capability == "chat":
        from app.core import chat

        problem = chat.refine_problem(problem, deployment)
    if problem.code == "OperationNotSupported":
        from dataclasses import replace

        return replace(
            problem,
            title=f"'{deployment}' does not do {_WORK[capability]}",
            action=f"Enter the name of a deployment that does {_WORK[capability]} in the "
            f"{LABELS[capability]} field, or leave it blank.",
        )
    return problem


def _request_id(response: Any) -> str | None:
    rid = getattr(response, "_request_id", None)
    if rid:
        return str(rid)
    http = getattr(response, "response", None)
    headers = getattr(http, "headers", None)
    return headers.get("x-request-id") if headers is not None else None


def _silence_wav(seconds: float = 0.25, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(rate * seconds))
    return out.getvalue()


def _register_secret(value: str) -> None:
    from app.core import logs

    logs.add_secret(value)


_CALLS: dict[str, Callable[[Any, str], Any]] = {
    "completions": lambda c, d: _answer(
        c.completions.with_raw_response.create(model=d, prompt="ping", max_tokens=1), "choices"
    ),
    "embeddings": lambda c, d: _answer(c.embeddings.with_raw_response.create(model=d, input="ping"), "data"),
    "speech": lambda c, d: _answer(
        c.audio.speech.with_raw_response.create(model=d, voice="alloy", input="OK", response_format="pcm"),
        None,
    ),
    "transcription": lambda c, d: _answer(
        c.audio.transcriptions.with_raw_response.create(
            model=d, file=("ping.wav", _silence_wav(), "audio/wav")
        ),
        "text",
    ),
    "images": lambda c, d: _answer(
        c.images.with_raw_response.generate(model=d, prompt="A test of the connection", size="1x1"), "data"
    ),
}
