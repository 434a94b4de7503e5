"""app.ui.tools: see docs/ARCHITECTURE.md."""
