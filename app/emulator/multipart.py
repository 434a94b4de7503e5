"""multipart/form-data bodies (uploads of audio and JSONL files) as the emulator needs them: fields and files."""

from __future__ import annotations

import re
from typing import Any


def parse_multipart(body: bytes, ctype: str) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """(form, files): form maps a field to its text, or to (filename, size) for a file; files to (filename, data)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    form: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not m:
        return form, files
    boundary = b"--" + m.group(1).encode()
    for part in body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        disp = re.search(rb"content-disposition:[^\r\n]*", head, re.I)
        if not disp:
            continue
        name = re.search(rb'\bname="([^"]*)"', disp.group(0))
        filename = re.search(rb'filename="([^"]*)"', disp.group(0))
        if not name:
            continue
        key = name.group(1).decode("utf-8", "replace")
        if filename is not None:
            fname = filename.group(1).decode("utf-8", "replace")
            files[key] = (fname, data)
            form[key] = (fname, len(data))
        else:
            form[key] = data.decode("utf-8", "replace")
    return form, files
