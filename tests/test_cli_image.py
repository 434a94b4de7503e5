"""`parley image` and `parley image edit` as real processes against the emulator: gpt-image options per family, exit
codes, the file format from -o, webp passed through, a multipart edit with a mask."""

from __future__ import annotations

import json
import struct

import pytest

from app.emulator import Emulator, imaging
from tests.test_cli import parley

pytestmark = pytest.mark.e2e

KEY = "5e0c1d2a3b4f49c8a7e6d5c4b3a29180"


@pytest.fixture(scope="module")
def emu():
    with Emulator(token_rate=0) as e:
        yield e


@pytest.fixture
def env(emu, tmp_path):
    import os

    from tests.test_cli import ROOT

    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "OPENAI_", "PARLEY_")) and k not in ("QT_QPA_PLATFORM", "DISPLAY")
    }
    return {
        **base,
        "AZURE_OPENAI_ENDPOINT": emu.endpoint,
        "AZURE_OPENAI_API_KEY": KEY,
        "OPENAI_API_VERSION": "2025-04-01-preview",
        "PARLEY_HOME": str(tmp_path / "home"),
        "PARLEY_MAX_RETRIES": "0",
        "PYTHONPATH": str(ROOT),
    }


def test_gpt_image_jpeg_from_the_output_extension_with_usage(env, emu, tmp_path):
    out = tmp_path / "fox.jpg"
    emu.clear()
    r = parley(
        env, "image", "a red fox", "-m", "gpt-image-1", "--quality", "low", "--size", "1536x1024",
        "--background", "opaque", "-o", str(out), "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"\xff\xd8\xff")
    sent = emu.requests[-1].json
    assert sent == {
        "model": "gpt-image-1", "prompt": "a red fox", "n": 1, "size": "1536x1024", "quality": "low",
        "background": "opaque", "output_format": "jpeg",
    }  # fmt: skip
    line = json.loads(r.stdout)
    assert line["format"] == "jpeg" and (line["width"], line["height"]) == (1536, 1024)
    assert line["usage"]["output_tokens"] == 400
    assert "Saved a 1536×1024 JPEG image" in r.stderr and "image tokens: " in r.stderr.lower()


def test_a_dalle_word_on_gpt_image_is_exit_2_with_the_valid_values_and_nothing_sent(env, emu, tmp_path):
    emu.clear()
    r = parley(env, "image", "a cat", "-m", "gpt-image-1", "--quality", "hd", "-o", str(tmp_path / "c.png"))
    assert r.returncode == 2, r.stderr
    assert "low, medium, high, auto" in r.stderr
    assert not emu.requests
    r = parley(
        env, "image", "a cat", "-m", "gpt-image-1-mini", "--style", "vivid", "-o", str(tmp_path / "c.png")
    )
    assert r.returncode == 2 and not emu.requests


def test_transparent_png_and_several_images(env, emu, tmp_path):
    out = tmp_path / "logo.png"
    r = parley(
        env, "image", "a logo", "-m", "gpt-image-1", "--background", "transparent", "-n", "2", "-o", str(out)
    )
    assert r.returncode == 0, r.stderr
    for path in (out, tmp_path / "logo-2.png"):
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") and data[25] == 6  # RGBA
    r = parley(
        env,
        "image",
        "a logo",
        "-m",
        "gpt-image-1",
        "--background",
        "transparent",
        "-o",
        str(tmp_path / "x.jpg"),
    )
    assert r.returncode == 2 and "PNG" in r.stderr


def test_webp_is_passed_through_and_azures_answer_shown(env, emu, tmp_path):
    emu.clear()
    r = parley(env, "image", "a cat", "-m", "gpt-image-1", "--format", "webp", "-o", str(tmp_path / "c.webp"))
    assert r.returncode == 1, r.stderr
    assert emu.requests[-1].json["output_format"] == "webp"
    assert "'webp'" in r.stderr and "'png' and 'jpeg'" in r.stderr


def test_dalle_keeps_response_format_and_refuses_a_jpeg_file(env, emu, tmp_path):
    out = tmp_path / "d.png"
    r = parley(
        env, "image", "a cat", "-m", "dall-e-3", "--response-format", "url", "--quality", "hd", "-o", str(out)
    )
    assert r.returncode == 0, r.stderr
    assert emu.requests[-2].json["response_format"] == "url" and emu.requests[-2].json["quality"] == "hd"
    assert struct.unpack(">II", out.read_bytes()[16:24]) == (1024, 1024)
    r = parley(env, "image", "a cat", "-m", "dall-e-3", "-o", str(tmp_path / "d.jpg"))
    assert r.returncode == 2 and "PNG" in r.stderr


def test_image_edit_sends_multipart_with_the_mask(env, emu, tmp_path):
    source, mask, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    source.write_bytes(imaging.png(1024, 1024, "in"))
    mask.write_bytes(imaging.png(1024, 1024, "mask", transparent=True))
    emu.clear()
    r = parley(
        env,
        "image",
        "edit",
        str(source),
        "add a hat",
        "-m",
        "gpt-image-1",
        "--mask",
        str(mask),
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    sent = emu.requests[-1]
    assert sent.path == "/openai/deployments/gpt-image-1/images/edits"
    assert sent.form["prompt"] == "add a hat" and set(sent.files) == {"image", "mask"}
    assert out.read_bytes().startswith(b"\x89PNG")
    # DALL-E cannot edit: exit 2, nothing sent.
    emu.clear()
    r = parley(env, "image", "edit", str(source), "add a hat", "-m", "dall-e-3", "-o", str(out))
    assert r.returncode == 2 and "gpt-image" in r.stderr and not emu.requests
    # A mask without alpha: exit 2, nothing sent.
    mask.write_bytes(imaging.png(1024, 1024, "mask"))
    r = parley(
        env,
        "image",
        "edit",
        str(source),
        "add a hat",
        "-m",
        "gpt-image-1",
        "--mask",
        str(mask),
        "-o",
        str(out),
    )
    assert r.returncode == 2 and "alpha" in r.stderr and not emu.requests
