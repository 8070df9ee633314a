"""What a start may carry besides the input: an idempotency key, a priority, tags, and
the concurrency slot it will need. Checked here once for every door (``commands.start``).

* ``idempotency_key``: up to 200 characters; unique per workflow (a database
  constraint), so the same key for the same workflow gives the same execution.
* ``priority``: an integer from -1000 to 1000, higher first, in the queue and among
  runs waiting for a concurrency slot.
* ``tags``: an object of up to 20 strings; keys of letters, digits, ``_ - .`` (up to
  100), values up to 200 characters. Lists filter on them (``?tag=KEY:VALUE``,
  ``flux runs list --tag KEY=VALUE``): :func:`filter_tags`.
* Concurrency (:func:`concurrency_for`): the workflow's ``concurrency=`` option, or
  ``FLUX_CONCURRENCY[workflow]`` (which wins), gives a slot key and its limit: the
  workflow's name, or with a ``key`` expression (CEL over ``input``), the name and the
  key's value, so each value has its own slots.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform

from executions.core.conf import app_settings
from flux.errors import InvalidInputError
from flux.schedule import Concurrency, ScheduleError

MAX_KEY = 200
PRIORITY_RANGE = (-1000, 1000)
MAX_TAGS = 20
TAG_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_TAG_VALUE = 200


def check_idempotency_key(key: Any) -> str | None:
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > MAX_KEY or not key.strip():
        raise InvalidInputError(f"The idempotency key must be text of 1 to {MAX_KEY} "
                                f"characters, not {_show(key)}.")
    return key


def check_priority(priority: Any) -> int:
    low, high = PRIORITY_RANGE
    if priority is None:
        return 0
    if isinstance(priority, bool) or not isinstance(priority, int) or not (
            low <= priority <= high):
        raise InvalidInputError(f"The priority must be a whole number from {low} to {high} "
                                f"(higher runs first), not {_show(priority)}.")
    return priority


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInputError(f"Tags are an object of strings, e.g. {{\"team\": \"billing\"}}, "
                                f"not {_show(tags)}.")
    if len(tags) > MAX_TAGS:
        raise InvalidInputError(f"At most {MAX_TAGS} tags; got {len(tags)}.")
    for key, value in tags.items():
        check_tag_key(key)
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise InvalidInputError(f"Tag '{key}' must be text of at most {MAX_TAG_VALUE} "
                                    f"characters, not {_show(value)}.")
    return dict(tags)


def check_tag_key(key: Any) -> str:
    if not isinstance(key, str) or not TAG_KEY.match(key):
        raise InvalidInputError(f"A tag's name is letters, digits, '_', '-' and '.' (up to "
                                f"100, starting with a letter or digit), not {_show(key)}.")
    return key


def parse_tag_filters(values: Iterable[str], sep: str) -> list[tuple[str, str]]:
    """``["team:billing"]`` (``sep`` ``:``, the API) or ``team=billing`` (the CLI) as
    pairs; InvalidInputError for one without the separator or with a bad name."""
    pairs = []
    for text in values:
        key, found, value = text.partition(sep)
        if not found:
            raise InvalidInputError(f"A tag filter is KEY{sep}VALUE, not {_show(text)}.")
        pairs.append((check_tag_key(key), value))
    return pairs


def filter_tags(rows: QuerySet, pairs: Iterable[tuple[str, str]]) -> QuerySet:
    """Only the executions with every ``(key, value)`` tag."""
    for i, (key, value) in enumerate(pairs):
        rows = rows.alias(**{f"_tag{i}": KeyTransform(key, "tags")}).filter(
            **{f"_tag{i}": value})
    return rows


# concurrency ------------------------------------------------------------------------

def concurrency_setting(workflow: Any) -> Concurrency | None:
    """FLUX_CONCURRENCY's entry for the workflow, else its ``concurrency=`` option."""
    configured = app_settings().concurrency
    if workflow.name in configured:
        try:
            return Concurrency.of(configured[workflow.name])
        except ScheduleError as exc:
            raise InvalidInputError(f"FLUX_CONCURRENCY['{workflow.name}']: {exc}") from None
    return getattr(workflow, "concurrency", None)


def concurrency_for(workflow: Any, input: Any) -> tuple[str, int] | None:
    """The slot key and limit a run of ``workflow`` with ``input`` needs (None: no limit).
    InvalidInputError when the key expression cannot be read from the input."""
    setting = concurrency_setting(workflow)
    if setting is None:
        return None
    if setting.key is None:
        return workflow.name, setting.limit
    return f"{workflow.name}:{key_value(setting.key, input)}", setting.limit


@functools.lru_cache(maxsize=256)
def compiled_key(expression: str) -> Any:
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(expression))


def key_value(expression: str, input: Any) -> str:
    """The CEL ``expression`` evaluated with ``input`` bound, as text."""
    from celpy import adapter
    from celpy.evaluation import CELEvalError

    try:
        value = compiled_key(expression).evaluate({"input": adapter.json_to_cel(input)})
    except Exception as exc:
        raise InvalidInputError(f"The concurrency key `{expression}` cannot be read from "
                                f"this input: {exc}") from None
    if isinstance(value, CELEvalError):
        raise InvalidInputError(f"The concurrency key `{expression}` cannot be read from "
                                f"this input: {value.args[0] if value.args else value}")
    return str(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
