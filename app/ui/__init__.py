"""Qt widgets and the background worker; the only package that imports Qt."""
