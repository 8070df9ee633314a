"""Engine configuration: ``flux.configure(...)`` and where defaults come from.

Options that a workflow can also set (``recover_on_worker_loss``,
``max_recovery_attempts``) resolve in this order, first found wins:

1. the workflow's own ``@workflow.with_options(...)``;
2. ``flux.configure(...)`` called by the application;
3. the runtime's settings (the Django runtime passes its ``FLUX`` setting
   through :func:`set_runtime_defaults`);
4. the built-in defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from flux.secrets import SecretProvider
    from flux.store import Store

BUILTIN_DEFAULTS: dict[str, Any] = {
    "max_recovery_attempts": 3,
    "recover_on_worker_loss": None,  # None: True for durable, False for transient
    "lease_seconds": 30.0,
    "flush_delay": 0.05,
    # An event sent when nobody waits for it is kept this long for a later wait.
    "event_keep_seconds": 86_400.0,
}

_configured: dict[str, Any] = {}
_runtime: dict[str, Any] = {}
_state: dict[str, Any] = {"store": None, "secrets": None}


def configure(
    *,
    store: Any = None,
    secrets: Any = None,
    home: str | os.PathLike[str] | None = None,
    **options: Any,
) -> None:
    """Set engine-wide options for this process.

    ``store``: a :class:`flux.store.Store` (default: SQLite under ``FLUX_HOME``);
    ``secrets``: a :class:`flux.secrets.SecretProvider`; ``home``: the
    folder of the default SQLite store; other keyword arguments override
    :data:`BUILTIN_DEFAULTS` (``default_`` prefixes as in pyworkflow are accepted).
    """
    if store is not None:
        _state["store"] = store
    if secrets is not None:
        _state["secrets"] = secrets
    if home is not None:
        os.environ["FLUX_HOME"] = str(home)
        _state["store"] = None if store is None else store
    for key, value in options.items():
        key = key.removeprefix("default_")
        if key not in BUILTIN_DEFAULTS:
            raise TypeError(f"Unknown flux option '{key}'. Known: {', '.join(BUILTIN_DEFAULTS)}")
        _configured[key] = value


def set_runtime_defaults(values: dict[str, Any]) -> None:
    """Defaults from the hosting runtime's settings (lower priority than configure())."""
    _runtime.clear()
    _runtime.update({k.removeprefix("default_"): v for k, v in values.items()
                     if k.removeprefix("default_") in BUILTIN_DEFAULTS})


def reset() -> None:
    """Forget configure() and runtime defaults (tests)."""
    _configured.clear()
    _runtime.clear()
    _state.update(store=None, secrets=None)


def option(name: str, own: Any = None) -> Any:
    """Resolve an option: the workflow's own value, configure(), runtime, built-in."""
    if own is not None:
        return own
    if _configured.get(name) is not None:
        return _configured[name]
    if _runtime.get(name) is not None:
        return _runtime[name]
    return BUILTIN_DEFAULTS[name]


def home() -> Path:
    return Path(os.environ.get("FLUX_HOME") or ".flux")


def default_store() -> Store:
    """The configured store, or the SQLite file under FLUX_HOME (created on first use)."""
    store = _state["store"]
    if store is None:
        from flux.sqlite_store import SQLiteStore

        store = SQLiteStore(home() / "flux.db")
        _state["store"] = store
    return cast("Store", store)


def default_secrets() -> SecretProvider:
    provider = _state["secrets"]
    if provider is None:
        from flux.secrets import EnvSecretProvider

        provider = EnvSecretProvider()
        _state["secrets"] = provider
    return cast("SecretProvider", provider)
