"""The gpt-image family and image edits against the emulator with the real openai client: options per family on the
wire, CONFIG before sending, PNG/JPEG results, image token usage, multipart edits with a mask, the gallery lineage."""

from __future__ import annotations

import sqlite3

import pytest

from app.core import errors, image_edits, images
from app.core.cancel import CancelToken
from app.core.capabilities import Family
from app.core.events import Done, Failed, Started
from app.core.image_options import ImageRequest, ImageUsage
from app.emulator import imaging

API_VERSION = "2025-04-01-preview"
CTX = errors.Context("images", "gpt-image-1", API_VERSION)


@pytest.fixture
def client(emulator):
    from openai import AzureOpenAI

    return AzureOpenAI(azure_endpoint=emulator.endpoint, api_key="k", api_version=API_VERSION, max_retries=0)


def _run(client, request, **kw):
    return list(images.generate(client, request, cancel=CancelToken(), ctx=CTX, **kw))


def _generated(events):
    return [e for e in events if isinstance(e, images.GeneratedImage)]


@pytest.mark.parametrize("deployment", ["gpt-image-1", "gpt-image-1-mini"])
@pytest.mark.parametrize(
    "options,fmt,size",
    [
        ({}, "png", (1024, 1024)),
        ({"size": "1536x1024", "quality": "low", "background": "opaque"}, "png", (1536, 1024)),
        (
            {"size": "1024x1536", "quality": "medium", "output_format": "jpeg", "output_compression": 40},
            "jpeg",
            (1024, 1536),
        ),
        ({"quality": "high", "background": "transparent", "output_format": "png"}, "png", (1024, 1024)),
    ],
)
def test_gpt_image_options_reach_the_wire_without_dalle_words(
    client, emulator, deployment, options, fmt, size
):
    events = _run(client, ImageRequest(deployment, "A lighthouse", **options))
    assert isinstance(events[0], Started) and isinstance(events[-1], Done), events
    [image] = _generated(events)
    sent = emulator.requests[-1]
    assert sent.path == f"/openai/deployments/{deployment}/images/generations"
    assert sent.json == {"model": deployment, "prompt": "A lighthouse", "n": 1, **options}
    assert "response_format" not in sent.json and "style" not in sent.json
    assert image.format == fmt and images.image_format(image.data) == fmt
    assert image.size == size
    assert image.usage is not None and image.usage.output_tokens > 0 and image.usage.input_text_tokens > 0
    if options.get("background") == "transparent":
        assert image.data[25] == 6  # RGBA: the PNG really has an alpha channel


def test_n_images_in_one_request_share_the_usage(client, emulator):
    events = _run(client, ImageRequest("gpt-image-1", "three foxes", n=3, quality="low"))
    made = _generated(events)
    assert [i.index for i in made] == [0, 1, 2]
    assert len({i.data for i in made}) == 3
    assert made[0].usage == ImageUsage(2, 2, 0, 272 * 3, 2 + 272 * 3)
    assert emulator.requests[-1].json["n"] == 3


@pytest.mark.parametrize(
    "options,words",
    [
        ({"quality": "hd"}, "low, medium, high, auto"),
        ({"quality": "standard"}, "low, medium, high, auto"),
        ({"size": "1792x1024"}, "1024x1024, 1536x1024, 1024x1536, auto"),
        ({"style": "vivid"}, "DALL-E 3 option"),
        ({"response_format": "url"}, "DALL-E 3 option"),
        ({"background": "transparent", "output_format": "jpeg"}, "PNG"),
        ({"background": "clear"}, "transparent, opaque, auto"),
        ({"output_format": "gif"}, "png, jpeg, webp"),
        ({"output_compression": 50}, "JPEG"),
        ({"output_format": "jpeg", "output_compression": 101}, "0 to 100"),
        ({"n": 11}, "1 to 10"),
    ],
)
def test_options_the_family_does_not_take_are_config_before_sending(client, emulator, options, words):
    with pytest.raises(errors.ParleyError) as info:
        images.generate(client, ImageRequest("gpt-image-1", "a cat", **options), cancel=CancelToken())
    problem = info.value.problem
    assert problem.kind == errors.Kind.CONFIG and problem.exit_code == 2
    assert words in problem.detail + problem.action
    assert not emulator.requests


def test_dalle_keeps_its_own_options_and_rejects_gpt_words(client, emulator):
    for options in ({"quality": "high"}, {"background": "opaque"}, {"output_format": "jpeg"}, {"n": 2}):
        with pytest.raises(errors.ParleyError) as info:
            images.generate(client, ImageRequest("dall-e-3", "a cat", **options), cancel=CancelToken())
        assert info.value.problem.kind == errors.Kind.CONFIG
    assert not emulator.requests


def test_webp_passes_through_and_azures_answer_is_shown(client, emulator):
    events = _run(client, ImageRequest("gpt-image-1", "a cat", output_format="webp"))
    assert isinstance(events[-1], Failed)
    problem = events[-1].problem
    assert problem.status == 400 and "'webp'" in problem.detail and "'png' and 'jpeg'" in problem.detail
    assert emulator.requests[-1].json["output_format"] == "webp"


def test_gpt_image_2_free_sizes_are_checked_against_its_limits(client, emulator):
    for size, words in (
        ("1000x1000", "multiples of 16"),
        ("3840x1280", "under 3840"),
        ("2400x640", "3 times"),
    ):
        with pytest.raises(errors.ParleyError) as info:
            images.generate(client, ImageRequest("gpt-image-2", "a cat", size=size), cancel=CancelToken())
        assert words in info.value.problem.detail
    with pytest.raises(errors.ParleyError):  # gpt-image-1 takes only its listed sizes
        images.generate(client, ImageRequest("gpt-image-1", "a cat", size="1536x864"), cancel=CancelToken())
    assert not emulator.requests


def test_a_family_mismatch_says_which_family_the_deployment_seems_to_serve(client):
    # The profile says DALL-E (an opaque name set wrongly): Azure rejects response_format; the problem says why.
    events = _run(client, ImageRequest("gpt-image-1", "a cat", family=Family.DALLE))
    problem = events[-1].problem
    assert problem.title == "Wrong image model family" and "GPT-image" in problem.action
    # The other way: gpt-image options sent to DALL-E 3.
    events = _run(client, ImageRequest("dall-e-3", "a cat", family=Family.GPT_IMAGE, quality="high"))
    problem = events[-1].problem
    assert problem.title == "Wrong image model family" and "DALL-E" in problem.action


def _mask(width=1024, height=1024) -> bytes:
    return imaging.png(width, height, "mask", transparent=True)


def test_edit_is_a_multipart_request_with_image_and_mask(client, emulator):
    source = imaging.png(1024, 1536, "source")
    edit = image_edits.EditRequest(
        ImageRequest("gpt-image-1", "Add a red hat", quality="low", output_format="jpeg"),
        source,
        "photo.png",
        _mask(1024, 1536),
    )
    events = list(image_edits.edit(client, edit, cancel=CancelToken(), ctx=CTX))
    assert isinstance(events[-1], Done), events
    [image] = _generated(events)
    sent = emulator.requests[-1]
    assert sent.path == "/openai/deployments/gpt-image-1/images/edits"
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert sent.form["prompt"] == "Add a red hat" and sent.form["model"] == "gpt-image-1"
    assert sent.form["quality"] == "low" and sent.form["output_format"] == "jpeg"
    assert "response_format" not in sent.form and "style" not in sent.form
    assert sent.files == {"image": ("photo.png", len(source)), "mask": ("mask.png", len(edit.mask))}
    assert image.format == "jpeg" and image.size == (1024, 1536)  # "auto" size keeps the source's
    assert image.usage is not None and image.usage.input_image_tokens > 0


def test_edit_without_a_mask_sends_only_the_image(client, emulator):
    source = imaging.png(1024, 1024, "source")
    edit = image_edits.EditRequest(ImageRequest("gpt-image-1-mini", "Make it night"), source)
    events = list(image_edits.edit(client, edit, cancel=CancelToken(), ctx=CTX))
    assert isinstance(events[-1], Done)
    assert set(emulator.requests[-1].files) == {"image"}


@pytest.mark.parametrize(
    "deployment,image,mask,words",
    [
        ("dall-e-3", imaging.png(64, 64, "s"), None, "gpt-image family only"),
        ("gpt-image-1", b"GIF89a" + b"\0" * 20, None, "PNG or JPEG"),
        ("gpt-image-1", imaging.png(64, 64, "s"), imaging.png(64, 64, "m"), "alpha"),
        ("gpt-image-1", imaging.png(64, 64, "s"), imaging.png(32, 32, "m", transparent=True), "same size"),
    ],
)
def test_edits_azure_would_refuse_are_config_before_sending(client, emulator, deployment, image, mask, words):
    edit = image_edits.EditRequest(ImageRequest(deployment, "edit it"), image, "x.png", mask)
    with pytest.raises(errors.ParleyError) as info:
        image_edits.edit(client, edit, cancel=CancelToken())
    assert (
        info.value.problem.kind == errors.Kind.CONFIG
        and words in info.value.problem.detail + info.value.problem.action
    )
    assert not emulator.requests


def test_gallery_keeps_format_options_usage_and_the_edit_lineage(client, tmp_path):
    from app.core.history import History

    history = History.open(tmp_path / "h.sqlite3")
    request = ImageRequest(
        "gpt-image-1", "A red fox", quality="medium", output_format="jpeg", output_compression=30
    )
    events = list(
        images.generate_and_store(client, request, history, tmp_path / "pics", cancel=CancelToken())
    )
    [first] = [e for e in events if isinstance(e, images.StoredImage)]
    assert first.record.format == "jpeg" and first.record.path.endswith(".jpg")
    assert first.record.options == {
        "quality": "medium",
        "output_format": "jpeg",
        "output_compression": 30,
        "n": 1,
    }
    assert first.record.usage == first.image.usage and first.record.usage.output_tokens == 1056
    source = open(first.record.path, "rb").read()
    edit = image_edits.EditRequest(
        ImageRequest("gpt-image-1", "Give it a hat"), source, first.record.path, None, first.record.id
    )
    events = list(image_edits.edit_and_store(client, edit, history, tmp_path / "pics", cancel=CancelToken()))
    [second] = [e for e in events if isinstance(e, images.StoredImage)]
    assert second.record.parent_id == first.record.id and second.record.format == "png"
    assert history.list_images() == [second.record, first.record]
    assert history.get_image(second.record.id) == second.record
    history.close()


def test_a_version_1_history_file_gains_the_gallery_columns(tmp_path):
    from app.core.history import History, schema

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(schema.MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO images (path, prompt, options_json, created_at) VALUES ('/x/a.png', 'old', '{}', 1.0)"
    )
    conn.commit()
    conn.close()
    history = History.open(path)
    [record] = history.list_images()
    assert (record.prompt, record.format, record.parent_id, record.usage) == ("old", "png", None, None)
    history.close()


@pytest.mark.parametrize(
    "kwargs,param,code",
    [
        ({"response_format": "b64_json"}, "response_format", "unknown_parameter"),
        ({"style": "vivid"}, "style", "unknown_parameter"),
        ({"output_format": "webp"}, "output_format", "invalid_value"),
        ({"background": "transparent", "output_format": "jpeg"}, "background", "invalid_value"),
        ({"quality": "hd"}, "quality", "invalid_value"),
        ({"n": 11}, "n", "integer_above_max_value"),
    ],
)
def test_emulator_answers_azures_400_envelopes_for_what_gpt_image_rejects(client, kwargs, param, code):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-1", prompt="a cat", **kwargs)
    error = info.value.body
    assert info.value.status_code == 400
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


def test_emulator_dalle_cannot_edit(client):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(
            model="dall-e-3", prompt="a hat", image=("a.png", imaging.png(64, 64, "a"), "image/png")
        )
    assert info.value.body["code"] == "OperationNotSupported"
