"""Values stored as JSON round-trip faithfully; errors keep their chain; secrets stay out."""

from __future__ import annotations

import dataclasses
import enum
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel

from flux import task, workflow
from flux.domain.events import ExecutionEventType as T
from flux.errors import ExecutionError, RetryError, SerializationError
from flux.secrets import DictSecretProvider
from flux.serialization import decode, decode_error, encode, encode_error
from flux.tasks import parallel


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


@dataclasses.dataclass
class Point:
    x: int
    y: float
    tags: tuple = ()


class Invoice(BaseModel):
    number: int
    total: Decimal
    issued: date


VALUES = [
    None, True, 3, 2.5, "text", [1, "a"], {"a": {"b": [None]}},
    float("inf"), datetime(2026, 11, 23, 1, 2, 3, 456, tzinfo=UTC), date(2026, 1, 2),
    timedelta(days=1, seconds=5, microseconds=7), uuid.UUID(int=12345), Decimal("12.3400"),
    b"\x00\xffbytes", (1, (2, "x")), {1, 2, 3}, frozenset({"a"}), Color.RED, Color.BLUE,
    Point(1, 2.5, ("a",)), Invoice(number=7, total=Decimal("9.99"), issued=date(2026, 5, 1)),
    {1: "int key", (2, 3): "tuple key"}, {"$t": "user data that looks like a tag"},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_values_round_trip_through_json(value):
    stored = json.loads(json.dumps(encode(value)))
    back = decode(stored)
    assert back == value and type(back) is type(value)


async def test_rich_values_survive_a_workflow_and_replay(store):
    @task
    async def produce():
        return {"when": datetime(2026, 1, 1, tzinfo=UTC), "point": Point(1, 2.0),
                "ids": {uuid.UUID(int=1)}}

    @workflow
    async def wf(ctx):
        return await produce()

    ctx = await wf.run()
    again = await wf.run(execution_id=ctx.execution_id)
    assert again.output == ctx.output == {"when": datetime(2026, 1, 1, tzinfo=UTC),
                                          "point": Point(1, 2.0), "ids": {uuid.UUID(int=1)}}


async def test_a_value_that_cannot_be_stored_names_the_task_and_the_type():
    class Opaque:
        pass

    @task
    async def leaky():
        return Opaque()

    @workflow
    async def wf(ctx):
        return await leaky()

    ctx = await wf.run()
    assert ctx.has_failed
    assert "the result of task 'leaky'" in ctx.error["message"]
    assert "Opaque" in ctx.error["message"]


def test_bad_workflow_input_is_refused_before_anything_is_written(store):
    @workflow
    async def wf(ctx):
        return ctx.input

    with pytest.raises(SerializationError, match="input of workflow 'wf'"):
        wf.run_sync(object())
    assert store.list() == []


def test_errors_keep_their_cause_chain_through_serialization():
    try:
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise ValueError("middle") from e
    except ValueError as e:
        err = ExecutionError(RetryError(e, attempts=3), task_name="t")
    data = json.loads(json.dumps(encode_error(err)))
    assert [data["type"], data["cause"]["type"], data["cause"]["cause"]["type"],
            data["cause"]["cause"]["cause"]["type"]] == ["ExecutionError", "RetryError",
                                                         "ValueError", "KeyError"]
    assert data["cause"]["message"].startswith("Gave up after 3 attempts")
    back = decode_error(data)
    assert isinstance(back, ExecutionError) and isinstance(back.inner_exception, RetryError)
    assert back.inner_exception.attempts == 3
    assert isinstance(back.inner_exception.inner_exception, ValueError)
    assert str(back.inner_exception.inner_exception.__cause__) == "'inner'"


async def test_secrets_never_reach_the_store_even_when_returned_or_passed_on(store):
    import flux.config

    flux.config.configure(secrets=DictSecretProvider({"TOKEN": "tok-XYZ-123"}))

    @task.with_options(secret_requests=["TOKEN"])
    async def login(user: str, secrets: dict = {}):  # noqa: B006
        return secrets["TOKEN"]

    @task
    async def use(token: str) -> str:
        if token != "tok-XYZ-123":
            raise ValueError("wrong token")
        return f"used {token} ok"

    @workflow
    async def wf(ctx):
        token = await login("ann")
        assert token == "tok-XYZ-123"  # also when replayed from the log
        return {"raw": token, "sentence": await use(token)}

    ctx = await wf.run()
    dump = json.dumps([e.to_dict() for e in store.events(ctx.execution_id)], default=str)
    dump += repr(store.get(ctx.execution_id))
    assert "tok-XYZ-123" not in dump
    # replay restores the exact secret for code that needs it
    again = await wf.run(execution_id=ctx.execution_id)
    assert again.has_succeeded
    assert ctx.output == {"raw": "***", "sentence": "used *** ok"}  # as stored


async def test_a_required_secrets_parameter_is_filled_in():
    @task.with_options(secret_requests=["API_KEY"])
    async def call_api(endpoint: str, secrets: dict) -> str:
        return f"{endpoint}:{len(secrets['API_KEY'])}"

    @workflow
    async def wf(ctx):
        return await call_api("/v1")

    assert (await wf.run()).output == "/v1:10"


async def test_a_missing_secret_fails_the_task_with_a_clear_message():
    @task.with_options(secret_requests=["NOPE"])
    async def needs():
        return 1

    @workflow
    async def wf(ctx):
        return await needs()

    ctx = await wf.run()
    assert ctx.has_failed and "NOPE" in ctx.error["message"]


async def test_sync_tasks_run_off_the_loop_and_overlap_in_parallel():
    @task
    def blocking(i):
        time.sleep(0.3)
        return i

    @workflow
    async def wf(ctx):
        return await parallel(blocking(1), blocking(2), blocking(3))

    started = time.monotonic()
    ctx = await wf.run()
    assert ctx.output == [1, 2, 3] and time.monotonic() - started < 0.8


async def test_nested_tasks_record_their_parent():
    @task
    async def child(x):
        return x + 1

    @task
    async def parent(x):
        return await child(x) + await child(x + 10)

    @workflow
    async def wf(ctx):
        return await parent(1)

    ctx = await wf.run()
    assert ctx.output == 14
    starts = {e.name: e for e in ctx.events if e.type is T.TASK_STARTED}
    parent_id = starts["parent"].source_id
    children = [e for e in ctx.events if e.type is T.TASK_STARTED and e.name == "child"]
    assert [c.parent_id for c in children] == [parent_id, parent_id]
    assert starts["parent"].parent_id is None
