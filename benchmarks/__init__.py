"""Benchmarks: each module prints one JSON line of figures and exits non-zero only past generous ceilings."""
