"""A Flux user's workflows run here unchanged: behaviours a flux-core program observes.

Each test names what flux-core does that a workflow written for it relies on
(issue 12); deliberate differences are in docs/workflows.md, "Differences from
flux-core".
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel

from flux import ExecutionContext, workflow
from flux.errors import InvalidInputError

# 1. typed input that is not plain JSON -----------------------------------------------

@dataclasses.dataclass
class Point:
    x: int
    y: int


class Order(BaseModel):
    number: int
    total: Decimal


TYPED_INPUTS = [
    (tuple[int, str], (1, "a")),
    (datetime, datetime(2026, 1, 2, 3, 4, tzinfo=UTC)),
    (uuid.UUID, uuid.UUID(int=7)),
    (Decimal, Decimal("12.50")),
    (set[int], {1, 2}),
    (Point, Point(1, 2)),
    (Order, Order(number=3, total=Decimal("9.99"))),
    (dict[int, str], {1: "one", 2: "two"}),
]


@pytest.mark.parametrize(("kind", "value"), TYPED_INPUTS, ids=lambda v: str(v)[:20])
async def test_typed_input_of_exactly_its_type_is_accepted(kind, value):
    async def echo(ctx):
        return ctx.input

    echo.__annotations__["ctx"] = ExecutionContext[kind]
    wf = workflow.with_options(name=f"typed_{abs(hash(str(kind)))}")(echo)

    ctx = await wf.run(value)

    assert ctx.has_succeeded, ctx.error
    assert ctx.output == value and type(ctx.output) is type(value)


async def test_typed_input_of_another_type_is_still_refused():
    @workflow
    async def wants_points(ctx: ExecutionContext[Point]):
        return ctx.input

    with pytest.raises(InvalidInputError, match="does not match"):
        await wants_points.run({"x": "not a number", "y": 2})
