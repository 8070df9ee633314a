"""Secrets stored encrypted in the database, and the engine's provider that reads them.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from ``settings.FLUX_SECRETS_KEY`` (comma-separated to rotate: the first key
encrypts, every key decrypts). In the embedded shape an unset key is derived
from ``SECRET_KEY``; the scaled shape refuses to start without one
(``fluxweb/settings.py``). A value is written by :func:`set_secret` (the admin,
``manage.py flux secret set``, ``PUT /api/secrets/{name}``) and read back only
by :class:`DatabaseSecretProvider`, which ``ExecutionsConfig.ready`` installs
into the engine (``flux.config.configure(secrets=...)``): tasks with
``secret_requests`` get the values (a name not in the table falls back to the
``FLUX_SECRET_<NAME>`` environment variable, as standalone), and the engine scrubs
them from every recorded value. Nothing else ever decrypts.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ValidationError

from executions.core import dbsync
from flux.errors import SecretNotFoundError
from flux.secrets import EnvSecretProvider, SecretProvider

#: Secret names: letters, digits and underscores, starting with a letter (like env vars).
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,199}$")


def validate_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise ValidationError(
            f"{name!r} is not a valid secret name: use letters, digits and underscores, "
            "starting with a letter (e.g. STRIPE_API_KEY).")
    return name


def _fernet_key(material: str) -> bytes:
    digest = hashlib.sha256(b"fluxweb-secrets\x00" + material.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def cipher() -> MultiFernet:
    """The Fernet keys from FLUX_SECRETS_KEY (else derived from SECRET_KEY)."""
    configured = getattr(settings, "FLUX_SECRETS_KEY", "") or ""
    materials = [k.strip() for k in configured.split(",") if k.strip()]
    if not materials:
        materials = [settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(m)) for m in materials])


def encrypt(value: str) -> bytes:
    return cipher().encrypt(value.encode())


def decrypt(token: bytes) -> str:
    try:
        return cipher().decrypt(bytes(token)).decode()
    except InvalidToken:
        raise SecretNotFoundError([], "A stored secret cannot be decrypted with "
                                      "FLUX_SECRETS_KEY: was the key changed? Keep the old key "
                                      "after the new one (comma-separated) to rotate.") from None


def set_secret(name: str, value: str, *, actor: str = "", description: str | None = None):
    """Create or replace the secret ``name``."""
    from executions.models import Secret

    validate_name(name)
    if not isinstance(value, str) or not value:
        raise ValidationError("A secret's value must be a non-empty string.")
    defaults = {"ciphertext": encrypt(value), "updated_by": actor or ""}
    if description is not None:
        defaults["description"] = description
    secret, _ = Secret.objects.update_or_create(name=name, defaults=defaults)
    return secret


def delete_secret(name: str) -> bool:
    from executions.models import Secret

    deleted, _ = Secret.objects.filter(name=name).delete()
    return bool(deleted)


def read_secrets(names: Iterable[str]) -> dict[str, str]:
    """Decrypted values by name (only those that exist)."""
    from executions.models import Secret

    rows = Secret.objects.filter(name__in=list(names)).values_list("name", "ciphertext")
    return {name: decrypt(ciphertext) for name, ciphertext in rows}


class DatabaseSecretProvider(SecretProvider):
    """The engine's secrets, from the Secret table (decrypted on each request).

    The engine asks from inside its event loop, where Django refuses queries; the
    query runs there anyway, with the loop hidden (see :mod:`executions.core.dbsync`).
    """

    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        found = dbsync.call(read_secrets, names)
        for name in names:  # the standalone engine's FLUX_SECRET_<NAME> still works
            if name not in found and os.environ.get(EnvSecretProvider.prefix + name):
                found[name] = os.environ[EnvSecretProvider.prefix + name]
        missing = [n for n in names if n not in found]
        if missing:
            raise SecretNotFoundError(
                missing, "Set them with `manage.py flux secret set NAME` or in the admin.")
        return found


def install() -> None:
    """Make the engine read secrets from the database (no query until one is asked)."""
    from flux import config

    config.configure(secrets=DatabaseSecretProvider())
