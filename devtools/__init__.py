"""Helpers that tests/ and benchmarks/ share (the GUI stall probe, the private PulseAudio rig); never installed,
never imported by app/: importable because the repository root is the working directory (pytest's pythonpath)."""
