"""Checks an endpoint as a user types it: the https://<resource>.openai.azure.com/ forms, and the usual mistakes.

Plain functions and values, no Qt: the dialog validates live, the CLI could reuse it. A deployment or REST URL pasted
from the portal is cut back to the resource, and its deployment name and api-version are handed back for the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

# Host suffixes Azure OpenAI resources use: public cloud (Azure OpenAI, AI Services / Foundry), Government, China.
AZURE_SUFFIXES = (
    ".openai.azure.com",
    ".cognitiveservices.azure.com",
    ".services.ai.azure.com",
    ".openai.azure.us",
    ".cognitiveservices.azure.us",
    ".openai.azure.cn",
    ".cognitiveservices.azure.cn",
)
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
EXAMPLE = "https://<resource>.openai.azure.com/"


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"  # usable, but the user should read the message
    ERROR = "error"  # cannot be saved as typed


@dataclass(frozen=True)
class EndpointCheck:
    level: Level
    message: str
    url: str = ""  # the endpoint to use ('' when unusable)
    deployment: str = ""  # found in a pasted deployment URL
    api_version: str = ""  # found in a pasted URL's query

    @property
    def usable(self) -> bool:
        return self.level != Level.ERROR


V1_PATH = "/openai/v1/"


def is_v1_endpoint(url: str) -> bool:
    """Whether `url` names the v1 API (`https://<resource>.openai.azure.com/openai/v1/`): no api-version, the
    deployment goes in the body's `model`."""
    try:
        path = urlsplit(url.strip()).path.lower().rstrip("/") + "/"
    except ValueError:  # not a URL at all (the dialog asks while it is typed): check_endpoint says why
        return False
    return path.endswith(V1_PATH)


def host_of(url: str) -> str:
    """The host name of `url` to show (a status bar, a list of profiles), or `url` itself when it has none or is
    not a URL (a hand-edited profile: urllib raises for `https://[::1`)."""
    try:
        return urlsplit(url.strip()).hostname or url
    except ValueError:
        return url


def v1_base_url(endpoint: str) -> str:
    """The v1 API's base URL for an endpoint given either as the resource or already as `.../openai/v1/`."""
    root = endpoint.strip().split("?")[0].rstrip("/")
    if is_v1_endpoint(root):
        return root + "/"
    return root + V1_PATH


def is_azure_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host.endswith(s) and len(host) > len(s) for s in AZURE_SUFFIXES)


def check_endpoint(text: str) -> EndpointCheck:
    """What to tell the user about `text`, and the endpoint to use. Never raises: whatever is typed or set (the
    dialog checks every keystroke, the CLI the environment) gets words."""
    try:
        return _check(text)
    except ValueError as exc:  # urllib's own complaints ("Invalid IPv6 URL"), and anything it adds one day
        return EndpointCheck(Level.ERROR, f"The endpoint is not a valid address ({exc}), e.g. {EXAMPLE}")


# `scheme:rest` without `//` (`https:myres…`, `javascript:…`), but not `host:port` (`localhost:8080`).
_SCHEME_ONLY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d+(?:/|$))/{0,1}(?!/)(.*)$", re.S)
_LABEL = re.compile(r"^\w(?:[\w-]*\w)?$")  # \w: letters of any script (IDNA), digits, _


def _check(text: str) -> EndpointCheck:
    raw = text.strip().strip("'\"<>")
    if not raw:
        return EndpointCheck(Level.ERROR, f"Enter your resource's endpoint, e.g. {EXAMPLE}")
    if any(c.isspace() for c in raw):
        return EndpointCheck(Level.ERROR, "The endpoint cannot contain spaces.")
    if "://" not in raw:
        missing = _SCHEME_ONLY.match(raw)
        if missing and missing.group(1).lower() not in ("https", "http"):
            return EndpointCheck(
                Level.ERROR,
                f"The endpoint must start with https:// (not {missing.group(1).lower()}:), e.g. {EXAMPLE}",
            )
        guess = _guess("https://" + (missing.group(2) if missing else raw))
        hint = f" Did you mean {guess}?" if guess else ""
        return EndpointCheck(Level.ERROR, f"The endpoint must start with https://.{hint}")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    try:
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return EndpointCheck(Level.ERROR, "The port in the endpoint is not a number.")
    if scheme not in ("https", "http"):
        return EndpointCheck(
            Level.ERROR, f"The endpoint must start with https:// (not {scheme}://), e.g. {EXAMPLE}"
        )
    if not host:
        return EndpointCheck(Level.ERROR, f"The endpoint has no host name, e.g. {EXAMPLE}")
    if not _valid_host(host):
        return EndpointCheck(
            Level.ERROR, f"'{host[:60]}' is not a valid host name; the endpoint looks like {EXAMPLE}"
        )
    local = host in LOCAL_HOSTS
    if scheme == "http" and not local:
        fixed = _resource_root(parts._replace(scheme="https"))
        return EndpointCheck(Level.ERROR, f"Azure OpenAI accepts only https://, not http:// — use {fixed}")

    azure = is_azure_host(host)
    if is_v1_endpoint(raw) and not parts.query and not parts.fragment:  # the v1 API: kept as given
        base = _strip_openai_path(parts).rstrip("/") + V1_PATH
        note = "" if azure or local else "Not an Azure OpenAI address; allowed for a gateway or proxy."
        return EndpointCheck(Level.WARNING if note else Level.OK, note, base)
    deployment, api_version = _from_path_and_query(parts.path, parts.query)
    root = _resource_root(parts) if azure else _strip_openai_path(parts)
    notes: list[str] = []
    if _has_path(parts) and root.rstrip("/") != raw.split("?")[0].rstrip("/"):
        what = "a deployment URL" if deployment else "a URL with a path"
        removed = _removed_part(raw, root)
        kept = (
            f" The deployment name '{deployment}' belongs in a deployment field below." if deployment else ""
        )
        notes.append(
            f"That is {what}; Parley needs only the resource, so {removed} was removed: {root}.{kept}"
        )
    if local and scheme == "http":
        notes.append("A local address over plain http: fine for an emulator or proxy on this computer.")
    elif not azure and not local:
        notes.append(
            "Not an Azure OpenAI address (*.openai.azure.com or *.cognitiveservices.azure.com); "
            "allowed for a gateway or proxy."
        )
    level = Level.WARNING if notes else Level.OK
    return EndpointCheck(level, " ".join(notes), root, deployment, api_version)


def _valid_host(host: str) -> bool:
    """A DNS name (letters, digits, hyphens; `_` for gateways) or an IP address: what a connection can be tried to."""
    import ipaddress  # only where an endpoint is checked

    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_LABEL.match(label) and len(label) <= 63 for label in labels)


def _guess(url: str) -> str:
    """The resource root of `url` when it is a usable one, else ''."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return ""
    return _resource_root(parts) if _valid_host((parts.hostname or "").lower()) else ""


def _removed_part(raw: str, root: str) -> str:
    rest = (
        raw[len(root.rstrip("/")) :]
        if raw.lower().startswith(root.rstrip("/").lower())
        else urlsplit(raw).path
    )
    rest = rest.split("?")[0] + ("?…" if "?" in rest else "")
    return rest if len(rest) <= 60 else rest[:57] + "…"


def _has_path(parts) -> bool:  # noqa: ANN001 - a SplitResult
    return bool(parts.path.strip("/")) or bool(parts.query) or bool(parts.fragment)


def _netloc(parts) -> str:  # noqa: ANN001
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _resource_root(parts) -> str:  # noqa: ANN001
    if not parts.hostname:
        return ""
    return f"{parts.scheme.lower()}://{_netloc(parts)}/"


def _strip_openai_path(parts) -> str:  # noqa: ANN001
    """A gateway may serve Azure under a path prefix: keep the prefix, drop `/openai/...` (the SDK adds it)."""
    path = parts.path
    cut = path.lower().find("/openai")
    if cut >= 0:
        path = path[:cut]
    path = path.rstrip("/") + "/"
    return f"{parts.scheme.lower()}://{_netloc(parts)}{path}"


def _from_path_and_query(path: str, query: str) -> tuple[str, str]:
    segments = [s for s in path.split("/") if s]
    deployment = ""
    for i, seg in enumerate(segments[:-1]):
        if seg.lower() == "deployments":
            deployment = segments[i + 1]
            break
    versions = parse_qs(query).get("api-version") or [""]
    return deployment, versions[0].strip()
