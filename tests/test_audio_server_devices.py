"""The Voice tab's device lists come from the sound server (PulseAudio, PipeWire) by their real names, monitors left
out, duplicates told apart, and a chosen one is routed to the stream by name (issue #15)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from app.audio import devices, server
from devtools.audio_rig import missing

SOURCES = [
    {
        "name": "alsa_output.pci.analog-stereo.monitor",
        "description": "Monitor of Built-in Audio",
        "monitor_source": "alsa_output.pci.analog-stereo",
        "sample_specification": "s16le 2ch 48000Hz",
        "properties": {"device.class": "monitor"},
    },
    {
        "name": "alsa_input.pci.analog-stereo",
        "description": "Built-in Audio Analog Stereo",
        "monitor_source": "",
        "sample_specification": "s16le 2ch 48000Hz",
        "properties": {"device.class": "sound"},
    },
    {
        "name": "bluez_input.headset",
        "description": "Headset Microphone",
        "monitor_source": "",
        "sample_specification": "s16le 1ch 16000Hz",
        "properties": {},
    },
]
SINKS = [
    {
        "name": "alsa_output.pci.analog-stereo",
        "description": "Built-in Audio Analog Stereo",
        "sample_specification": "s16le 2ch 48000Hz",
    },
    {"name": "hdmi.1", "description": "HDMI Output", "sample_specification": "s16le 2ch 48000Hz"},
    {"name": "hdmi.2", "description": "HDMI Output", "sample_specification": "s16le 2ch 48000Hz"},
]


def fake_pactl(monkeypatch):
    answers = {
        ("-f", "json", "list", "sources"): json.dumps(SOURCES),
        ("-f", "json", "list", "sinks"): json.dumps(SINKS),
        ("get-default-source",): "bluez_input.headset\n",
        ("get-default-sink",): "alsa_output.pci.analog-stereo\n",
    }
    monkeypatch.setattr(server.shutil, "which", lambda name: "/usr/bin/pactl")

    def run(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 0, answers[tuple(argv[1:])], "")

    monkeypatch.setattr(server.subprocess, "run", run)


def test_the_servers_real_microphones_and_speakers_are_listed_by_name(monkeypatch):
    fake_pactl(monkeypatch)
    listed = server.server_devices()
    assert listed is not None
    mics = [d.name for d in listed if d.inputs]
    speakers = [d.name for d in listed if d.outputs]
    assert mics == ["Built-in Audio Analog Stereo", "Headset Microphone"]  # no monitor of a speaker
    assert speakers == ["Built-in Audio Analog Stereo", "HDMI Output (hdmi.1)", "HDMI Output (hdmi.2)"]
    mic = devices.choose(listed, None, kind="input").device
    assert mic is not None and mic.name == "Headset Microphone" and mic.value == "pulse:bluez_input.headset"
    # A name saved from PortAudio's list ("pulse") is the default now, without a "not connected" note.
    assert devices.choose(listed, "pulse", kind="output").note is None


def test_no_sound_server_means_portaudios_list(monkeypatch):
    monkeypatch.setattr(server.shutil, "which", lambda name: None)
    assert server.server_devices() is None


def test_a_chosen_server_device_is_routed_by_name(monkeypatch):
    # setenv, not delenv: monkeypatch restores only what it recorded, and a PULSE_SINK left behind sent every later
    # audio test's playback to a sink that does not exist
    monkeypatch.setenv("PULSE_SOURCE", "")
    monkeypatch.setenv("PULSE_SINK", "")
    pytest.importorskip("sounddevice", reason="PortAudio (libportaudio2) is not installed")
    server.route("pulse:bluez_input.headset", kind="input")
    server.route("pulse:hdmi.2", kind="output")
    assert (os.environ["PULSE_SOURCE"], os.environ["PULSE_SINK"]) == ("bluez_input.headset", "hdmi.2")
    assert server.route(3, kind="input") == 3  # a PortAudio device stays one
    # ... and the earlier server choice no longer steers input streams
    assert "PULSE_SOURCE" not in os.environ


@pytest.mark.audio
def test_the_private_pulseaudio_lists_its_own_devices_and_records_from_the_chosen_one():
    if missing():
        pytest.skip(missing())
    from app.audio.recorder import Recorder

    listed = devices.list_devices()
    names = [d.name for d in listed]
    assert "Remapped Monitor of Null Output" in names  # the rig's "mic", by the server's own description
    assert not any(n in ("pulse", "default") for n in names)
    mic = devices.choose(listed, None, kind="input").device
    assert mic is not None and mic.value == "pulse:mic"
    rec = Recorder(mic.value, 16000)
    rec.start()
    try:
        assert rec.read(2.0) is not None
    finally:
        rec.stop()
