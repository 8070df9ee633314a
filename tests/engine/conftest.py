"""Engine tests: no Django, a fresh store per test, and recorded retry delays."""

from __future__ import annotations

import pytest

import flux.config
import flux.registry
import flux.taskdef
import flux.workflowdef
from flux.secrets import DictSecretProvider
from flux.store import MemoryStore


@pytest.fixture(autouse=True)
def store(monkeypatch):
    """Each test gets an empty in-memory store as the engine's default (and no
    workflow resolvers a web app may have installed in this process)."""
    installed = list(flux.registry.resolvers)
    flux.registry.resolvers.clear()
    flux.config.reset()
    store = MemoryStore()
    flux.config.configure(store=store, secrets=DictSecretProvider({"API_KEY": "s3cr3t-key"}))
    yield store
    flux.config.reset()
    flux.registry.resolvers[:] = installed


@pytest.fixture
def delays(monkeypatch):
    """Retry delays are recorded instead of slept."""
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(flux.taskdef, "retry_sleep", fake_sleep)
    return waited
