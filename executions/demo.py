"""Demo workflows: one small, fast workflow per feature a new user should see.

Registered when ``FLUX_DEMO`` is on (the default in the embedded shape; see
README). ``manage.py flux demo`` starts a few of them so the dashboard has
something to show. Each one's docstring says what to look at; each has a
typed input, so the Run form gets a schema.

| workflow | shows |
|---|---|
| ``demo_hello`` | the smallest workflow: one task |
| ``demo_retries`` | a task that fails, then succeeds on a retry (backoff 0.2 s, 0.4 s) |
| ``demo_fallback`` | a task that always fails; its fallback's value is used |
| ``demo_rollback`` | a failing task's rollback (clean-up) runs, then its fallback |
| ``demo_timeout`` | async and sync tasks stopped by their timeout |
| ``demo_parallel`` | ``task.map``, ``parallel`` and ``pipeline`` |
| ``demo_approval`` | ``pause`` for a person's approval, with a form schema |
| ``demo_sleep`` | a durable sleep: no worker is held while it waits |
| ``demo_graph`` | a ``Graph`` with conditional branches |
| ``demo_failure`` | a failing workflow (try ``flux runs retry ID``) |
| ``demo_deterministic`` | ``now``, ``uuid4``, ``randint``: the same values on replay |
| ``demo_secrets`` | a task that receives a secret that never reaches the log |
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, NotRequired, TypedDict

from pydantic import Field

from flux import ExecutionContext, task, workflow
from flux.errors import ExecutionError, RejectedError
from flux.tasks import Graph, now, parallel, pause, pipeline, randint, sleep, uuid4

# --- hello --------------------------------------------------------------------------


@task
async def say_hello(name: str) -> str:
    """Greet someone."""
    return f"Hello, {name}!"


@workflow
async def demo_hello(ctx: ExecutionContext[str]) -> str:
    """The smallest workflow: one task, its result recorded. Input: a name, e.g. "Ada"."""
    return await say_hello(ctx.input)


# --- retries ------------------------------------------------------------------------

class RetryInput(TypedDict):
    failures: NotRequired[Annotated[int, Field(ge=0, le=3, description=(
        "How many times the call fails before it succeeds (default 2)"))]]


_calls: dict[str, int] = {}


@task.with_options(retry_max_attempts=3, retry_delay=0.2, retry_backoff=2)
async def flaky_service(key: str, failures: int) -> str:
    """Fails ``failures`` times (per key, in this process), then answers."""
    attempt = _calls[key] = _calls.get(key, 0) + 1
    if attempt <= failures:
        raise ConnectionError(f"the service is busy (attempt {attempt})")
    return f"answered on attempt {attempt}"


@workflow
async def demo_retries(ctx: ExecutionContext[RetryInput]) -> str:
    """Retries with backoff: the call fails twice, then succeeds on its third attempt.

    The task allows 3 retries, waiting 0.2 s then 0.4 s (``retry_delay=0.2``,
    ``retry_backoff=2``). The log shows TASK_RETRY_STARTED/FAILED/COMPLETED.
    """
    failures = (ctx.input or {}).get("failures", 2)
    return await flaky_service(ctx.execution_id, failures)


# --- fallback -----------------------------------------------------------------------

class CityInput(TypedDict):
    city: NotRequired[Annotated[str, Field(description="A city (default Lisbon)")]]


def cached_forecast(city: str) -> dict:
    """The fallback: receives the task's arguments, returns a stand-in result."""
    return {"city": city, "forecast": "sunny (cached)", "fresh": False}


@task.with_options(retry_max_attempts=1, retry_delay=0.1, fallback=cached_forecast)
async def live_forecast(city: str) -> dict:
    """Always fails: the weather service is down."""
    raise TimeoutError(f"weather service did not answer for {city}")


@workflow
async def demo_fallback(ctx: ExecutionContext[CityInput]) -> dict:
    """Fallback: a task fails (after one retry); its fallback's value becomes the result."""
    return await live_forecast((ctx.input or {}).get("city", "Lisbon"))


# --- rollback then fallback ---------------------------------------------------------

class BookingInput(TypedDict):
    seat: NotRequired[Annotated[str, Field(description="Seat to book (default 12A)")]]


def release_seat(seat: str) -> None:
    """The rollback: undo the half-done booking (runs first)."""


def join_waitlist(seat: str) -> dict:
    """The fallback: its value becomes the task's result (runs after the rollback)."""
    return {"seat": seat, "status": "waitlisted"}


@task.with_options(rollback=release_seat, fallback=join_waitlist)
async def book_seat(seat: str) -> dict:
    """Holds the seat, then the payment step fails."""
    raise RuntimeError(f"payment for seat {seat} was declined")


@workflow
async def demo_rollback(ctx: ExecutionContext[BookingInput]) -> dict:
    """Rollback, then fallback: on final failure the clean-up runs, then the fallback.

    The log shows TASK_ROLLBACK_STARTED/COMPLETED then TASK_FALLBACK_STARTED/COMPLETED.
    """
    return await book_seat((ctx.input or {}).get("seat", "12A"))


# --- timeout ------------------------------------------------------------------------

class TimeoutInput(TypedDict):
    timeout: NotRequired[Annotated[float, Field(gt=0, le=5, description=(
        "Seconds each task may take (default 0.3); the tasks need 1 s"))]]


@task.with_options(timeout=0.3)
async def slow_async_call() -> str:
    """An async task that needs 1 s."""
    await asyncio.sleep(1)
    return "finished"


@task.with_options(timeout=0.3)
def slow_sync_call() -> str:
    """A blocking function: runs in a thread, so its timeout works too."""
    time.sleep(1)
    return "finished"


@workflow
async def demo_timeout(ctx: ExecutionContext[TimeoutInput]) -> dict:
    """Timeouts: an async task and a blocking sync task, each stopped after its timeout.

    The workflow catches each ``ExecutionError`` (its cause an
    ``ExecutionTimeoutError``) and reports what happened. The abandoned thread
    of the sync task finishes on its own; its result is discarded.
    """
    limit = (ctx.input or {}).get("timeout", 0.3)
    report = {}
    for label, call in (("async", slow_async_call), ("sync", slow_sync_call)):
        try:
            report[label] = await call.with_options(timeout=limit)()
        except ExecutionError as exc:
            report[label] = f"timed out: {exc.inner_exception or exc}"
    return report


# --- parallel, map, pipeline --------------------------------------------------------

class BasketInput(TypedDict):
    items: NotRequired[Annotated[list[str], Field(description="Items to price")]]


_PRICES = {"apple": 0.5, "bread": 2.2, "cheese": 6.75, "coffee": 8.9}


@task
async def price_of(item: str) -> float:
    """Look an item's price up."""
    await asyncio.sleep(0.05)
    return _PRICES.get(item, 1.0)


@task
async def count_items(items: list[str]) -> int:
    return len(items)


@task
async def most_expensive(prices: list[float]) -> float:
    return max(prices, default=0.0)


@task
async def subtotal(prices: list[float]) -> float:
    return sum(prices)


@task
async def add_tax(amount: float) -> float:
    return amount * 1.23


@task
async def round_cents(amount: float) -> float:
    return round(amount, 2)


@workflow
async def demo_parallel(ctx: ExecutionContext[BasketInput]) -> dict:
    """Fan out and chain: ``price_of.map(items)``, then ``parallel(...)`` of three
    tasks, then ``pipeline(subtotal, add_tax, round_cents)``."""
    items = (ctx.input or {}).get("items") or list(_PRICES)
    prices = await price_of.map(items)
    count, top, _ = await parallel(count_items(items), most_expensive(prices), now())
    total = await pipeline(subtotal, add_tax, round_cents, input=prices)
    return {"items": count, "most_expensive": top, "total_with_tax": total}


# --- pause for approval -------------------------------------------------------------

class ExpenseClaim(TypedDict):
    employee: Annotated[str, Field(description="Who spent the money")]
    amount: Annotated[float, Field(gt=0, description="Amount claimed, in EUR")]
    reason: NotRequired[str]


APPROVAL_SCHEMA = {
    "type": "object",
    "properties": {"approved_amount": {"type": "number", "minimum": 0,
                                       "description": "Amount to reimburse, in EUR"}},
    "required": ["approved_amount"],
}


@task
async def check_policy(claim: dict) -> dict:
    """Automated checks before a person decides."""
    return {"within_limit": claim["amount"] <= 500, "needs_receipt": claim["amount"] > 50}


@task
async def reimburse(employee: str, amount: float) -> str:
    return f"Paid {amount:.2f} EUR to {employee}"


@workflow
async def demo_approval(ctx: ExecutionContext[ExpenseClaim]) -> dict:
    """Pause for approval: the run stops (holding no worker) until someone decides.

    Approve from the inbox, or ``flux runs resume ID --input '{"approved_amount": 80}'``.
    Rejecting raises ``RejectedError`` at the pause, which this workflow handles.
    """
    claim = ctx.input
    checks = await check_policy(claim)
    try:
        decision = await pause(
            "manager_approval",
            title=f"Reimburse {claim['amount']:.2f} EUR to {claim['employee']}?",
            description=(f"**Reason:** {claim.get('reason') or 'not given'}\n\n"
                         "Approve with the amount to pay (it may be less than claimed)."),
            schema=APPROVAL_SCHEMA,
            output=checks,
        )
    except RejectedError as exc:
        return {"paid": False, "why": str(exc)}
    receipt = await reimburse(claim["employee"], decision["approved_amount"])
    return {"paid": True, "receipt": receipt}


# --- durable sleep ------------------------------------------------------------------

class SleepInput(TypedDict):
    seconds: NotRequired[Annotated[float, Field(ge=0, le=3600, description=(
        "How long to sleep (default 5)"))]]


@task
async def send_reminder(step: str) -> str:
    return f"reminder sent ({step})"


@workflow
async def demo_sleep(ctx: ExecutionContext[SleepInput]) -> list[str]:
    """Durable sleep: the execution sleeps (status ``sleeping``) without holding a
    worker; a timer wakes it, and a restart in between does not sleep again."""
    first = await send_reminder("before")
    await sleep((ctx.input or {}).get("seconds", 5))
    second = await send_reminder("after")
    return [first, second]


# --- graph with conditional branches ------------------------------------------------

@task
async def score_order(value: float) -> float:
    """Start node: a score; positive goes to fulfilment, otherwise to review."""
    return value


@task
async def fulfil_order(score: float) -> str:
    return f"fulfilled (score {score})"


@task
async def review_order(score: float) -> str:
    return f"sent to manual review (score {score})"


order_graph = (
    Graph("order_routing", description="Route an order on its score")
    .add_node("score", score_order)
    .add_node("fulfil", fulfil_order)
    .add_node("review", review_order)
    .add_edge("score", "fulfil", condition=lambda result: result > 0)
    .add_edge("score", "review", condition=lambda result: result <= 0)
    .start_with("score")
    .end_with("fulfil")
    .end_with("review")
    .validate()
)


@workflow
async def demo_graph(ctx: ExecutionContext[float]) -> str:
    """A Graph with conditional branches (the docs' ``complex_workflow`` shape).

    A positive input takes the ``fulfil`` branch, zero or less ``review``; the
    other node is skipped. The dashboard draws the graph and colours each node.
    """
    return await order_graph(ctx.input)


# --- failure ------------------------------------------------------------------------

class FailureInput(TypedDict):
    message: NotRequired[str]


@task
async def load_records() -> int:
    return 42


@task
async def validate_records(count: int, message: str) -> None:
    raise ValueError(message)


@workflow
async def demo_failure(ctx: ExecutionContext[FailureInput]) -> None:
    """A failing workflow: the second task raises. ``flux runs retry ID`` resumes it
    from the failed task (the first one is not run again)."""
    count = await load_records()
    await validate_records(count, (ctx.input or {}).get(
        "message", f"record {count} has no customer id"))


# --- deterministic values -----------------------------------------------------------

@workflow
async def demo_deterministic(ctx: ExecutionContext[None]) -> dict:
    """``now()``, ``uuid4()`` and ``randint()`` are tasks: a resumed or recovered run
    sees exactly the values the first run recorded."""
    when = await now()
    ident = await uuid4()
    dice = await randint(1, 6)
    return {"now": when.isoformat(), "uuid": str(ident), "dice": dice}


# --- secrets ------------------------------------------------------------------------

@task.with_options(secret_requests=["DEMO_API_KEY"])
async def call_partner_api(endpoint: str, secrets: dict[str, str] | None = None) -> dict:
    """Receives ``secrets={"DEMO_API_KEY": ...}``; returns a header that embeds it."""
    key = (secrets or {})["DEMO_API_KEY"]
    return {"endpoint": endpoint, "authorization": f"Bearer {key}", "key_length": len(key)}


@workflow
async def demo_secrets(ctx: ExecutionContext[None]) -> dict:
    """Secrets: the task asks for ``DEMO_API_KEY``; its value never reaches the log
    (the recorded header reads ``Bearer ***``).

    Set it first (``manage.py flux secret set DEMO_API_KEY``, or the environment
    variable ``FLUX_SECRET_DEMO_API_KEY``); unset, the run fails saying so.
    """
    return await call_partner_api("/v1/orders")
