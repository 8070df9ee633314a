"""A Flux user's workflows run here unchanged: behaviours a flux-core program observes.

Each test names what flux-core does that a workflow written for it relies on
(issue 12); deliberate differences are in docs/workflows.md, "Differences from
flux-core".
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel

from flux import ExecutionContext, LocalFileStorage, Task, task, workflow
from flux.domain.events import ExecutionEventType as T
from flux.errors import ExecutionError, ExecutionTimeoutError, InvalidInputError
from flux.serialization import decode, encode
from flux.tasks import Graph, parallel, pause

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


# 2. async edge conditions --------------------------------------------------------------

async def test_async_condition_false_skips_the_node():
    ran = []

    @task
    async def first(x):
        return x

    @task
    async def second(x):
        ran.append(x)
        return x

    async def never(result):
        return False

    graph = (Graph("async_never").add_node("a", first).add_node("b", second)
             .add_edge("a", "b", condition=never).start_with("a").end_with("b"))

    @workflow
    async def wf(ctx):
        return await graph(1)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a coroutine never awaited
        ctx = await wf.run()
    assert ctx.has_succeeded, ctx.error
    assert ran == [] and ctx.output is None
    assert [e.name for e in ctx.events if e.type is T.GRAPH_NODE_SKIPPED] == ["b"]


async def test_async_condition_true_runs_the_node_with_the_upstream_output():
    @task
    async def first(x):
        return x + 1

    @task
    async def second(x):
        return x * 10

    async def positive(result):
        await asyncio.sleep(0)
        return result > 0

    graph = (Graph("async_yes").add_node("a", first).add_node("b", second)
             .add_edge("a", "b", condition=positive).start_with("a").end_with("b"))

    @workflow
    async def wf(ctx):
        return await graph(1)

    assert (await wf.run()).output == 20


# 3. fallback and rollback get the arguments as passed -----------------------------------

async def test_fallback_gets_the_arguments_as_passed_not_the_defaults():
    seen = []

    async def fallback_for_long_task(number):
        seen.append(number)
        return f"Task #{number} fellback."

    @task.with_options(fallback=fallback_for_long_task, timeout=0.05)
    async def bad_task(number: int, should_take_time: bool = True):
        if should_take_time:
            await asyncio.sleep(1)
        return f"Task #{number} succeed."

    @workflow
    async def task_fallback_after_timeout(ctx):
        return [await bad_task(1), await bad_task(2, False), await bad_task(3)]

    ctx = await task_fallback_after_timeout.run()
    assert ctx.has_succeeded, ctx.error
    assert ctx.output == ["Task #1 fellback.", "Task #2 succeed.", "Task #3 fellback."]
    assert seen == [1, 3]


async def test_rollback_gets_the_arguments_as_passed_keywords_included():
    seen = []

    def undo(order_id, *, reason):
        seen.append((order_id, reason))

    @task.with_options(rollback=undo)
    async def charge(order_id: int, amount: int = 10, *, reason: str):
        raise ValueError("card declined")

    @workflow
    async def wf(ctx):
        await charge(7, reason="gift")

    ctx = await wf.run()
    assert ctx.has_failed
    assert seen == [(7, "gift")]


# 4. task name templates ----------------------------------------------------------------

async def test_task_name_template_is_formatted_with_the_call_arguments():
    @task.with_options(name="sum_fibo_{iteration}")
    async def sum_fibo(iteration: int, n: int = 5):
        return iteration + n

    @workflow
    async def fibo(ctx):
        return [await sum_fibo(i) for i in range(2)]

    ctx = await fibo.run()
    assert ctx.output == [5, 6]
    names = [e.name for e in ctx.events if e.type is T.TASK_COMPLETED]
    assert names == ["sum_fibo_0", "sum_fibo_1"]
    again = await fibo.run(execution_id=ctx.execution_id)  # replays under the same names
    assert again.output == [5, 6]


def test_task_name_template_naming_no_parameter_is_refused_when_defined():
    with pytest.raises(ValueError, match="'{count}'.*not a parameter"):
        @task.with_options(name="step_{count}")
        async def step(iteration: int):
            return iteration


# 5. several upstreams: positional arguments in edge order ------------------------------

def _diamond(name, join, edges):
    @task
    async def split(x):
        return x

    @task
    async def left(x):
        return f"L{x}"

    @task
    async def right(x):
        return f"R{x}"

    graph = (Graph(name).add_node("split", split).add_node("l", left).add_node("r", right)
             .add_node("join", join).add_edge("split", "l").add_edge("split", "r"))
    for source in edges:
        graph.add_edge(source, "join")
    return graph.start_with("split").end_with("join")


async def test_a_join_gets_its_upstream_outputs_as_arguments_in_edge_order():
    @task
    async def join(first, second):
        return f"{first}+{second}"

    lr, rl = _diamond("lr", join, ["l", "r"]), _diamond("rl", join, ["r", "l"])

    @workflow
    async def wf(ctx):
        return [await lr(1), await rl(1)]

    assert (await wf.run()).output == ["L1+R1", "R1+L1"]


async def test_a_join_taking_one_parameter_gets_a_dict_of_upstream_outputs():
    @task
    async def join(results):
        return results

    graph = _diamond("one_param", join, ["r", "l"])

    @workflow
    async def wf(ctx):
        return await graph(1)

    output = (await wf.run()).output
    assert output == {"r": "R1", "l": "L1"} and list(output) == ["r", "l"]


# 6. parallel and map: the first failure or pause stops the siblings ---------------------

async def test_parallel_fails_at_the_first_failure_cancelling_a_slow_sibling():
    never = asyncio.Event()

    @task
    async def slow():
        await never.wait()  # would hang the test if parallel waited for it

    @task
    async def broken():
        raise ValueError("boom")

    @workflow
    async def wf(ctx):
        return await parallel(slow(), broken())

    ctx = await asyncio.wait_for(wf.run(), 5)
    assert ctx.has_failed and "boom" in ctx.error["message"]
    slow_events = [e.type for e in ctx.events if e.name == "slow"]
    assert slow_events == [T.TASK_STARTED]  # cancelled: started, never ended


async def test_a_sibling_cancelled_by_a_pause_runs_again_on_resume():
    calls = []
    release = asyncio.Event()

    @task
    async def fetch():
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            await release.wait()  # the first run is cancelled while it waits here
        return "data"

    @workflow
    async def wf(ctx):
        return await parallel(fetch(), pause("approve"))

    ctx = await asyncio.wait_for(wf.run(), 5)
    assert ctx.is_paused and calls == [1]
    ctx = await wf.resume(ctx.execution_id, "yes")
    assert ctx.has_succeeded, ctx.error
    assert ctx.output == ["data", "yes"] and calls == [1, 2]


async def test_map_fails_at_the_first_failure_cancelling_the_rest():
    never = asyncio.Event()

    @task
    async def item(i):
        if i == 2:
            raise ValueError(f"bad item {i}")
        await never.wait()

    @workflow
    async def wf(ctx):
        return await item.map(range(4))

    ctx = await asyncio.wait_for(wf.run(), 5)
    assert ctx.has_failed and "bad item 2" in ctx.error["message"]


async def test_parallel_raise_on_error_false_gives_none_for_each_failure_in_order():
    @task
    async def maybe(i):
        if i % 2:
            raise ValueError(f"odd {i}")
        return i

    @workflow
    async def wf(ctx):
        return await parallel(*(maybe(i) for i in range(4)), raise_on_error=False)

    ctx = await wf.run()
    assert ctx.has_succeeded and ctx.output == [0, None, 2, None]
    assert sum(e.type is T.TASK_FAILED for e in ctx.events) == 2  # still recorded


async def test_parallel_and_map_run_at_most_max_concurrent_at_once():
    running, peak = 0, 0

    @task
    async def work(i):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        running -= 1
        return i * 2

    @workflow
    async def wf(ctx):
        a = await parallel(*(work(i) for i in range(6)), max_concurrent=2)
        b = await work.map(range(10, 16), max_concurrent=3)
        return a, b, peak

    ctx = await wf.run()
    assert ctx.has_succeeded, ctx.error
    a, b, top = ctx.output
    assert a == [0, 2, 4, 6, 8, 10] and b == [20, 22, 24, 26, 28, 30] and top == 3


async def test_parallel_max_concurrent_below_one_is_refused():
    @task
    async def work():
        return 1

    with pytest.raises(ValueError, match="max_concurrent"):
        await parallel(work(), max_concurrent=0)


# 7. a failed execution's output is the exception -----------------------------------------

async def test_a_failed_executions_output_is_the_execution_error_with_its_cause():
    @task
    async def divide(a, b):
        return a / b

    @workflow
    async def wf(ctx):
        return await divide(1, 0)

    ctx = await wf.run()
    assert ctx.has_failed
    assert isinstance(ctx.output, ExecutionError)
    assert isinstance(ctx.output.inner_exception, ZeroDivisionError)
    assert ctx.error["type"] == "ExecutionError"  # the JSON shape is unchanged
    assert ctx.to_dict()["output"] is None


async def test_a_timed_out_executions_output_is_the_timeout_error():
    @task.with_options(timeout=0.01)
    async def slow():
        await asyncio.sleep(1)

    @workflow
    async def wf(ctx):
        await slow()

    ctx = await wf.run()
    assert isinstance(ctx.output, ExecutionTimeoutError) and ctx.output.timeout == 0.01


# 8. event values a Flux program reads ----------------------------------------------------

async def test_paused_and_resuming_events_carry_flux_cores_values():
    @workflow
    async def wf(ctx):
        return await pause("approve", output={"draft": 1})

    ctx = await wf.run()
    paused = [e for e in ctx.events if e.type is T.WORKFLOW_PAUSED][-1]
    assert paused.value["name"] == "approve" and paused.value["output"] == {"draft": 1}
    assert paused.value["pauses"] == ["approve"]

    ctx = await wf.resume(ctx.execution_id, "ok")
    types = [e.type for e in ctx.events]
    assert T.WORKFLOW_RESUMING in types
    assert types.index(T.WORKFLOW_RESUMING) < types.index(T.WORKFLOW_RESUMED)
    resuming = next(e for e in ctx.events if e.type is T.WORKFLOW_RESUMING)
    assert resuming.value == "ok"
    resumed = next(e for e in ctx.events if e.type is T.TASK_RESUMED)
    assert resumed.value["name"] == "approve" and resumed.value["input"] == "ok"


async def test_a_successful_fallback_is_followed_by_task_completed():
    @task.with_options(fallback=lambda: "plan b")
    async def flaky():
        raise ValueError("no")

    @workflow
    async def wf(ctx):
        return await flaky()

    ctx = await wf.run()
    types = [e.type for e in ctx.events if e.name == "flaky"]
    assert types[-2:] == [T.TASK_FALLBACK_COMPLETED, T.TASK_COMPLETED]
    assert ctx.events[-2].value == "plan b" and ctx.output == "plan b"


async def test_retry_events_carry_current_attempt_and_current_delay(delays):
    attempts = []

    @task.with_options(retry_max_attempts=2, retry_delay=1, retry_backoff=3)
    async def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("again")
        return "ok"

    @workflow
    async def wf(ctx):
        return await flaky()

    ctx = await wf.run()
    assert ctx.output == "ok"
    started = [e.value for e in ctx.events if e.type is T.TASK_RETRY_STARTED]
    assert [(v["current_attempt"], v["current_delay"]) for v in started] == [(1, 1), (2, 3)]
    assert all(v["max_attempts"] == 2 and v["backoff"] == 3 for v in started)
    failed = [e.value for e in ctx.events if e.type is T.TASK_RETRY_FAILED]
    assert [v["current_attempt"] for v in failed] == [1]
    completed = [e.value for e in ctx.events if e.type is T.TASK_RETRY_COMPLETED]
    assert [v["current_attempt"] for v in completed] == [2]


# 10. flux-core's names: cache=True, isinstance(t, task) ----------------------------------

async def test_a_cached_task_runs_once_per_arguments_across_executions(store):
    calls = []

    @task.with_options(cache=True)
    async def expensive(n: int) -> dict:
        calls.append(n)
        return {"square": n * n, "at": uuid.UUID(int=n)}

    @workflow
    async def wf(ctx):
        return [await expensive(ctx.input), await expensive(ctx.input + 1)]

    first = await wf.run(3)
    second = await wf.run(3)  # a new execution: both results come from the cache
    third = await wf.run(4)  # expensive(4) is cached, expensive(5) is new
    assert calls == [3, 4, 5]
    assert second.output == first.output == [{"square": 9, "at": uuid.UUID(int=3)},
                                               {"square": 16, "at": uuid.UUID(int=4)}]
    assert third.output[1]["square"] == 25
    completed = [e for e in second.events if e.type is T.TASK_COMPLETED]
    assert len(completed) == 2  # recorded as usual, so replay needs no cache


async def test_an_uncached_task_and_a_failure_are_not_memoised():
    calls = []

    @task.with_options(cache=True)
    async def shaky(n):
        calls.append(n)
        if len(calls) == 1:
            raise ValueError("first time")
        return n

    @task
    async def plain(n):
        calls.append(-n)
        return n

    @workflow
    async def wf(ctx):
        try:
            await shaky(1)
        except ExecutionError:
            pass
        return await shaky(1), await plain(1)

    await wf.run()
    await wf.run()
    assert calls == [1, 1, -1, -1]


def test_a_decorated_task_is_an_instance_of_task():
    @task
    async def one():
        return 1

    @task.with_options(name="two")
    def two():
        return 2

    assert isinstance(one, task) and isinstance(two, task) and isinstance(one, Task)
    assert not isinstance(lambda: 1, task)


# 9. values that are not JSON: pandas, numpy, any value in a file output storage ---------

def test_dataframes_series_and_arrays_round_trip_with_a_readable_preview():
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    frame = pd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3.5, 19.0],
                          "when": [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-01-02")],
                          "n": pd.array([1, None], dtype="Int64")},
                         index=pd.Index(["a", "b"], name="key"))
    series = pd.Series([1, 2, 3], name="count", index=[10, 20, 30])
    array = np.arange(6, dtype=np.int32).reshape(2, 3)

    stored = json.loads(json.dumps(encode({"frame": frame, "series": series, "array": array,
                                           "scalar": np.int64(7), "flag": np.bool_(True)})))
    back = decode(stored)

    pd.testing.assert_frame_equal(back["frame"], frame)
    pd.testing.assert_series_equal(back["series"], series)
    assert back["array"].dtype == np.int32 and (back["array"] == array).all()
    assert back["scalar"] == 7 and type(back["scalar"]) is np.int64
    assert type(back["flag"]) is np.bool_
    preview = stored["frame"]["preview"]  # what the execution page shows, line by line
    assert stored["frame"]["shape"] == [2, 4]
    assert "city" in preview[0] and any("Oslo" in line for line in preview)
    assert stored["array"]["v"] == [[0, 1, 2], [3, 4, 5]]


async def test_a_dataframe_goes_through_a_workflow_and_its_replay():
    pd = pytest.importorskip("pandas")

    @task
    async def load() -> object:
        return pd.DataFrame({"x": [1, 2, 3]})

    @task
    async def total(frame) -> int:
        return int(frame["x"].sum())

    @workflow
    async def report(ctx):
        frame = await load()
        return frame, await total(frame)

    ctx = await report.run()
    assert ctx.has_succeeded, ctx.error
    frame, total_value = ctx.output
    assert total_value == 6 and list(frame["x"]) == [1, 2, 3]


async def test_a_file_output_storage_holds_a_value_json_cannot(tmp_path):
    storage = LocalFileStorage(tmp_path / "outputs")

    @task.with_options(output_storage=storage)
    async def make() -> object:
        return _Opaque(3)

    @workflow.with_options(output_storage=storage)
    async def wf(ctx):
        value = await make()
        return value

    ctx = await wf.run()
    assert ctx.has_succeeded, ctx.error
    assert isinstance(ctx.output, _Opaque) and ctx.output.n == 3
    again = await wf.run(execution_id=ctx.execution_id)
    assert again.output.n == 3


class _Opaque:
    """Not JSON, not a dataclass: only pickle can store it."""

    def __init__(self, n):
        self.n = n
