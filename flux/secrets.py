"""Secrets for tasks that ask for them, and keeping them out of the log.

A task declared with ``secret_requests=["API_KEY"]`` receives
``secrets={"API_KEY": value}``. Values come from a :class:`SecretProvider`:
by default :class:`EnvSecretProvider` reads ``FLUX_SECRET_<NAME>``; the Django
runtime installs one that reads encrypted values from its database.

No secret value is ever written to the store: task arguments never include
``secrets``, and any value about to be recorded is scrubbed. A recorded value
that *equals* a secret is stored as ``{"$t": "secret", "name": NAME}`` and
comes back as the real value on replay; a longer string that *contains* a
secret is stored with the secret replaced by ``***`` (that part is lost).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flux.errors import SecretNotFoundError

REDACTED = "***"


class SecretProvider:
    """Looks secrets up by name. Subclass and override :meth:`get_many`."""

    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        raise NotImplementedError

    def get(self, name: str) -> str:
        return self.get_many([name])[name]


class EnvSecretProvider(SecretProvider):
    """``FLUX_SECRET_<NAME>`` environment variables."""

    prefix = "FLUX_SECRET_"

    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        names = list(names)
        found = {n: os.environ.get(self.prefix + n) for n in names}
        missing = [n for n, v in found.items() if v is None]
        if missing:
            raise SecretNotFoundError(
                missing, "Set " + ", ".join(self.prefix + n for n in missing) + "."
            )
        return {n: v for n, v in found.items() if v is not None}


class DictSecretProvider(SecretProvider):
    """Secrets from a mapping (tests, scripts)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        names = list(names)
        missing = [n for n in names if n not in self.values]
        if missing:
            raise SecretNotFoundError(missing)
        return {n: self.values[n] for n in names}


def scrub(value: Any, secrets: Mapping[str, str]) -> Any:
    """Replace secret values inside an encoded (JSON-compatible) value."""
    if not secrets:
        return value
    by_value = {v: k for k, v in secrets.items() if v}
    return _scrub(value, by_value)


def _scrub(value: Any, by_value: dict[str, str]) -> Any:
    if isinstance(value, str):
        name = by_value.get(value)
        if name is not None:
            return {"$t": "secret", "name": name}
        for secret in by_value:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list):
        return [_scrub(v, by_value) for v in value]
    if isinstance(value, dict):
        return {_scrub_key(k, by_value): _scrub(v, by_value) for k, v in value.items()}
    return value


def _scrub_key(key: str, by_value: dict[str, str]) -> str:
    for secret in by_value:
        if secret in key:
            key = key.replace(secret, REDACTED)
    return key


def restore(value: Any, lookup: Callable[[str], Any]) -> Any:
    """Put secrets back into a decoded value (``lookup(name) -> value``)."""
    if isinstance(value, dict):
        if value.get("$t") == "secret" and "name" in value:
            return lookup(value["name"])
        return {k: restore(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [restore(v, lookup) for v in value]
    if isinstance(value, tuple):
        return tuple(restore(v, lookup) for v in value)
    return value


def has_secret_marker(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("$t") == "secret":
            return True
        return any(has_secret_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secret_marker(v) for v in value)
    return False
