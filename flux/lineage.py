"""How executions descend from one another: a ``call``'s child and a
``continue_as_new``'s next execution get ids derived from their origin, so a replayed
or recovered run finds the execution it started instead of starting another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


def child_id(parent_id: str, call_id: str) -> str:
    """The id of the child a parent's call starts: the same on every replay."""
    return hashlib.sha256(f"{parent_id}/{call_id}".encode()).hexdigest()[:32]


def continuation_id(execution_id: str) -> str:
    """The id of the execution a ``continue_as_new`` of ``execution_id`` starts."""
    return hashlib.sha256(f"{execution_id}/continued".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ContinueAsNew:
    """Returned by a workflow: end this execution and start a fresh one of the same
    workflow with ``input`` (linked: ``continued_from`` / ``continued_as``)."""

    input: Any = None


def continue_as_new(input: Any = None) -> ContinueAsNew:
    """``return continue_as_new(next_input)``: this execution completes, and a new one
    of the same workflow starts with ``next_input`` and an empty log. A workflow that
    loops forever keeps each log short this way."""
    return ContinueAsNew(input)
