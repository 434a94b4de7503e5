"""Hardening: files checked locally before they are sent. A PNG that is only its signature, or cut or damaged, is
refused by `image edit` (INPUT and --mask) and `ask --image` with exit 2 (Azure would refuse it only after the
upload); a silent WAV (8-, 24- or 32-bit PCM, or 32- or 64-bit float) is refused by `transcribe`, and `talk --engine chained` checks its input as
`transcribe` does."""

from __future__ import annotations

import struct
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest
from test_hardening_cli import clean, emu, parley, silent_wav  # noqa: F401 - emu: the module's emulator fixture

from app.core import imagecheck, wavinfo
from app.emulator import imaging

ROOT = Path(__file__).resolve().parents[1]
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _qt_encoded(fmt: str, kind: str = "ARGB32") -> bytes:
    """A small image of Qt's `kind` encoded by Qt as `fmt`; b"" when this Qt cannot write `fmt` (WebP)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(37, 23, QImage.Format.Format_ARGB32)
    image.fill(QColor(200, 40, 90, 180))
    image = image.convertToFormat(getattr(QImage.Format, f"Format_{kind}"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    saved = image.save(buffer, fmt)
    assert saved or fmt == "WEBP", (fmt, kind)
    return bytes(data.data()) if saved else b""


def test_whole_images_pass(qapp):
    pngs = sorted(ROOT.glob("resources/**/*.png")) + sorted(ROOT.glob("app/resources/**/*.png"))
    assert pngs
    for path in pngs:
        assert imagecheck.damage(path.read_bytes()) is None, path
    assert imagecheck.damage(imaging.png(64, 48, "x")) is None
    assert imagecheck.damage(imaging.png(64, 48, "x", transparent=True)) is None
    for kind in ("ARGB32", "RGB888", "Indexed8", "Grayscale8", "Grayscale16", "Mono", "RGBA64"):
        assert imagecheck.damage(_qt_encoded("PNG", kind)) is None, kind
    assert imagecheck.damage(_qt_encoded("JPEG", "RGB888")) is None
    assert imagecheck.damage(GIF) is None
    webp = _qt_encoded("WEBP")
    assert not webp or imagecheck.damage(webp) is None


def test_cut_or_damaged_images_are_named():
    png = imaging.png(64, 48, "x")
    assert imagecheck.damage(imagecheck.PNG_SIGNATURE) == "a PNG signature and nothing more (8 bytes)"
    assert imagecheck.damage(png[:-12]) == f"a PNG cut short after {len(png) - 12:,} bytes"
    assert imagecheck.damage(png[: len(png) // 2]).startswith("a PNG cut short")
    bad = bytearray(png)
    bad[60] ^= 0xFF  # inside the image data
    assert imagecheck.damage(bytes(bad)) == "a damaged PNG (its IDAT chunk fails its checksum)"
    # A PNG whose chunks are whole but whose image data holds too few rows (written by a buggy encoder).
    ihdr = struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)
    short = imaging._chunk(b"IHDR", ihdr) + imaging._chunk(b"IDAT", zlib.compress(b"\0" * 193))
    assert imagecheck.damage(imagecheck.PNG_SIGNATURE + short + imaging._chunk(b"IEND", b"")).startswith(
        "a PNG cut short (its image data holds 193 of"
    )
    assert imagecheck.damage(GIF[:-1]) == f"a GIF cut short after {len(GIF) - 1} bytes"


def test_cut_jpeg_and_webp_are_named(qapp):
    jpeg = _qt_encoded("JPEG", "RGB888")
    assert imagecheck.damage(jpeg[: len(jpeg) // 2]) == f"a JPEG cut short after {len(jpeg) // 2:,} bytes"
    assert imagecheck.damage(b"\xff\xd8\xff") == "a JPEG cut short after 3 bytes"
    webp = _qt_encoded("WEBP")
    if webp:
        assert imagecheck.damage(webp[:-10]).startswith("a WebP cut short")


def _float_wav(path: Path, kind: str, samples: np.ndarray, channels: int = 1) -> Path:
    """`samples` as a 16 kHz float WAV: "f32" or "f64" (format tag 3), "f32x" (WAVE_FORMAT_EXTENSIBLE, as
    Audacity writes multi-channel float), written chunk by chunk (the wave module writes integer PCM only)."""
    import struct

    bits = 64 if kind == "f64" else 32
    raw = np.repeat(samples, channels).astype("<f8" if bits == 64 else "<f4").tobytes()
    block = channels * bits // 8
    if kind == "f32x":
        guid = struct.pack("<H", 3) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = (
            struct.pack("<HHIIHHHHI", 0xFFFE, channels, 16000, 16000 * block, block, bits, 22, bits, 3) + guid
        )
    else:
        fmt = struct.pack("<HHIIHH", 3, channels, 16000, 16000 * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(raw)) + raw
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _wav(path: Path, width: int | str, samples: np.ndarray) -> Path:
    """`samples` in [-1, 1] as a mono 16 kHz PCM WAV of `width` bytes per sample (or a float WAV: `_float_wav`)."""
    if isinstance(width, str):
        return _float_wav(path, width, samples)
    if width == 1:
        raw = np.clip(samples * 128 + 128, 0, 255).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.clip(samples * (1 << 23), -(1 << 23), (1 << 23) - 1).astype("<i4")
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        scale = 1 << (8 * width - 1)
        raw = np.clip(samples * scale, -scale, scale - 1).astype("<i2" if width == 2 else "<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(16000)
        w.writeframes(raw)
    return path


@pytest.mark.parametrize("width", [1, 2, 3, 4, "f32", "f64", "f32x"])
def test_the_level_of_every_pcm_width_and_float(tmp_path, width):
    t = np.arange(16000) / 16000
    loud = _wav(tmp_path / "loud.wav", width, 0.5 * np.sin(2 * np.pi * 200 * t)).read_bytes()
    quiet = _wav(tmp_path / "quiet.wav", width, np.zeros(16000)).read_bytes()
    assert wavinfo.loudest_dbfs(loud) == pytest.approx(-9.0, abs=0.3)
    assert wavinfo.loudest_dbfs(quiet) == -120.0 and wavinfo.is_silent(quiet) and not wavinfo.is_silent(loud)


# -- the real process -----------------------------------------------------------------------------------------------


def _posts(emu_):
    return [q for q in emu_.requests if q.method == "POST"]


@pytest.mark.e2e
@pytest.mark.parametrize("damaged", ["signature-only", "cut"])
def test_image_edit_refuses_a_damaged_png_before_sending(tmp_path, emu, damaged):  # noqa: F811
    png = imaging.png(256, 256, "in")
    source = tmp_path / "in.png"
    source.write_bytes(imagecheck.PNG_SIGNATURE if damaged == "signature-only" else png[: len(png) // 2])
    emu.clear()
    r = parley(tmp_path / "home", "image", "edit", str(source), "make it blue", "-m", "gpt-image-1",
               "-o", str(tmp_path / "o.png"), endpoint=emu.endpoint)  # fmt: skip
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "in.png is not a whole image" in r.stderr and "PNG" in r.stderr, r.stderr
    assert not _posts(emu) and not (tmp_path / "o.png").exists()


@pytest.mark.e2e
def test_image_edit_refuses_a_cut_mask_before_sending(tmp_path, emu):  # noqa: F811
    source, mask = tmp_path / "in.png", tmp_path / "mask.png"
    source.write_bytes(imaging.png(256, 256, "in"))
    whole = imaging.png(256, 256, "mask", transparent=True)
    mask.write_bytes(whole[: len(whole) - 40])
    emu.clear()
    r = parley(tmp_path / "home", "image", "edit", str(source), "make it blue", "-m", "gpt-image-1",
               "--mask", str(mask), "-o", str(tmp_path / "o.png"), endpoint=emu.endpoint)  # fmt: skip
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "The mask is not a whole image: it is a PNG cut short" in r.stderr, r.stderr
    assert not _posts(emu)


@pytest.mark.e2e
def test_ask_refuses_an_image_that_is_only_a_png_signature(tmp_path, emu):  # noqa: F811
    fake = tmp_path / "photo.png"
    fake.write_bytes(imagecheck.PNG_SIGNATURE)
    emu.clear()
    r = parley(tmp_path / "home", "ask", "what is this?", "--image", str(fake), endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "photo.png is not a whole image: it is a PNG signature and nothing more (8 bytes)" in r.stderr
    assert not _posts(emu)


@pytest.mark.e2e
@pytest.mark.parametrize("width", [1, 3, 4, "f32", "f32x"])
def test_a_silent_wav_of_any_pcm_width_is_not_sent_to_whisper(tmp_path, emu, width):  # noqa: F811
    wav = _wav(tmp_path / "quiet.wav", width, np.zeros(32000))
    emu.clear()
    r = parley(tmp_path / "home", "transcribe", str(wav), "-m", "whisper", endpoint=emu.endpoint)
    clean(r)
    assert r.returncode == 2, r.stderr
    assert "quiet.wav is silent: its loudest moment is -120 dBFS" in r.stderr, r.stderr
    assert not _posts(emu)


@pytest.mark.e2e
@pytest.mark.parametrize("width", [1, 2])
def test_talk_chained_refuses_a_silent_file(tmp_path, emu, width):  # noqa: F811
    wav = (
        _wav(tmp_path / "quiet.wav", width, np.zeros(32000)) if width == 1 else silent_wav(tmp_path / "q.wav")
    )
    emu.clear()
    r = parley(tmp_path / "home", "talk", str(wav), "--engine", "chained", "-o", str(tmp_path / "a.wav"),
               endpoint=emu.endpoint)  # fmt: skip
    clean(r)
    assert r.returncode == 2, r.stderr
    assert f"{wav.name} is silent: its loudest moment is -120 dBFS" in r.stderr, r.stderr
    assert not _posts(emu) and not (tmp_path / "a.wav").exists()


def test_a_float_wav_decodes_to_its_samples_in_every_channel_layout(tmp_path):
    from app.audio.wav import decode_wav

    t = np.arange(1600) / 16000
    tone = 0.25 * np.sin(2 * np.pi * 440 * t)
    for kind in ("f32", "f64", "f32x"):
        mono, rate = decode_wav(_float_wav(tmp_path / f"{kind}.wav", kind, tone).read_bytes())
        assert rate == 16000 and np.allclose(mono, tone, atol=1e-6), kind
    stereo, _ = decode_wav(_float_wav(tmp_path / "st.wav", "f32x", tone, channels=2).read_bytes(), mono=False)
    assert stereo.shape == (1600, 2) and np.allclose(stereo[:, 1], tone, atol=1e-6)
    assert wavinfo.pcm_samples(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # cut short: not read, not raised
