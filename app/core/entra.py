"""Microsoft Entra ID sign-in from Settings: get a token for the Cognitive Services scope, say who it is for, or
say precisely which credentials were tried and how to make one work. No Qt; run it on a worker (it can take seconds).
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core import client as client_mod
from app.core import errors

if TYPE_CHECKING:  # types only: azure.identity is imported when signing in
    from azure.core.credentials import TokenCredential

    from app.core.client import DeviceCodePrompt

FIX = (
    "Run `az login` (Azure CLI) and try again, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET "
    "for a service principal, or use 'Sign in with browser'."
)

_VIA = {
    "EnvironmentCredential": "environment variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, …)",
    "WorkloadIdentityCredential": "workload identity",
    "ManagedIdentityCredential": "managed identity",
    "SharedTokenCacheCredential": "the shared token cache",
    "VisualStudioCodeCredential": "Visual Studio Code",
    "AzureCliCredential": "Azure CLI (az login)",
    "AzurePowerShellCredential": "Azure PowerShell",
    "AzureDeveloperCliCredential": "Azure Developer CLI (azd auth login)",
    "InteractiveBrowserCredential": "browser sign-in",
    "BrokerCredential": "the system's sign-in broker",
    "DeviceCodeCredential": "device code sign-in",
}


@dataclass(frozen=True)
class SignIn:
    """Who the token is for. The token itself never leaves `sign_in`."""

    account: str  # a user's sign-in name, "application <id>", or "" when the token does not say
    tenant: str
    via: str  # the credential in the chain that answered, in words
    expires_on: int  # epoch seconds

    def describe(self, now: float | None = None) -> str:
        who = self.account or "an account the token does not name"
        minutes = max(0, int((self.expires_on - (time.time() if now is None else now)) // 60))
        tenant = f" in tenant {self.tenant}" if self.tenant else ""
        return f"Signed in as {who}{tenant} via {self.via}; the token is valid for {minutes} more minutes."


def sign_in(*, interactive: bool = False, credential: TokenCredential | None = None) -> SignIn:
    """A token for `client.SCOPE` from `credential` (else `DefaultAzureCredential`, with a browser sign-in at the
    end of the chain when `interactive`). An interactive credential (browser, device code) is remembered for the
    connections that follow. Raises `ParleyError` (AUTH) naming what was tried and the fix."""
    cred = credential if credential is not None else client_mod.default_credential(interactive=interactive)
    try:
        token = cred.get_token(client_mod.SCOPE)
    except errors.ParleyError:
        raise
    except Exception as exc:  # noqa: BLE001 - azure.identity raises several types; all become one Problem
        raise errors.ParleyError(sign_in_problem(exc)) from exc
    if interactive:
        client_mod.remember_credential(cred)  # the browser's token lives in this credential only
    account, tenant = token_identity(token.token)
    inner = getattr(cred, "_successful_credential", None) or cred
    name = type(inner).__name__
    return SignIn(account, tenant, _VIA.get(name, name), int(token.expires_on))


def sign_in_with_code(prompt: DeviceCodePrompt) -> SignIn:
    """Device-code sign-in (no browser here): `prompt(uri, code, expires_on)` shows the code to the user."""
    return sign_in(interactive=True, credential=client_mod.device_code_credential(prompt))


def token_identity(token: str) -> tuple[str, str]:
    """(account, tenant) read from a JWT's claims (not verified: only for showing who signed in)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return "", ""
    if not isinstance(claims, dict):
        return "", ""
    account = next(
        (str(claims[k]) for k in ("upn", "preferred_username", "unique_name", "email") if claims.get(k)), ""
    )
    if not account and claims.get("appid" if "appid" in claims else "azp"):
        name = claims.get("app_displayname")
        app_id = claims.get("appid") or claims.get("azp")
        account = f"application {name} ({app_id})" if name else f"application {app_id}"
    return account, str(claims.get("tid") or "")


def sign_in_problem(exc: BaseException) -> errors.Problem:
    """A failed sign-in in words: each credential DefaultAzureCredential tried and why it did not work."""
    text = str(exc)
    tried = _attempts(text)
    if tried:
        listed = "".join(f"\n• {_VIA.get(name, name)}: {reason}" for name, reason in tried)
        return errors.Problem(
            errors.Kind.AUTH,
            "No Entra ID credential worked",
            f"DefaultAzureCredential tried each way to sign in; none worked:{listed}",
            FIX,
        )
    name = type(exc).__name__
    if name == "CredentialUnavailableError":
        return errors.Problem(
            errors.Kind.AUTH,
            "No Entra ID credential available",
            _first_sentence(text) or "No credential is available on this computer.",
            FIX,
        )
    code = re.search(r"AADSTS\d+", text)
    detail = _first_sentence(text) or name
    action = (
        "Check that you signed in to the tenant that holds the Azure OpenAI resource, then try again "
        "(`az login --tenant <tenant id>`)."
    )
    if code:
        action += f" Azure's error code {code.group(0)} is explained at https://login.microsoftonline.com/error?code={code.group(0)[6:]}."
    return errors.Problem(errors.Kind.AUTH, "Microsoft Entra ID sign-in failed", detail, action)


def _attempts(text: str) -> list[tuple[str, str]]:
    if "Attempted credentials:" not in text:
        return []
    body = text.split("Attempted credentials:", 1)[1]
    found = []
    for line in body.splitlines():
        m = re.match(r"\s+(\w+Credential): (.*)", line)
        if m:
            found.append((m.group(1), _shorten(m.group(1), m.group(2))))
    return found


def _shorten(name: str, reason: str) -> str:
    reason = re.sub(rf"^{name} authentication unavailable\.?\s*", "", reason.strip())
    return _first_sentence(reason).rstrip(".") or "not available here"


def _first_sentence(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    m = re.match(r"(.+?[.!])(\s|$)", line)
    sentence = m.group(1) if m else line
    return sentence if len(sentence) <= 160 else sentence[:157] + "…"
