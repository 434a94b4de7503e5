"""Shared fixtures: an isolated PARLEY_HOME per test, the emulator, and a guard against leaked QThreads."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# In-test keyring backends (dict, locked, none) and a fake Entra ID credential, as fixtures.
pytest_plugins = ["fake_keyrings"]


@pytest.fixture(autouse=True)
def parley_home(tmp_path, monkeypatch):
    """Every test gets its own config/data/log folders and no Azure credentials from the developer's shell."""
    home = tmp_path / "parley-home"
    monkeypatch.setenv("PARLEY_HOME", str(home))
    for var in (
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "OPENAI_API_VERSION",
        "AZURE_OPENAI_AD_TOKEN",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def emulator():
    from app.emulator import Emulator

    with Emulator(token_rate=0) as emu:
        yield emu


@pytest.fixture
def services(qtbot):
    """AppServices connected in demo mode (the in-process emulator), as the window has them."""
    from app.ui.common.services import AppServices

    services = AppServices(demo=True)
    with qtbot.waitSignal(services.connection_changed, timeout=30000):
        services.reconnect()
    # The demo chat model "thinks" 1.5 s before answering, as reasoning models do; tests that are about thinking ask
    # for it (`think:N`), the rest should not wait for it on every turn.
    services.connection.emulator.think_seconds = 0.0
    yield services
    services.shutdown()


@pytest.fixture(autouse=True)
def no_leaked_threads(request):
    yield
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        return
    from app.ui.common import workers

    # A job the test cancelled may take a moment to end; one still running after 3 s was left behind.
    leaked = [job for job in workers.active_jobs() if not job.wait(3000)]
    workers.shutdown(3000)
    # A test's widgets and services can end up in reference cycles; collect them here, on the GUI thread. Left to
    # chance, the collector may run on a later test's worker thread and destroy Qt objects there (a segfault).
    import gc

    gc.collect()
    # What survived is alive for good (modules, classes, caches): out of the collector's sight, so the next
    # collection scans only what later tests make (a full one of PySide6 + openai's ~100,000 objects cost 45 ms of
    # CPU after every test, a third of the everyday loop).
    gc.freeze()
    assert not leaked, f"test left background jobs running: {[j.name for j in leaked]}"
