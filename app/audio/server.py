"""The sound server's own microphones and speakers (PulseAudio, or PipeWire's PulseAudio side) by their real names,
where PortAudio (ALSA only on Linux) shows just `pulse` and `default`; and routing a stream to the chosen one."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from typing import Any

from app.audio.devices import Device

log = logging.getLogger(__name__)

ROUTE_PREFIX = "pulse:"  # a device value naming a sound-server source or sink: "pulse:alsa_input.pci-..."
TIMEOUT_S = 3.0


def _pactl(*args: str) -> Any:
    pactl = shutil.which("pactl")
    if pactl is None:
        return None
    try:
        out = subprocess.run(
            [pactl, *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:  # no server running, or a pactl without -f json
        log.info("no sound server devices: %s", exc)
        return None
    return out


def _is_monitor(source: dict) -> bool:
    """A sink's monitor (what it plays, not a microphone); pactl's JSON names its sink in `monitor_source`."""
    props = source.get("properties") or {}
    of_sink = source.get("monitor_of_sink", source.get("monitor_source"))
    return props.get("device.class") == "monitor" or of_sink not in (None, "", "n/a")


def server_devices() -> list[Device] | None:
    """Sources (monitors left out) and sinks with their descriptions, the server's defaults marked; None where no
    sound server answers (then PortAudio's list is all there is)."""
    raw_sources, raw_sinks = _pactl("-f", "json", "list", "sources"), _pactl("-f", "json", "list", "sinks")
    if raw_sources is None or raw_sinks is None:
        return None
    try:
        sources = [s for s in json.loads(raw_sources) if not _is_monitor(s)]
        sinks = json.loads(raw_sinks)
    except (ValueError, TypeError, AttributeError) as exc:
        log.info("unreadable pactl output: %s", exc)
        return None
    default_source = (_pactl("get-default-source") or "").strip()
    default_sink = (_pactl("get-default-sink") or "").strip()
    devices: list[Device] = []
    for entries, is_input in ((sources, True), (sinks, False)):
        described = [str(e.get("description") or e.get("name")) for e in entries]
        for entry, label in zip(entries, described, strict=True):
            name = str(entry.get("name"))
            if described.count(label) > 1:  # two "Null Output"s: the user must still tell them apart
                label = f"{label} ({name})"
            channels = _channels(entry)
            devices.append(
                Device(
                    index=-1,
                    name=label,
                    hostapi="sound server",
                    inputs=channels if is_input else 0,
                    outputs=0 if is_input else channels,
                    default_samplerate=_rate(entry),
                    is_default_input=is_input and name == default_source,
                    is_default_output=not is_input and name == default_sink,
                    route=ROUTE_PREFIX + name,
                )
            )
    return devices


def _channels(entry: dict) -> int:
    spec = str(entry.get("sample_specification") or "")
    for part in spec.split():
        if part.endswith("ch") and part[:-2].isdigit():
            return int(part[:-2])
    return 2


def _rate(entry: dict) -> float:
    spec = str(entry.get("sample_specification") or "")
    for part in spec.split():
        if part.endswith("Hz") and part[:-2].isdigit():
            return float(part[:-2])
    return 48000.0


def route(device: int | str | None, *, kind: str) -> int | str | None:
    """What to hand PortAudio for `device`. A sound-server name is routed through the server's client variables
    (PULSE_SOURCE / PULSE_SINK, read when the ALSA pulse plugin opens the stream) and PortAudio's own `pulse`
    device (or its default) is opened; anything else is PortAudio's already."""
    variable = "PULSE_SOURCE" if kind == "input" else "PULSE_SINK"
    if not (isinstance(device, str) and device.startswith(ROUTE_PREFIX)):
        # An earlier choice must not steer this stream (the default, or a PortAudio device).
        os.environ.pop(variable, None)
        return device
    os.environ[variable] = device[len(ROUTE_PREFIX) :]
    from app.audio.devices import sounddevice

    sd = sounddevice()
    try:
        for info in sd.query_devices():
            channels = info["max_input_channels"] if kind == "input" else info["max_output_channels"]
            if info["name"] == "pulse" and channels > 0:
                return int(info["index"])
    except Exception:  # noqa: BLE001 - the default device then
        pass
    return None
