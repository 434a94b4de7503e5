"""app.voice: see docs/ARCHITECTURE.md."""
