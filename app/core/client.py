"""Builds the client from a profile: an API key or a Microsoft Entra ID token provider, on the dated API
(`openai.AzureOpenAI`: `/openai/deployments/<name>/...?api-version=...`) or the v1 API (`openai.OpenAI` with
`base_url=https://<resource>.openai.azure.com/openai/v1/`: no api-version, the deployment is the body's `model`).

`openai` and `azure.identity` are imported inside the functions, so importing this module costs nothing at startup.
The client is built with `max_retries=0`: retries are ours (`app.core.retry`), so the UI can show them, and with
`netio.request_hook` installed, so requests made inside `netio.cancellable(cancel)` stop at once on cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from app.core import errors
from app.core.profiles import Profile

if TYPE_CHECKING:  # pragma: no cover
    from datetime import datetime

    from azure.core.credentials import TokenCredential
    from openai import AzureOpenAI

    # What a device-code sign-in calls with (verification_uri, user_code, expires_on).
    DeviceCodePrompt = Callable[[str, str, datetime], None]

SCOPE = "https://cognitiveservices.azure.com/.default"


def build_client(
    profile: Profile, *, api_key: str | None = None, token_provider: Callable[[], str] | None = None
) -> AzureOpenAI:
    """An `AzureOpenAI` client for `profile`, authenticated with `api_key` or `token_provider` (exactly one)."""
    check_credentials(profile, api_key=api_key, token_provider=token_provider)
    from openai import AzureOpenAI, DefaultHttpxClient, Timeout

    from app.core import netio
    from app.core.deadline import CONNECT_TIMEOUT

    timeout = Timeout(profile.timeout, connect=min(CONNECT_TIMEOUT, profile.timeout))
    if profile.v1:
        return _v1_client(profile, api_key, token_provider, timeout, netio.install(DefaultHttpxClient()))
    auth: dict[str, Any] = {"api_key": api_key} if api_key else {"azure_ad_token_provider": token_provider}
    return AzureOpenAI(
        azure_endpoint=profile.endpoint.strip(),
        api_version=profile.api_version,
        max_retries=0,
        timeout=timeout,
        http_client=netio.install(DefaultHttpxClient()),
        **auth,
    )


def _v1_client(
    profile: Profile, api_key: str | None, token_provider: Callable[[], str] | None, timeout: Any, http: Any
) -> AzureOpenAI:
    """The v1 API through `openai.OpenAI`, as Microsoft Learn's "API version lifecycle" shows it: a key goes in the
    `api-key` header (as on the dated API), an Entra ID token as `Authorization: Bearer`, fetched from the
    provider for every request (openai 3.x takes a callable `api_key`). The operations Parley calls are the same
    methods on both clients, so callers keep one type."""
    from openai import OpenAI

    from app.core.endpoints import v1_base_url

    base_url = v1_base_url(profile.endpoint)
    if api_key:
        key = api_key

        class _KeyClient(OpenAI):
            # Azure's own header for keys, never the key as a bearer token.
            def _auth_headers(self, security: Any) -> dict[str, str]:
                return {"api-key": key}

            def _validate_headers(self, headers: Any, custom_headers: Any) -> None:
                return None

        client: Any = _KeyClient(
            base_url=base_url, api_key=key, max_retries=0, timeout=timeout, http_client=http
        )
    else:
        assert token_provider is not None  # check_credentials made sure of one of them
        client = OpenAI(
            base_url=base_url, api_key=token_provider, max_retries=0, timeout=timeout, http_client=http
        )
    return cast("AzureOpenAI", client)


def check_credentials(
    profile: Profile, *, api_key: str | None = None, token_provider: Callable[[], str] | None = None
) -> None:
    """What `build_client` needs, checked without importing openai (~25 MB, ~1 s): raises CONFIG problems."""
    if not profile.endpoint.strip():
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "No endpoint",
                f"Profile '{profile.name}' has no endpoint.",
                "Enter the endpoint (https://<resource>.openai.azure.com/) in Settings.",
            )
        )
    if not api_key and token_provider is None:
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "No credentials",
                f"Profile '{profile.name}' has neither an API key nor an Entra ID sign-in.",
                "Add an API key or choose Microsoft Entra ID in Settings.",
            )
        )


_signed_in: TokenCredential | None = (
    None  # the credential a sign-in from Settings proved, reused by every later connection
)


def default_credential(*, interactive: bool = False) -> TokenCredential:
    """`DefaultAzureCredential` (env, workload/managed identity, Azure CLI, ...); with `interactive`, a browser
    sign-in ends the chain. Tests replace this function with one returning a fake credential."""
    return _identity().DefaultAzureCredential(exclude_interactive_browser_credential=not interactive)


def browser_available() -> bool:
    """Whether a browser can be opened here (no display, or no browser at all, means device-code sign-in)."""
    import os
    import sys
    import webbrowser

    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def device_code_credential(prompt: DeviceCodePrompt) -> TokenCredential:
    """Entra ID sign-in on another device: `prompt(verification_uri, user_code, expires_on)` is called (on the
    calling thread) with what the user must type at the address; `get_token` then waits for them to finish."""
    return _identity().DeviceCodeCredential(prompt_callback=prompt)


def remember_credential(credential: TokenCredential | None) -> None:
    """Keep a credential that just signed in (e.g. through the browser) for the connections made after it."""
    global _signed_in
    _signed_in = credential


def forget_credential() -> None:
    remember_credential(None)


def entra_token_provider(credential: TokenCredential | None = None) -> Callable[[], str]:
    """A bearer-token provider for the Cognitive Services scope: `credential`, else the one signed in from
    Settings, else `DefaultAzureCredential()`."""
    get_bearer_token_provider = _identity().get_bearer_token_provider
    if credential is None:
        credential = _signed_in if _signed_in is not None else default_credential()
    return get_bearer_token_provider(credential, SCOPE)


def _identity() -> Any:
    try:
        import azure.identity
    except ImportError as exc:  # pragma: no cover - a broken install
        raise errors.ParleyError(
            errors.Problem(
                errors.Kind.CONFIG,
                "Entra ID support missing",
                f"azure-identity could not be imported ({exc}).",
                "Reinstall Parley, or use an API key for this profile.",
            )
        ) from exc
    return azure.identity
