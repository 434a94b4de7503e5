"""Images for the images routes (PNG with numpy + zlib + struct, transparent when asked; JPEG in `jpeg.py`) and
image-header sizes for chat image inputs."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from app.emulator.content import stable_hash


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def pattern(width: int, height: int, seed_text: str) -> tuple[Any, Any]:
    """(rgb, coverage): a deterministic, colourful float RGB image from `seed_text` (soft waves of colour and a few
    discs) and how much each pixel belongs to a disc (0..1), the foreground a transparent background keeps."""
    import numpy as np

    h = stable_hash(seed_text, 16)
    rnd = np.random.default_rng(h % (2**63))
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rnd.uniform(1.0, 6.0), rnd.uniform(1.0, 6.0), rnd.uniform(0, 6.28)
        img[:, :, c] = 0.5 + 0.35 * (
            np.cos(fy * 6.28 * y + ph * 0.5) * np.sin(fx * 6.28 * x + ph)
        )  # separable
    small = max(2, min(width, height) // 256)  # discs on a coarser grid keep this fast
    gy = np.linspace(0.0, 1.0, height // small + 1, dtype=np.float32)[:, None]
    gx = np.linspace(0.0, 1.0, width // small + 1, dtype=np.float32)[None, :]
    mask = np.zeros((gy.shape[0], gx.shape[1], 3), np.float32)
    cover = np.zeros((gy.shape[0], gx.shape[1]), np.float32)
    aspect = width / height
    for _ in range(5):
        cx, cy, r = rnd.uniform(0.1, 0.9), rnd.uniform(0.1, 0.9), rnd.uniform(0.05, 0.2)
        colour = rnd.uniform(0.0, 1.0, 3).astype(np.float32)
        d = np.sqrt(((gx - cx) * aspect) ** 2 + (gy - cy) ** 2)
        alpha = np.clip((r - d) / 0.02, 0.0, 1.0)
        mask = (mask * (1 - alpha[:, :, None]) + colour * alpha[:, :, None] * 0.6).astype(np.float32)
        cover = np.maximum(cover, alpha)
    up = np.repeat(np.repeat(mask, small, axis=0), small, axis=1)[:height, :width]
    coverage = np.repeat(np.repeat(cover, small, axis=0), small, axis=1)[:height, :width]
    return np.clip(img * 0.7 + up, 0.0, 1.0), coverage


def png(width: int, height: int, seed_text: str, *, transparent: bool = False) -> bytes:
    """A PNG of `pattern`: RGB, or RGBA whose background (all but the discs) is fully transparent."""
    import numpy as np

    img, coverage = pattern(width, height, seed_text)
    channels = 4 if transparent else 3
    pixels = np.empty((height, width, channels), np.uint8)
    pixels[:, :, :3] = (img * 255).astype(np.uint8) & 0xFC  # fewer levels: smaller, faster
    if transparent:
        pixels[:, :, 3] = (coverage * 255).astype(np.uint8)
    raw = np.empty((height, width * channels + 1), np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = pixels.reshape(height, width * channels)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if transparent else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from a PNG, JPEG, GIF or WebP header."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "PNG", w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return "GIF", w, h
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":
            return (
                "WebP",
                int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1,
            )
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return "WebP", w & 0x3FFF, h & 0x3FFF
        if kind == b"VP8L":
            b = int.from_bytes(data[21:25], "little")
            return "WebP", (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return "JPEG", w, h
            i += 2 + length
    return None
