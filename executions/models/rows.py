"""Whole rows read by SQL built once, made into model instances as the ORM makes them;
and a user's permissions read in one query.

For the hottest reads only, those of nearly every API request: the token (with its
user and the user's permissions) and one execution. The ORM builds and compiles
their SQL again on every query, about 0.3 ms each on this project's wide rows, a
third of what a small request spends beyond Django's own cost (docs/benchmarks.md,
"API latency"). Here a read's SQL is written once per database from the models'
metadata (tables, columns), and each row's values go through the same converters
the ORM applies (the backend's, then the field's) into ``Model.from_db``: the
instances are those a queryset gives.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections
from django.db.models import Model


class Rows:
    """How to read whole rows of ``model``: its columns for a SELECT, and an instance
    from those columns' values."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self._converters: dict[str, list[tuple[Any, list[Any]]]] = {}

    def __len__(self) -> int:
        """How many values of a row are this model's."""
        return len(self.fields)

    def columns(self, alias: str, table: str) -> str:
        """The model's columns, in order, of the table (or the table's alias) ``table``."""
        quote = connections[alias].ops.quote_name
        return ", ".join(f"{table}.{quote(field.column)}" for field in self.fields)

    def make(self, alias: str, values: tuple[Any, ...] | list[Any]) -> Any:
        """The instance the ORM makes of a row read from database ``alias``."""
        connection = connections[alias]
        converters = self._converters.get(alias)
        if converters is None:
            converters = self._converters[alias] = [
                (column, [*connection.ops.get_db_converters(column),
                          *column.get_db_converters(connection)])
                for column in (field.get_col(self.model._meta.db_table)
                               for field in self.fields)]
        converted = []
        for value, (column, functions) in zip(values, converters, strict=True):
            for convert in functions:
                value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(alias, self.attnames, converted)


# a user's permissions ---------------------------------------------------------------

#: The string aggregate of each database :func:`permissions_subquery` knows.
_AGGREGATES = {"postgresql": "STRING_AGG", "sqlite": "GROUP_CONCAT"}
#: Between two permissions in :func:`permissions_subquery`'s value (ASCII's unit separator:
#: app labels are identifiers, and no codename holds control characters).
_SEPARATOR = "\x1f"


def permissions_subquery(alias: str, holder: str) -> tuple[str, list[str]] | None:
    """SQL and parameters of a scalar subquery whose value is every permission of the
    user whose id is the SQL expression ``holder`` (a column of the outer query), for
    :func:`set_permissions_from`; None on a database it has no string aggregate for.
    Loading them with the row that names the user saves a round trip."""
    from django.db import connections

    aggregate = _AGGREGATES.get(connections[alias].vendor)
    if aggregate is None:
        return None
    return (f"(SELECT {aggregate}(h.perm, %s) FROM ({permissions_query(alias, holder)}) h)",
            [_SEPARATOR])


def set_permissions_from(user: Any, held: str | None) -> None:
    """Give ``user`` their permissions from the value of :func:`permissions_subquery`
    read with them."""
    if not user.is_superuser:
        set_permissions(user, held.split(_SEPARATOR) if held else [])


def set_permissions(user: Any, held: list[str]) -> None:
    """Give ``user`` their permissions (rows of :func:`permissions_query`) for the rest
    of the request: the caches Django's ``ModelBackend`` keeps on the user object
    (``_user_perm_cache``, ``_group_perm_cache``), which it reads instead of asking the
    database (``executions.access.permissions.load_permissions``)."""
    own: set[str] = set()
    groups: set[str] = set()
    for perm in held:
        source, _, code = perm.partition(":")
        (own if source == "u" else groups).add(code)
    user._user_perm_cache = own
    user._group_perm_cache = groups


@functools.cache
def permissions_query(alias: str, holder: str) -> str:
    """A query of each permission the user whose id is ``holder`` (``%s`` or a column)
    holds, as ``u:app_label.codename`` (their own) or ``g:…`` (their groups'), as
    ``ModelBackend`` finds them (tables and columns named by the models, so a custom
    user model works too)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db import connections

    quote = connections[alias].ops.quote_name
    user_model = get_user_model()
    content_type = Permission._meta.get_field("content_type")

    def through(model: Any, field: str) -> Any:
        return model._meta.get_field(field).remote_field.through

    def table(model: Any) -> str:
        return quote(model._meta.db_table)

    def column(model: Any, to: Any) -> str:
        """The column of ``model`` (a many-to-many table) that points at ``to``."""
        return quote(next(f.column for f in model._meta.fields
                          if f.is_relation and f.related_model is to))

    def code(source: str) -> str:
        return f"'{source}:' || ct.{quote('app_label')} || '.' || p.{quote('codename')}"

    own, member, granted = (through(user_model, "user_permissions"),
                            through(user_model, "groups"), through(Group, "permissions"))
    content_types = (f"JOIN {table(content_type.related_model)} ct "
                     f"ON ct.{quote(content_type.related_model._meta.pk.column)} = "
                     f"p.{quote(content_type.column)}")
    pk = quote(Permission._meta.pk.column)
    return (
        f"SELECT {code('u')} AS perm FROM {table(own)} x "
        f"JOIN {table(Permission)} p ON p.{pk} = x.{column(own, Permission)} "
        f"{content_types} WHERE x.{column(own, user_model)} = {holder} "
        "UNION ALL "
        f"SELECT {code('g')} AS perm FROM {table(member)} m "
        f"JOIN {table(granted)} x ON x.{column(granted, Group)} = m.{column(member, Group)} "
        f"JOIN {table(Permission)} p ON p.{pk} = x.{column(granted, Permission)} "
        f"{content_types} WHERE m.{column(member, user_model)} = {holder}"
    )
