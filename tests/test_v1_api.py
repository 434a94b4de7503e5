"""The v1 API (`/openai/v1/...`, no api-version, the deployment as `model`) next to the dated one: every operation
through the client Parley builds, against the emulator, with a key (api-key header) or an Entra ID bearer token."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from app.core import client as client_mod
from app.core import completions, endpoints, profiles
from app.core.cancel import CancelToken
from app.core.events import Delta, Done
from app.core.profiles import Profile

ROOT = Path(__file__).resolve().parents[1]


def wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x10\x00\xf0\xff" * int(8000 * seconds))
    return out.getvalue()


def profile(emu, how: str) -> Profile:
    if how == "switch":
        return Profile("T", emu.endpoint, api=profiles.API_V1)
    if how == "endpoint":
        return Profile("T", emu.endpoint + "/openai/v1/")
    return Profile("T", emu.endpoint)


def every_operation(c) -> None:
    c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    c.completions.create(model="gpt-35-turbo-instruct", prompt="Once", max_tokens=5)
    c.embeddings.create(model="text-embedding-3-small", input="hello")
    c.audio.speech.create(model="tts", voice="alloy", input="Hello.", response_format="wav")
    c.audio.transcriptions.create(model="whisper", file=("a.wav", wav(), "audio/wav"))
    c.images.generate(model="dall-e-3", prompt="a lighthouse", size="1024x1024", response_format="b64_json")
    uploaded = c.files.create(file=("b.jsonl", b'{"custom_id": "1"}\n', "application/jsonl"), purpose="batch")
    c.files.list()
    c.batches.create(input_file_id=uploaded.id, endpoint="/chat/completions", completion_window="24h")
    c.batches.list()


@pytest.mark.parametrize("how", ["switch", "endpoint"])
def test_every_operation_goes_to_the_v1_paths_with_the_key_header(emulator, how):
    c = client_mod.build_client(profile(emulator, how), api_key="the-key")
    emulator.clear()
    every_operation(c)
    seen = emulator.requests
    assert [r.path for r in seen] == [
        "/openai/v1/chat/completions",
        "/openai/v1/completions",
        "/openai/v1/embeddings",
        "/openai/v1/audio/speech",
        "/openai/v1/audio/transcriptions",
        "/openai/v1/images/generations",
        "/openai/v1/files",
        "/openai/v1/files",
        "/openai/v1/batches",
        "/openai/v1/batches",
    ]
    for r in seen:
        assert "api-version" not in r.query
        assert r.auth_scheme == "api-key" and r.used_key("the-key") and "authorization" not in r.headers
    assert seen[0].json["model"] == "gpt-4o" and seen[4].form["model"] == "whisper"


def test_the_dated_paths_are_unchanged(emulator):
    c = client_mod.build_client(profile(emulator, "dated"), api_key="k")
    emulator.clear()
    every_operation(c)
    assert emulator.requests[0].path == "/openai/deployments/gpt-4o/chat/completions"
    assert all(r.query.get("api-version") == profiles.PREVIEW_API_VERSION for r in emulator.requests)


def test_entra_id_on_v1_is_a_fresh_bearer_token_per_request(emulator):
    tokens = iter(["token-1", "token-2"])
    c = client_mod.build_client(profile(emulator, "switch"), token_provider=lambda: next(tokens))
    emulator.clear()
    c.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": "Hi"}])
    c.embeddings.create(model="text-embedding-3-small", input="hello")
    first, second = emulator.requests
    assert first.auth_scheme == "Bearer" and first.used_key("token-1") and not first.had_api_key
    assert second.used_key("token-2") and first.path == "/openai/v1/chat/completions"


def test_v1_errors_read_like_the_dated_ones(emulator):
    import openai

    c = client_mod.build_client(profile(emulator, "switch"), api_key="k")
    with pytest.raises(openai.NotFoundError) as e:
        c.chat.completions.create(model="nope", messages=[{"role": "user", "content": "Hi"}])
    assert e.value.body["code"] == "DeploymentNotFound"
    events = list(
        completions.stream_completion(
            c, completions.CompletionRequest("gpt-35-turbo-instruct", "Once upon"), cancel=CancelToken()
        )
    )
    assert isinstance(events[-1], Done) and any(isinstance(e, Delta) for e in events)


def test_the_endpoint_check_keeps_a_v1_endpoint():
    check = endpoints.check_endpoint("https://contoso.openai.azure.com/openai/v1")
    assert check.level == endpoints.Level.OK and check.url == "https://contoso.openai.azure.com/openai/v1/"
    assert Profile("T", check.url).v1 and not Profile("T", "https://contoso.openai.azure.com/").v1
    dated = endpoints.check_endpoint("https://contoso.openai.azure.com/openai/deployments/x/chat/completions")
    assert dated.url == "https://contoso.openai.azure.com/" and dated.deployment == "x"


def test_a_profile_keeps_its_api_switch(parley_home):
    store = profiles.ProfileStore(profiles=[Profile("V", "https://r.openai.azure.com/", api="v1")])
    store.save()
    assert profiles.ProfileStore.load().get("V").v1


@pytest.mark.e2e
def test_cli_ask_on_a_v1_endpoint_from_the_environment(emulator, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_"))} | {
        "AZURE_OPENAI_ENDPOINT": emulator.endpoint + "/openai/v1/",
        "AZURE_OPENAI_API_KEY": "k",
        "PARLEY_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
    }
    emulator.clear()
    r = subprocess.run(
        [sys.executable, "-m", "app", "ask", "-m", "o4-mini", "--max-tokens", "3000", "Hello"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    (sent,) = [q for q in emulator.requests if "chat" in q.path]
    assert sent.path == "/openai/v1/chat/completions" and not sent.query
    assert sent.json["max_completion_tokens"] == 3000 and sent.json["model"] == "o4-mini"


@pytest.mark.parametrize("how", ["switch", "dated"])
def test_a_masked_image_edit_and_a_streamed_transcription_work_on_both_paths(emulator, how):
    """The two operations added with today's models (multipart images/edits, streamed gpt-4o-transcribe) on v1 too."""
    from app.core import audio_api, errors, image_edits, images
    from app.core.audio_api import Transcript
    from app.core.audio_families import TranscriptDelta
    from app.core.capabilities import Family
    from app.core.image_options import ImageRequest

    c = client_mod.build_client(profile(emulator, how), api_key="the-key")
    source = images.generate(
        c, ImageRequest("gpt-image-1", "a lighthouse", family=Family.GPT_IMAGE), cancel=CancelToken()
    )
    png = next(e for e in source if isinstance(e, images.GeneratedImage)).data
    emulator.clear()
    edit = image_edits.EditRequest(ImageRequest("gpt-image-1", "paint it red", family=Family.GPT_IMAGE), png)
    edited = list(image_edits.edit(c, edit, cancel=CancelToken(), ctx=errors.Context("images")))
    assert any(isinstance(e, images.GeneratedImage) for e in edited), edited[-1]
    emulator.hear("the quick brown fox")
    loud = wav(1.0).replace(b"\x10\x00\xf0\xff", b"\x40\x1f\xc0\xe0")  # +-8000: speech, not silence
    heard = list(
        audio_api.transcribe(c, loud, cancel=CancelToken(), deployment="gpt-4o-transcribe", stream=True)
    )
    assert [e.text for e in heard if isinstance(e, TranscriptDelta)]
    assert [e.text for e in heard if isinstance(e, Transcript)] == ["the quick brown fox"]
    paths = [r.path for r in emulator.requests]
    if how == "switch":
        assert paths == ["/openai/v1/images/edits", "/openai/v1/audio/transcriptions"]
        assert (
            emulator.requests[0].form["model"] == "gpt-image-1"
            and "api-version" not in emulator.requests[1].query
        )
    else:
        assert paths == [
            "/openai/deployments/gpt-image-1/images/edits",
            "/openai/deployments/gpt-4o-transcribe/audio/transcriptions",
        ]
