"""app.ui.chat: see docs/ARCHITECTURE.md."""
