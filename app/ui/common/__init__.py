"""app.ui.common: see docs/ARCHITECTURE.md."""
