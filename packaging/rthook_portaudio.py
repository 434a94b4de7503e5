# PyInstaller runtime hook: make sounddevice load the PortAudio library shipped inside the bundle.
# On Linux sounddevice asks ctypes.util.find_library("portaudio"), which only searches the system; the bundle's
# own copy (collected by parley.spec) must win so the app works where libportaudio2 is not installed.
import ctypes.util
import os
import sys

_bundle = getattr(sys, "_MEIPASS", None)
_bundled = os.path.join(_bundle, "libportaudio.so.2") if _bundle else None
_find = ctypes.util.find_library


def _find_library(name):
    if name == "portaudio" and _bundled and os.path.exists(_bundled):
        return _bundled
    return _find(name)


ctypes.util.find_library = _find_library
