"""Whether an image file is whole, without Qt or pixels kept: a PNG's chunks, checksums and compressed data, a JPEG's
segments up to its end marker, a GIF's trailer, a WebP's RIFF length. Azure refuses a damaged or cut image only after
the upload ("invalid image"); these say which file and what is wrong with it before anything is sent."""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_READ = 1 << 20  # decompressed bytes per step: counted, never kept


def damage(data: bytes) -> str | None:
    """What is wrong with a PNG, JPEG, GIF or WebP file, in words ('a PNG cut short after 8 bytes'), or None when it
    is whole (or of another type: not judged here)."""
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return None if len(data) > 13 and data.rstrip(b"\x00\r\n")[-1:] == b";" else _cut("GIF", data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        declared = int.from_bytes(data[4:8], "little") + 8
        return None if len(data) >= declared > 20 else _cut("WebP", data)
    return None


def _cut(kind: str, data: bytes) -> str:
    return f"a {kind} cut short after {len(data):,} bytes"


def _png(data: bytes) -> str | None:
    pos, header, idat, ended = 8, b"", bytearray(), False
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if len(body) < length or pos + 12 + length > len(data):
            break
        crc = data[pos + 8 + length : pos + 12 + length]
        if kind[:1].isupper() and zlib.crc32(kind + body) != int.from_bytes(crc, "big"):  # critical chunks
            return f"a damaged PNG (its {kind.decode('latin-1')} chunk fails its checksum)"
        if not header and kind != b"IHDR":
            return "a damaged PNG (it does not start with its IHDR header)"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    if len(data) <= 8:
        return "a PNG signature and nothing more (8 bytes)"
    if not ended or len(header) != 13:
        return _cut("PNG", data)
    return _png_pixels(header, bytes(idat))


def _png_pixels(header: bytes, idat: bytes) -> str | None:
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if not width or not height or colour not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        return "a damaged PNG (its header is not valid)"
    bits = _CHANNELS[colour] * depth
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    expected = 0
    for x0, y0, dx, dy in passes:
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            expected += h * (1 + (w * bits + 7) // 8)
    inflate, total, rest = zlib.decompressobj(), 0, idat
    try:
        while not inflate.eof and total <= expected:
            out = inflate.decompress(rest, _READ)
            rest, total = inflate.unconsumed_tail, total + len(out)
            if not out:
                break
    except zlib.error:
        return "a damaged PNG (its image data does not decompress)"
    if total < expected:
        return f"a PNG cut short (its image data holds {total:,} of {expected:,} bytes)"
    return None


def _jpeg(data: bytes) -> str | None:
    pos, framed = 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return "a damaged JPEG (its segments do not follow each other)"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if marker == 0xD9:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            framed = True
        if marker == 0xDA:  # start of scan: the entropy-coded data runs to the end marker
            if framed and data.find(b"\xff\xd9", pos + 2 + length) != -1:
                return None
            break
        pos += 2 + length
    return _cut("JPEG", data)
