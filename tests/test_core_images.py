"""DALL-E generation against the emulator with the real openai client: options on the wire, PNG out, refusals."""

from __future__ import annotations

import base64
import time

import pytest

from app.core import errors, images
from app.core.cancel import CancelToken
from app.core.events import Done, Failed, Retrying, Started

API_VERSION = "2024-10-01-preview"
CTX = errors.Context("images", "dall-e-3", API_VERSION)


@pytest.fixture
def client(emulator):
    from openai import AzureOpenAI

    return AzureOpenAI(azure_endpoint=emulator.endpoint, api_key="k", api_version=API_VERSION, max_retries=0)


def _run(client, request, **kw):
    return list(images.generate(client, request, cancel=kw.pop("cancel", CancelToken()), ctx=CTX, **kw))


def _image_requests(emu):
    return [r for r in emu.requests if r.path.endswith("/images/generations")]


@pytest.mark.parametrize(
    "size,quality,style,fmt",
    [
        ("1024x1024", "standard", "vivid", "b64_json"),
        ("1792x1024", "hd", "natural", "url"),
        ("1024x1792", "standard", "natural", "b64_json"),
    ],
)
def test_options_reach_the_wire_and_a_png_of_that_size_comes_back(
    client, emulator, size, quality, style, fmt
):
    request = images.ImageRequest("dall-e-3", "A rabbit eating pancakes", size, quality, style, fmt)
    events = _run(client, request)
    assert isinstance(events[0], Started) and isinstance(events[-1], Done), events
    image = next(e for e in events if isinstance(e, images.GeneratedImage))
    sent = _image_requests(emulator)[-1]
    assert "/openai/deployments/dall-e-3/images/generations" in sent.path
    assert sent.json == {
        "model": "dall-e-3",
        "prompt": "A rabbit eating pancakes",
        "n": 1,
        "size": size,
        "quality": quality,
        "style": style,
        "response_format": fmt,
    }
    assert image.png.startswith(images.PNG_SIGNATURE)
    width, height = (int(v) for v in size.split("x"))
    assert images.png_size(image.png) == (width, height) == image.size
    assert image.revised_prompt and image.revised_prompt != request.prompt
    assert image.request is request
    assert image.content_verdict is not None and not image.content_verdict.filtered
    assert image.prompt_verdict is not None and image.prompt_verdict.get("hate") is not None


def test_url_download_is_injectable(client):
    seen = []

    def fake_get(url):
        seen.append(url)
        return base64.b64decode(_tiny_png())

    events = _run(
        client, images.ImageRequest("dall-e-3", "a lighthouse", response_format="url"), http_get=fake_get
    )
    image = next(e for e in events if isinstance(e, images.GeneratedImage))
    assert seen and seen[0].startswith("http")
    assert images.png_size(image.png) == (1, 1)


def test_not_a_png_is_a_problem(client):
    events = _run(
        client,
        images.ImageRequest("dall-e-3", "a lighthouse", response_format="url"),
        http_get=lambda url: b"<html>expired</html>",
    )
    assert isinstance(events[-1], Failed) and "PNG" in events[-1].problem.detail


def test_refusal_is_filtered_with_verdict_and_revised_prompt(client):
    events = _run(client, images.ImageRequest("dall-e-3", "filter:image a scene"))
    assert not any(isinstance(e, images.GeneratedImage) for e in events)
    problem = events[-1].problem
    assert isinstance(events[-1], Failed)
    assert problem.kind == errors.Kind.FILTERED and problem.status == 400
    assert problem.code == "content_policy_violation"
    assert problem.verdict is not None and problem.verdict.filtered
    assert problem.revised_prompt
    assert "image prompt" in problem.detail


@pytest.mark.parametrize(
    "field,value",
    [
        ("size", "512x512"),
        ("quality", "ultra"),
        ("style", "cartoon"),
        ("response_format", "png"),
        ("prompt", "  "),
        ("deployment", ""),
    ],
)
def test_bad_options_are_rejected_before_sending(client, emulator, field, value):
    options = {"deployment": "dall-e-3", "prompt": "a cat", field: value}
    with pytest.raises(errors.ParleyError) as info:
        images.generate(client, images.ImageRequest(**options), cancel=CancelToken(), ctx=CTX)
    assert info.value.problem.kind == errors.Kind.CONFIG
    assert not _image_requests(emulator)


def test_429_once_is_retried_with_a_retrying_event(client, emulator):
    client = client.with_options(default_headers={"x-parley-fault": "429once"})
    events = _run(client, images.ImageRequest("dall-e-3", "a fox"), max_retries=2)
    retries = [e for e in events if isinstance(e, Retrying)]
    assert len(retries) == 1 and retries[0].problem.kind == errors.Kind.RATE_LIMIT
    assert any(isinstance(e, images.GeneratedImage) for e in events)
    assert len(_image_requests(emulator)) == 2


def test_500_without_retries_fails(client):
    client = client.with_options(default_headers={"x-parley-fault": "500"})
    events = _run(client, images.ImageRequest("dall-e-3", "a fox"), max_retries=0)
    assert isinstance(events[-1], Failed) and events[-1].problem.kind == errors.Kind.SERVER


def test_cancel_while_waiting_returns_at_once(client):
    client = client.with_options(default_headers={"x-parley-fault": "hang"})
    cancel = CancelToken()
    gen = images.generate(client, images.ImageRequest("dall-e-3", "a fox"), cancel=cancel, ctx=CTX)
    assert isinstance(next(gen), Started)
    import threading

    threading.Timer(0.2, cancel.cancel).start()
    t0 = time.monotonic()
    rest = list(gen)
    assert time.monotonic() - t0 < 0.8
    assert rest[-1] == Done("cancelled")
    # The helper thread that was reading the stalled body is woken by the socket shutdown, not left behind.
    deadline = time.monotonic() + 2.0
    while any(t.name == "parley-request" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(t.name == "parley-request" for t in threading.enumerate())


def test_save_png_names_by_time_and_prompt(tmp_path):
    png = base64.b64decode(_tiny_png())
    image = images.GeneratedImage(
        png,
        "revised",
        None,
        None,
        "rid",
        images.ImageRequest("dall-e-3", "A rabbit, eating pancakes! ☕ at dawn"),
    )
    first = images.save_png(image, tmp_path / "out", now=0)
    second = images.save_png(image, tmp_path / "out", now=0)
    assert first.name.endswith("-a-rabbit-eating-pancakes-at-dawn.png")
    assert second.name.endswith("-a-rabbit-eating-pancakes-at-dawn-2.png")
    assert first.read_bytes() == png == second.read_bytes()
    assert images.slug("!!!") == "image"
    assert len(images.slug("word " * 50)) <= 40


def _tiny_png() -> str:
    return "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_generate_and_store_saves_the_png_and_records_it_in_the_gallery(client, tmp_path):
    from app.core.history import History

    history = History.open(tmp_path / "h.sqlite3")
    request = images.ImageRequest("dall-e-3", "A lighthouse at night", size="1024x1792", style="natural")
    events = list(
        images.generate_and_store(
            client, request, history, tmp_path / "pictures", cancel=CancelToken(), ctx=CTX
        )
    )
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    [stored] = [e for e in events if isinstance(e, images.StoredImage)]
    assert not [e for e in events if isinstance(e, images.GeneratedImage)]  # one way to get the image: stored
    path = tmp_path / "pictures" / stored.record.path.rsplit("/", 1)[-1]
    assert path.read_bytes() == stored.image.png and images.png_size(stored.image.png) == (1024, 1792)
    assert history.list_images() == [stored.record]
    assert stored.record.prompt == "A lighthouse at night" and stored.record.deployment == "dall-e-3"
    assert stored.record.options == {
        "size": "1024x1792",
        "quality": "standard",
        "style": "natural",
        "response_format": "b64_json",
    }
    history.close()


def test_purge_deleted_removes_the_files_of_images_deleted_long_enough_ago(tmp_path):
    from app.core.history import History

    history = History.open(tmp_path / "h.sqlite3")
    files = []
    for name in ("old", "recent", "kept"):
        files.append(tmp_path / f"{name}.png")
        files[-1].write_bytes(base64.b64decode(_tiny_png()))
    old, recent, kept = (history.add_image(path=f, prompt=f.stem) for f in files)
    history.delete_image(old.id)
    time.sleep(0.3)
    history.delete_image(recent.id)
    assert images.purge_deleted(history, older_than_seconds=0.2) == [files[0]]
    assert not files[0].exists() and files[1].exists() and files[2].exists()
    assert [r.id for r in history.list_images(include_deleted=True)] == [kept.id, recent.id]
    files[1].unlink()  # a file the user already removed is not an error
    assert images.purge_deleted(history, older_than_seconds=0) == [files[1]]
    assert [r.id for r in history.list_images(include_deleted=True)] == [kept.id]
    history.close()
