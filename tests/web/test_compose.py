"""Composition in the Django runtime: children on workers wake their parents, events
reach waiters through the command, timeouts and lost wake-ups are the reaper's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from executions.core import commands, runner
from executions.core.commands import SYSTEM, Actor
from executions.core.conf import clock
from executions.models import Approval, EventWait, Execution, KeptEvent
from flux import Status
from flux.errors import InvalidInputError, InvalidStateError
from tests.runtime import workflows  # noqa: F401 - registers the rt_* workflows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_parent_waits_for_its_children_on_workers_holding_none(queue):
    parent = commands.start("rt_fanout", 4, actor=Actor.system("ann"))
    queue.sent.remove(parent.id)
    assert runner.run(parent.id) == Status.SLEEPING
    parent.refresh_from_db()
    assert parent.lease_owner is None and parent.wake_at is None
    kids = list(Execution.objects.filter(parent_execution=parent))
    assert len(kids) == 4 and sorted(queue.sent) == sorted(k.pk for k in kids)
    assert all(k.workflow_version and k.actor == "ann" for k in kids)
    assert [w["kind"] for w in parent.waiting_for] == ["child"] * 4
    queue.drain()  # the children run; the last ends wake the parent, which completes
    parent.refresh_from_db()
    assert parent.status == Status.COMPLETED and parent.output == 1 + 2 + 3 + 4
    assert Execution.objects.filter(parent_execution=parent, collected=True).count() == 4
    assert parent.to_dict()["waiting_for"] is None


def test_a_child_failure_and_an_unknown_workflow_are_caught_in_the_parent(queue):
    a = commands.start("rt_call_one", {"workflow": "rt_failing_child"}, actor=SYSTEM)
    b = commands.start("rt_call_one", {"workflow": "nope"}, actor=SYSTEM)
    queue.drain()
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.output.startswith("caught ExecutionError") and "the child broke" in a.output
    assert b.output.startswith("caught WorkflowNotFoundError")
    assert not Execution.objects.filter(parent_execution=b).exists()


def test_cancelling_a_parent_cancels_its_children(queue):
    parent = commands.start("rt_fanout", 2, actor=SYSTEM)
    queue.sent.clear()
    runner.run(parent.id)
    commands.cancel(parent.id, actor=SYSTEM)
    assert set(Execution.objects.filter(parent_execution=parent)
               .values_list("status", flat=True)) == {Status.CANCELLED}


def test_an_event_by_name_wakes_only_the_matching_waiter(queue):
    w1 = commands.start("rt_waiter", {"order": 1}, actor=SYSTEM)
    w2 = commands.start("rt_waiter", {"order": 2}, actor=SYSTEM)
    queue.drain()
    assert set(Execution.objects.values_list("status", flat=True)) == {Status.SLEEPING}
    w2.refresh_from_db()
    assert w2.waiting_for == [{"kind": "event", "name": "payment", "match": {"order": 2},
                               "until": None}]
    answer = commands.send_event("payment", {"order": 2, "paid": True}, actor=SYSTEM)
    assert answer == {"delivered": [w2.id], "kept": False}
    assert queue.sent == [w2.id]
    queue.drain()
    w1.refresh_from_db()
    w2.refresh_from_db()
    assert w2.status == Status.COMPLETED
    assert w2.output == {"order": 2, "payload": {"order": 2, "paid": True}}
    assert w1.status == Status.SLEEPING
    assert not EventWait.objects.filter(execution=w2).exists()


def test_an_event_before_the_wait_is_kept_and_one_to_a_finished_run_is_refused(queue):
    assert commands.send_event("payment", {"order": 5}, actor=SYSTEM) == {
        "delivered": [], "kept": True}
    w = commands.start("rt_waiter", {"order": 5}, actor=SYSTEM)
    queue.drain()
    w.refresh_from_db()
    assert w.status == Status.COMPLETED and KeptEvent.objects.count() == 0
    with pytest.raises(InvalidStateError):
        commands.send_event("payment", {}, actor=SYSTEM, execution_id=w.id)


def test_bad_events_write_nothing(queue, settings):
    settings.FLUX_MAX_INPUT_BYTES = 100
    with pytest.raises(commands.InputTooLarge):
        commands.send_event("payment", {"blob": "x" * 200}, actor=SYSTEM)
    with pytest.raises(InvalidInputError):
        commands.send_event("", {}, actor=SYSTEM)
    assert KeptEvent.objects.count() == 0


def test_a_delivery_while_the_waiter_still_runs_is_not_lost(queue):
    """The sender's message finds the lease held; the suspension's own append sees the
    delivery and wakes the run."""
    w = commands.start("rt_waiter", {"order": 8}, actor=SYSTEM)
    queue.sent.clear()
    real = runner.engine

    def engine_that_sends_first(store=None):
        eng = real(store)
        original = eng.store.wait_event

        def wait_event(*args, **kwargs):
            out = original(*args, **kwargs)
            eng.store.call(commands.send_event, "payment", {"order": 8}, actor=SYSTEM)
            return out

        eng.store.wait_event = wait_event
        return eng

    runner.engine = engine_that_sends_first
    try:
        assert runner.run(w.id) == Status.SLEEPING
    finally:
        runner.engine = real
    assert w.id in queue.sent  # the suspension woke it
    queue.drain()
    w.refresh_from_db()
    assert w.status == Status.COMPLETED


def test_an_event_wait_times_out_through_the_timer(queue):
    with clock.frozen(T0) as now:
        w = commands.start("rt_waiter", {"order": 3, "timeout": 30}, actor=SYSTEM)
        queue.drain()
        w.refresh_from_db()
        assert w.status == Status.SLEEPING and w.wake_at == T0 + timedelta(seconds=30)
        now.advance(seconds=31)
        runner.run(w.id)
    w.refresh_from_db()
    assert w.status == Status.FAILED and w.error["type"] == "ExecutionTimeoutError"


def test_the_reaper_times_out_a_paused_run_and_wakes_a_parent_whose_message_was_lost(queue):
    with clock.frozen(T0) as now:
        paused = commands.start("rt_deadline", None, actor=SYSTEM)
        parent = commands.start("rt_fanout", 1, actor=SYSTEM)
        queue.drain()
        assert Execution.objects.get(pk=paused.pk).status == Status.PAUSED
        parent.refresh_from_db()
        assert parent.status == Status.COMPLETED  # (the inline queue delivered)
        # A lost message: a child that ended while its parent's wake-up vanished.
        lost = commands.start("rt_fanout", 1, actor=SYSTEM)
        queue.sent.clear()
        runner.run(lost.pk)
        [kid] = Execution.objects.filter(parent_execution=lost)
        runner.run(kid.pk)
        queue.sent.clear()  # the wake-up is lost
        now.advance(seconds=61)
        done = runner.reap()
    assert done.passes["timeouts"] == [paused.pk]
    paused.refresh_from_db()
    assert paused.status == Status.FAILED and paused.error["type"] == "ExecutionTimeoutError"
    [item] = Approval.objects.filter(execution_id=paused.pk)
    assert item.status == "cancelled" and item.decided_by == "timeout"  # off the inbox
    assert done.passes["wakeups"] == [lost.pk] and queue.sent == [lost.pk]
    queue.drain()
    assert Execution.objects.get(pk=lost.pk).status == Status.COMPLETED


def test_progress_is_kept_as_the_last_value_per_task(queue):
    ex = commands.start("rt_progress", 300, actor=SYSTEM)
    queue.drain()
    ex.refresh_from_db()
    [(task_id, value)] = ex.progress.items()
    assert value["value"] == {"processed": 300, "total": 300} and value["name"] == "crunch"
    assert ex.events.count() == 4


def test_continue_as_new_runs_on_workers_and_links_both_ways(queue):
    first = commands.start("rt_loop", 0, actor=SYSTEM)
    queue.drain()
    chain = [Execution.objects.get(pk=first.pk)]
    while chain[-1].continued_as:
        chain.append(Execution.objects.get(pk=chain[-1].continued_as))
    assert [e.status for e in chain] == [Status.COMPLETED] * 4
    assert chain[-1].output == 3 and chain[1].continued_from == first.pk
    assert chain[0].to_dict()["continued_as"] == chain[1].pk


def test_the_live_poller_sends_changed_progress_once(queue):
    from executions.core import live

    ex = commands.start("rt_progress", 3, actor=SYSTEM)
    Execution.objects.filter(pk=ex.pk).update(
        status=Status.RUNNING, progress={"t": {"name": "crunch", "value": {"processed": 1}}})
    seen: dict = {}
    changed = live.read_progress(seen)
    assert list(changed) == [ex.pk]
    assert changed[ex.pk]["progress"]["t"]["value"] == {"processed": 1}
    assert live.read_progress(seen) == {}  # unchanged: nothing to send
    Execution.objects.filter(pk=ex.pk).update(
        progress={"t": {"name": "crunch", "value": {"processed": 2}}})
    assert list(live.read_progress(seen)) == [ex.pk]
