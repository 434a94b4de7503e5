"""Local audio (no Qt): sounddevice recording and playback, voice activity detection, WAV/PCM helpers."""
