"""Durable sleep, suspension for runtimes with timers, configuration priority, env secrets."""

from __future__ import annotations

import pytest

import flux.config
import flux.tasks
from flux import Status, task, workflow
from flux.domain.events import ExecutionEventType as T
from flux.engine import Engine
from flux.errors import SecretNotFoundError
from flux.secrets import EnvSecretProvider
from flux.tasks import sleep


@pytest.fixture
def slept(monkeypatch):
    waited: list[float] = []

    async def fake(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(flux.tasks, "sleep_wait", fake)
    return waited


async def test_a_resumed_run_only_sleeps_what_is_left(store, slept):
    class Died(BaseException):
        pass

    state = {"die": True}

    @task
    async def maybe_die():
        if state["die"]:
            raise Died

    @workflow
    async def nap(ctx):
        await sleep(10)
        await maybe_die()
        return "rested"

    engine = Engine(store)
    record = engine.create(nap)
    with pytest.raises(Died):
        await engine.run(record.id, workflow=nap)
    assert 9.5 < slept[0] <= 10
    state["die"] = False
    slept.clear()
    ctx = await Engine(store).run(record.id, workflow=nap)
    assert ctx.output == "rested"
    assert slept == []  # the sleep's end was recorded: it does not sleep again


async def test_a_sleep_interrupted_before_its_end_sleeps_the_remainder(store, slept):
    @workflow
    async def nap(ctx):
        await sleep(30)
        return "rested"

    engine = Engine(store, suspend_sleeps_after=1)
    record = engine.create(nap)
    ctx = await engine.run(record.id, workflow=nap)
    assert ctx.state == Status.SLEEPING and slept == []  # suspended: no worker held
    assert store.get(record.id).wake_at is not None
    assert ctx.events[-1].type is T.WORKFLOW_SLEEPING
    # woken early by a runtime in a process without timers: it sleeps only what is left
    ctx = await Engine(store).run(record.id, workflow=nap)
    assert ctx.output == "rested" and len(slept) == 1 and 28 < slept[0] <= 30
    assert [e.value.get("reason") for e in ctx.events if e.type is T.WORKFLOW_RESUMED] == [
        "wake"]


def test_recovery_options_resolve_decorator_then_configure_then_runtime_then_default():
    @workflow
    async def plain(ctx):
        return 1

    @workflow.with_options(max_recovery_attempts=9, recover_on_worker_loss=False)
    async def explicit(ctx):
        return 1

    @workflow.with_options(durable=False)
    async def transient(ctx):
        return 1

    assert (plain.max_recovery_attempts, plain.recover_on_worker_loss) == (3, True)
    assert transient.recover_on_worker_loss is False
    flux.config.set_runtime_defaults({"max_recovery_attempts": 5})
    assert plain.max_recovery_attempts == 5
    flux.config.configure(default_max_recovery_attempts=7, recover_on_worker_loss=True)
    assert plain.max_recovery_attempts == 7 and transient.recover_on_worker_loss is True
    assert (explicit.max_recovery_attempts, explicit.recover_on_worker_loss) == (9, False)
    with pytest.raises(TypeError, match="Unknown flux option"):
        flux.config.configure(max_recovery=1)


def test_env_secrets_come_from_flux_secret_variables(monkeypatch):
    monkeypatch.setenv("FLUX_SECRET_DB_PASSWORD", "hunter2")
    assert EnvSecretProvider().get_many(["DB_PASSWORD"]) == {"DB_PASSWORD": "hunter2"}
    with pytest.raises(SecretNotFoundError, match="FLUX_SECRET_MISSING"):
        EnvSecretProvider().get_many(["MISSING"])


def test_bad_options_are_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="Unknown task option"):
        task.with_options(retries=3)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        task.with_options(timeout=0)(lambda: 1)
    with pytest.raises(TypeError, match="async def"):
        workflow(lambda ctx: 1)


def test_tasks_called_with_wrong_arguments_say_which_task():
    @task
    async def two(a, b):
        return a + b

    @workflow
    async def wf(ctx):
        return await two(1)

    ctx = wf.run_sync()
    assert ctx.has_failed and "Task 'two' called with bad arguments" in ctx.error["message"]


async def test_resolvers_supply_workflows_the_registry_lacks(store):
    import flux.workflowdef
    from flux.workflowdef import Workflow, registry

    resolvers = flux.workflowdef.resolvers

    async def body(ctx):
        return f"built for {ctx.input}"

    built = Workflow(body, name="from_a_resolver")
    registry.pop("from_a_resolver")  # only the resolver knows it
    seen = []

    def resolver(name, record):
        seen.append((name, record.id if record else None))
        return built if name == "from_a_resolver" else None

    resolvers.append(resolver)
    try:
        engine = Engine(store)
        record = engine.create(built, "x")
        ctx = await engine.run(record.id)
        assert ctx.output == "built for x" and seen == [("from_a_resolver", record.id)]
    finally:
        resolvers.remove(resolver)
