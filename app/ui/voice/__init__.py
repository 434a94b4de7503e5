"""app.ui.voice: see docs/ARCHITECTURE.md."""
