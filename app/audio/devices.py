"""Audio devices by name (indices change as devices come and go), and a clear message when PortAudio is missing."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import Kind, ParleyError, Problem

PORTAUDIO_MISSING = "PortAudioMissing"  # Problem.code: a restart, not a Refresh, is what helps
PORTAUDIO_ALIASES = ("pulse", "default", "pipewire")  # saved before real names were listed: the default now


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    inputs: int
    outputs: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False
    route: str | None = None  # a sound-server device ("pulse:NAME"): what the recorder/player are given

    @property
    def value(self) -> int | str:
        """What to open it by: the server route, else PortAudio's index."""
        return self.route if self.route is not None else self.index


@dataclass(frozen=True)
class Choice:
    """The device to open, and a note when the saved one was not found."""

    device: Device | None
    note: str | None = None


def sounddevice():
    """Import sounddevice, turning a missing PortAudio library into a Problem the voice tab can show."""
    try:
        import sounddevice as sd
    except (
        OSError,
        ImportError,
    ) as exc:  # the wheel has no PortAudio on Linux: Debian's libportaudio2 provides it
        raise ParleyError(
            Problem(
                Kind.AUDIO,
                "Audio is not available",
                f"The PortAudio library could not be loaded ({exc}).",
                "Install it (Debian/Ubuntu: sudo apt install libportaudio2), then restart Parley.",
                code=PORTAUDIO_MISSING,
            )
        ) from exc
    return sd


def list_devices(rescan: bool = False) -> list[Device]:
    """The sound server's real microphones and speakers where there is one (PulseAudio, PipeWire), else PortAudio's
    devices. PortAudio is loaded either way: it opens the streams."""
    sd = sounddevice()
    from app.audio.server import server_devices

    served = server_devices()
    if served and any(d.inputs for d in served) and any(d.outputs for d in served):
        return served
    if rescan:
        # PortAudio enumerates once at initialisation; re-initialise to see plugged/unplugged devices.
        sd._terminate()
        sd._initialize()
    try:
        default_in, default_out = sd.default.device
    except Exception:  # noqa: BLE001
        default_in = default_out = -1
    hostapis = sd.query_hostapis()
    devices = []
    for info in sd.query_devices():
        devices.append(
            Device(
                index=int(info["index"]),
                name=str(info["name"]),
                hostapi=str(hostapis[info["hostapi"]]["name"]),
                inputs=int(info["max_input_channels"]),
                outputs=int(info["max_output_channels"]),
                default_samplerate=float(info["default_samplerate"]),
                is_default_input=int(info["index"]) == default_in,
                is_default_output=int(info["index"]) == default_out,
            )
        )
    return devices


def choose(devices: list[Device], saved_name: str | None, *, kind: str) -> Choice:
    """Pick the saved device by name, else the system default, saying so when the saved one is gone."""
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    if not usable:
        return Choice(None, f"No {kind} device found.")
    if saved_name:
        for d in usable:
            if d.name == saved_name:
                return Choice(d)
    default = next(
        (d for d in usable if (d.is_default_input if kind == "input" else d.is_default_output)), usable[0]
    )
    if saved_name and saved_name not in PORTAUDIO_ALIASES:
        return Choice(default, f"'{saved_name}' is not connected; using '{default.name}'.")
    return Choice(default)


def no_input_problem() -> Problem:
    return Problem(
        Kind.AUDIO,
        "No microphone found",
        "Parley found no audio input device.",
        "Connect a microphone (or allow microphone access in your system settings), then press Refresh.",
    )


def open_failed_problem(device_name: str, exc: BaseException) -> Problem:
    text = str(exc)
    if "denied" in text.lower() or "permission" in text.lower():
        return Problem(
            Kind.AUDIO,
            "Microphone access denied",
            f"The system refused access to '{device_name}'.",
            "Allow Parley to use the microphone in your system's privacy settings, then try again.",
        )
    return Problem(
        Kind.AUDIO,
        "Could not open the audio device",
        f"'{device_name}': {text}",
        "Choose another device or press Refresh.",
    )
