"""app.ui.images: see docs/ARCHITECTURE.md."""
