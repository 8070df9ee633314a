"""API tokens and encrypted secrets (imported by ``executions.models``).

A :class:`Token` stores only the SHA-256 of its value: the raw token is shown
once, when it is made (``Token.issue``), and cannot be recovered. A
:class:`Secret` stores its value encrypted with Fernet (``executions.core.secrets_store``
holds the key handling); nothing reads it back except the engine's secret provider.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, models, router
from django.utils import timezone

from executions.models import rows
from executions.models.rows import Rows

#: Raw tokens look like ``flux_<43 url-safe characters>`` (256 bits).
TOKEN_PREFIX = "flux_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> TokenQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class Token(models.Model):
    """A bearer token for the REST API, owned by a user; acts with the user's permissions."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    #: The first characters of the raw token, to tell tokens apart in lists.
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'}, {self.user})"

    @classmethod
    def issue(cls, user, name: str = "", expires_in: timedelta | None = None
              ) -> tuple[Token, str]:
        """A new token for ``user`` and its raw value (the only time it exists)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = timezone.now() + expires_in if expires_in else None
        token = cls.objects.create(user=user, name=name, key_hash=hash_token(raw),
                                   prefix=raw[:12], expires_at=expires_at)
        return token, raw

    @classmethod
    def authenticate(cls, raw: str) -> Token | None:
        """The live token with this value (and mark it used), or None. Its user comes
        with it, and the user's permissions too, in one query (:func:`_read_token`)."""
        if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        token = _read_token(hash_token(raw))
        if token is None or token.status != "active" or not token.user.is_active:
            return None
        now = timezone.now()
        # At most one write a minute per token.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def to_dict(self) -> dict:
        return {
            "id": self.pk,
            "user": self.user.get_username(),
            "name": self.name,
            "prefix": self.prefix,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
        }


class Secret(models.Model):
    """A named secret for tasks' ``secret_requests``; the value is stored encrypted."""

    name = models.CharField(max_length=200, unique=True)
    ciphertext = models.BinaryField(editable=False)
    description = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["name"]
        permissions = [("manage_secrets", "Can set, list and delete secrets")]

    def __str__(self) -> str:
        return self.name

    def to_dict(self) -> dict:
        """Everything but the value."""
        return {"name": self.name, "description": self.description,
                "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
                "updated_by": self.updated_by}


def _read_token(key_hash: str) -> Token | None:
    """The token with this hash (revoked or expired too: ``status`` tells), its user,
    and the user's permissions (``rows.permissions_subquery``, where the database
    allows; else they are read when first asked), in one query whose SQL is built once
    (``executions.models.rows``): every API request with a token starts here."""
    alias = router.db_for_read(Token)
    sql, params, (token_rows, user_rows) = _token_sql(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [*params, key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    token = token_rows.make(alias, row[:len(token_rows)])
    token.user = user_rows.make(alias, row[len(token_rows):len(token_rows) + len(user_rows)])
    if params:
        rows.set_permissions_from(token.user, row[-1])
    return token


@functools.cache
def _token_sql(alias: str) -> tuple[str, list[str], tuple[Rows, Rows]]:
    from django.contrib.auth import get_user_model

    quote = connections[alias].ops.quote_name
    user_model = get_user_model()
    token_rows, user_rows = Rows(Token), Rows(user_model)
    user_id = quote(Token._meta.get_field("user").column)
    held = rows.permissions_subquery(alias, f"t.{user_id}")
    sql = (f"SELECT {token_rows.columns(alias, 't')}, {user_rows.columns(alias, 'u')}, "
           f"{held[0] if held else 'NULL'} "
           f"FROM {quote(Token._meta.db_table)} t JOIN {quote(user_model._meta.db_table)} u "
           f"ON u.{quote(user_model._meta.pk.column)} = t.{user_id} "
           f"WHERE t.{quote(Token._meta.get_field('key_hash').column)} = %s")
    return sql, held[1] if held else [], (token_rows, user_rows)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
