"""Workflows the API tests run (registered when tests/api/conftest.py imports this)."""

from __future__ import annotations

from typing import TypedDict

from flux import ExecutionContext, task, workflow
from flux.tasks import pause


class Greeting(TypedDict):
    name: str


@task
async def greet(name: str) -> str:
    return f"Hello, {name}"


@workflow
async def api_hello(ctx: ExecutionContext[Greeting]) -> str:
    """Greets; its input must be {"name": str}."""
    return await greet(ctx.input["name"])


@workflow
async def api_pause(ctx: ExecutionContext[None]) -> dict:
    """Waits for a person."""
    answer = await pause("go_ahead", title="Go ahead?")
    return {"answer": answer}


@task
async def explode() -> None:
    raise RuntimeError("boom")


@workflow
async def api_fail(ctx: ExecutionContext[None]) -> None:
    """Fails in its task."""
    await explode()


@task.with_options(secret_requests=["API_TEST_SECRET"])
async def fetch_key(secrets: dict[str, str] | None = None) -> str:
    """Returns the secret itself: the engine must never record it."""
    return (secrets or {})["API_TEST_SECRET"]


@task
async def use_key(key: str) -> dict:
    """Takes the secret as its input and returns it, embedded and plain."""
    return {"header": f"Bearer {key}", "key": key}


@workflow
async def api_leaky(ctx: ExecutionContext[None]) -> dict:
    """Does everything it can to leak a secret into the log."""
    key = await fetch_key()
    used = await use_key(key)
    return {"key": key, **used}
