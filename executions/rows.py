"""Whole rows read by SQL built once, made into model instances as the ORM makes them.

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
