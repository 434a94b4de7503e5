"""A small baseline JPEG encoder (numpy DCT, YCbCr 4:4:4) so gpt-image answers asked for `jpeg` are real JPEGs.

The Huffman tables are built per image: every symbol that occurs gets a code of one length (a valid canonical
prefix code, not an optimal one), which keeps this short; any JPEG decoder reads it.
"""

from __future__ import annotations

import math
import struct
from typing import Any

# ITU T.81 Annex K quantisation tables (natural order), scaled by quality as libjpeg does.
_LUMA_Q = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA_Q = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
)  # fmt: skip


def _zigzag() -> list[int]:
    """Natural-order index of each zigzag position."""
    order = sorted(
        ((r, c) for r in range(8) for c in range(8)),
        key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]),
    )
    return [r * 8 + c for r, c in order]


ZIGZAG = _zigzag()


def _scaled(table: tuple[int, ...], quality: int) -> list[int]:
    quality = max(1, min(100, quality))
    scale = 5000 // quality if quality < 50 else 200 - quality * 2
    return [max(1, min(255, (q * scale + 50) // 100)) for q in table]


def _size_bits(value: int) -> tuple[int, int]:
    """(category, bits) of a coefficient: JPEG's magnitude category and its one's-complement extra bits."""
    if value == 0:
        return 0, 0
    cat = abs(value).bit_length()
    return cat, value if value > 0 else value + (1 << cat) - 1


def encode(rgb: Any, quality: int = 75) -> bytes:
    """A baseline JPEG of `rgb` (an H×W×3 float array in 0..1)."""
    import numpy as np

    height, width = rgb.shape[:2]
    pix = rgb.astype(np.float32) * 255.0
    r, g, b = pix[:, :, 0], pix[:, :, 1], pix[:, :, 2]
    planes = (
        0.299 * r + 0.587 * g + 0.114 * b - 128.0,
        -0.168736 * r - 0.331264 * g + 0.5 * b,
        0.5 * r - 0.418688 * g - 0.081312 * b,
    )
    ph, pw = -(-height // 8) * 8, -(-width // 8) * 8
    n = np.arange(8)
    dct = np.cos((2 * n[None, :] + 1) * n[:, None] * math.pi / 16) * np.sqrt(2 / 8)
    dct[0] /= math.sqrt(2)
    tables = (_scaled(_LUMA_Q, quality), _scaled(_CHROMA_Q, quality))
    coeffs = []
    for index, plane in enumerate(planes):
        padded = np.pad(plane, ((0, ph - height), (0, pw - width)), mode="edge")
        blocks = padded.reshape(ph // 8, 8, pw // 8, 8).transpose(0, 2, 1, 3)
        freq = dct @ blocks @ dct.T
        q = np.array(tables[min(index, 1)], np.float32).reshape(8, 8)
        zz = np.rint(freq / q).astype(np.int32).reshape(-1, 64)[:, ZIGZAG]
        coeffs.append(zz)
    symbols = _symbols(coeffs)
    dc_codes, dc_table = _table({s for t, s, _, _ in symbols if t == 0})
    ac_codes, ac_table = _table({s for t, s, _, _ in symbols if t == 1})
    data = _entropy(symbols, (dc_codes, ac_codes))
    out = bytearray(b"\xff\xd8")
    out += b"\xff\xe0" + struct.pack(">H5sBBBHHBB", 16, b"JFIF\0", 1, 1, 0, 1, 1, 0, 0)
    for tid, table in enumerate(tables):
        out += b"\xff\xdb" + struct.pack(">HB", 67, tid) + bytes(table[i] for i in ZIGZAG)
    out += b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    out += bytes((1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1))
    for cls, body in ((0, dc_table), (1, ac_table)):
        out += b"\xff\xc4" + struct.pack(">HB", 2 + 1 + len(body), cls << 4) + body
    out += b"\xff\xda" + struct.pack(">HB", 12, 3) + bytes((1, 0, 2, 0, 3, 0, 0, 63, 0))
    out += data + b"\xff\xd9"
    return bytes(out)


def _symbols(coeffs: list[Any]) -> list[tuple[int, int, int, int]]:
    """(table 0=DC/1=AC, symbol, extra bits, extra length) in scan order (blocks interleaved Y, Cb, Cr)."""
    import numpy as np

    out: list[tuple[int, int, int, int]] = []
    previous = [0, 0, 0]
    nonzero = [[np.flatnonzero(block[1:]) + 1 for block in plane] for plane in coeffs]
    for i in range(coeffs[0].shape[0]):
        for c in range(3):
            block = coeffs[c][i]
            dc = int(block[0])
            cat, bits = _size_bits(dc - previous[c])
            previous[c] = dc
            out.append((0, cat, bits, cat))
            last = 0
            for k in nonzero[c][i]:
                run = int(k) - last - 1
                while run > 15:
                    out.append((1, 0xF0, 0, 0))
                    run -= 16
                cat, bits = _size_bits(int(block[k]))
                out.append((1, (run << 4) | cat, bits, cat))
                last = int(k)
            if last != 63:
                out.append((1, 0x00, 0, 0))
    return out


def _table(used: set[int]) -> tuple[dict[int, tuple[int, int]], bytes]:
    """Codes of one length for `used` (one spare code, as an all-ones code is not allowed) and its DHT body."""
    symbols = sorted(used)
    length = max(1, len(symbols).bit_length())
    counts = [0] * 16
    counts[length - 1] = len(symbols)
    codes = {s: (i, length) for i, s in enumerate(symbols)}
    return codes, bytes(counts) + bytes(symbols)


def _entropy(symbols: list[tuple[int, int, int, int]], codes: tuple[dict, dict]) -> bytes:
    out = bytearray()
    acc, nbits = 0, 0
    for table, symbol, bits, extra in symbols:
        code, length = codes[table][symbol]
        acc = (acc << length) | code
        nbits += length
        if extra:
            acc = (acc << extra) | bits
            nbits += extra
        while nbits >= 8:
            nbits -= 8
            byte = (acc >> nbits) & 0xFF
            out.append(byte)
            if byte == 0xFF:
                out.append(0)
        acc &= (1 << nbits) - 1
    if nbits:
        byte = ((acc << (8 - nbits)) | ((1 << (8 - nbits)) - 1)) & 0xFF  # pad with ones
        out.append(byte)
        if byte == 0xFF:
            out.append(0)
    return bytes(out)
