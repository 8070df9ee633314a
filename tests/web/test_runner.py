"""The runner in one process: requests write and queue after commit, a message
runs what may run and nothing else, the reaper recovers and re-sends."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from executions.core import commands, runner
from executions.core.commands import SYSTEM, Actor
from executions.core.conf import clock
from executions.models import Event, Execution
from flux import Status
from flux.errors import InvalidInputError, InvalidStateError, WorkflowNotFoundError
from tests.runtime import workflows  # registers the rt_* workflows


@pytest.fixture
def sent(monkeypatch, transactional_db):
    """Queue messages that would have been sent: (execution id, delay)."""
    messages: list[tuple[str, float | None]] = []
    monkeypatch.setattr(runner, "send",
                        lambda execution_id, delay=None: messages.append((execution_id, delay)))
    yield messages
    runner.close_thread_store()


def types(execution_id: str) -> list[str]:
    return list(Event.objects.filter(execution_id=execution_id).order_by("seq")
                .values_list("type", flat=True))


def test_a_started_execution_is_queued_and_sent_after_commit(sent):
    with transaction.atomic():
        ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=Actor.system("alice"))
        assert sent == []
    assert sent == [(ex.id, None)]
    assert (ex.status, ex.actor, ex.workflow_version) == (Status.QUEUED, "alice",
                                                          ex.workflow_version)
    assert len(ex.workflow_version) == 12 and ex.enqueued_at is not None
    assert runner.run(ex.id) == Status.COMPLETED
    ex.refresh_from_db()
    assert ex.output == 3 and ex.lease_owner is None
    assert ex.to_dict()["status"] == "completed"


def test_bad_requests_write_nothing(sent):
    with pytest.raises(WorkflowNotFoundError):
        commands.start("no_such_workflow", {}, actor=SYSTEM)
    with pytest.raises(InvalidInputError):
        commands.start("rt_hello", {"a": "one"}, actor=SYSTEM)
    assert Execution.objects.count() == 0 and sent == []
    done = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    runner.run(done.id)
    with pytest.raises(InvalidStateError):
        commands.resume(done.id, "yes", actor=SYSTEM)
    with pytest.raises(InvalidStateError):
        commands.retry(done.id, actor=SYSTEM)
    with pytest.raises(InvalidStateError):
        commands.cancel(done.id, actor=SYSTEM)
    assert types(done.id)[-1] == "WORKFLOW_COMPLETED" and len(sent) == 1


def test_a_second_message_does_nothing(sent):
    ex = commands.start("rt_approval", actor=SYSTEM)
    assert runner.run(ex.id) == Status.PAUSED
    before = types(ex.id)
    assert runner.run(ex.id) is None  # a stray message must not resume a pause
    assert types(ex.id) == before
    commands.resume(ex.id, {"ok": True}, actor=Actor.system("bob"))
    assert runner.run(ex.id) == Status.COMPLETED
    assert runner.run(ex.id) == Status.COMPLETED
    ex.refresh_from_db()
    assert ex.output == {"answer": {"ok": True}}
    assert types(ex.id).count("WORKFLOW_COMPLETED") == 1


def test_what_a_run_leaves_running_is_cancelled_before_the_next_message(sent):
    """The worker thread keeps its event loop between messages; like asyncio.run, each
    run ends with nothing of it still scheduled."""
    workflows.LEFT_BEHIND.clear()
    for expected in (1, 2):
        ex = commands.start("rt_leaves_a_task_behind", actor=SYSTEM)
        assert runner.run(ex.id) == Status.COMPLETED
        assert workflows.LEFT_BEHIND["cancelled"] == expected


def test_a_long_sleep_ends_the_run_and_schedules_the_wake_up(sent):
    ex = commands.start("rt_sleepy", 3.0, actor=SYSTEM)
    assert runner.run(ex.id) == Status.SLEEPING
    (_, delay) = sent[-1]
    assert 2.0 < delay <= 3.0
    assert runner.run(ex.id) is None  # too early: nothing happens
    time.sleep(delay - 0.9)  # within the wake slack
    assert runner.run(ex.id) == Status.COMPLETED


def test_cancelling_a_queued_execution_finishes_it(sent):
    ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    assert commands.cancel(ex.id, actor=Actor.system("carol")).status == Status.CANCELLED
    assert runner.run(ex.id) == Status.CANCELLED
    assert types(ex.id) == ["WORKFLOW_CANCELLED"]


def test_the_reaper_recovers_a_dead_workers_execution(sent, settings):
    ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    # A worker claimed it, wrote its start and died: the lease runs out.
    store = runner.engine().store
    lease, rec = store.claim(ex.id, "gone:1:x", 0.2)
    from flux.domain.events import ExecutionEvent, ExecutionEventType as T
    from flux.projection import apply

    started = ExecutionEvent(T.WORKFLOW_STARTED, "rt_hello", ex.id, {}, seq=1,
                             execution_id=ex.id)
    apply(rec, started)
    store.append(lease, [started], rec)
    assert not runner.reap()  # the lease is live
    with clock.frozen() as now:
        now.advance(seconds=0.25)
        reaped = runner.reap()
    assert reaped.recovered == [ex.id] and sent[-1] == (ex.id, None)
    ex.refresh_from_db()
    assert ex.status == Status.INTERRUPTED and ex.recovery_attempts == 1
    assert runner.run(ex.id) == Status.COMPLETED
    assert types(ex.id) == ["WORKFLOW_STARTED", "WORKFLOW_INTERRUPTED", "WORKFLOW_RESUMED",
                            "TASK_STARTED", "TASK_COMPLETED", "WORKFLOW_COMPLETED"]


def test_the_reaper_resends_lost_messages_once_per_period(sent, settings):
    settings.FLUX_REQUEUE_SECONDS = 5
    ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    sent.clear()
    assert runner.reap().requeued == []  # just sent
    later = time.time() + 6
    assert runner.reap(now=later).requeued == [ex.id]
    assert runner.reap(now=later).requeued == []  # re-sent a moment ago
    assert sent == [(ex.id, None)]


def test_the_reaper_wakes_a_sleeper_whose_timer_was_lost(sent):
    ex = commands.start("rt_sleepy", 3.0, actor=SYSTEM)
    runner.run(ex.id)
    sent.clear()
    assert runner.reap().woken == []
    assert runner.reap(now=time.time() + 10).woken == [ex.id]
    assert sent == [(ex.id, None)]
