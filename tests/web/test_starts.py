"""Starting runs at the command layer, in both shapes (SQLite and PostgreSQL): a start
is one INSERT, a batch is one transaction, its queue messages go out together."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import tests.schedules.workflows  # noqa: F401 - registers the test workflows
from executions.core import commands, runner
from executions.core.commands import SYSTEM, InvalidItem, StartItem
from executions.models import Execution
from flux import Status


def verbs(queries) -> list[str]:
    """The statements' first words. A statement bound on the server (the batch path's
    cursor) is logged by Django as ``QUERY = 'INSERT ...' - PARAMS = ...``."""
    out = []
    for q in queries.captured_queries:
        sql = q["sql"]
        if sql.startswith("QUERY = "):
            sql = sql[len("QUERY = "):].lstrip("'\"")
        out.append(sql.split()[0].upper())
    return out


def test_a_start_is_one_insert_with_its_queue_fields(queue):
    with CaptureQueriesContext(connection) as queries:
        started = commands.begin("sched_limited", {"n": 1}, actor=SYSTEM, priority=7,
                                 tags={"team": "billing"}, idempotency_key="order-1")
    assert verbs(queries) == ["INSERT"]
    assert started.created and queue.sent == [started.id]
    assert queue.priority[started.id] == 7
    stored = Execution.objects.get(pk=started.id)
    # What the start answers without reading it back is what was stored.
    assert started.execution.to_dict() == stored.to_dict()
    assert (stored.status, stored.priority, stored.tags, stored.idempotency_key) == (
        Status.QUEUED, 7, {"team": "billing"}, "order-1")
    assert (stored.concurrency_key, stored.concurrency_limit) == ("sched_limited", 2)
    assert stored.enqueued_at is not None and stored.workflow_version


def test_a_start_with_a_key_used_already_answers_that_run_and_queues_nothing(queue):
    first = commands.begin("sched_echo", 1, actor=SYSTEM, idempotency_key="k")
    queue.sent.clear()
    with CaptureQueriesContext(connection) as queries:
        again = commands.begin("sched_echo", 2, actor=SYSTEM, idempotency_key="k")
    assert verbs(queries) == ["INSERT", "SELECT"]
    assert (again.created, again.id, again.execution.input) == (False, first.id, 1)
    assert queue.sent == [] and Execution.objects.count() == 1


def test_a_batch_starts_every_item_in_order_and_queues_them_together(queue, monkeypatch):
    sent = []
    monkeypatch.setattr(runner, "send_many", lambda messages: sent.append(messages))
    commands.begin("sched_echo", "old", actor=SYSTEM, idempotency_key="seen")
    sent.clear()
    items = [{"input": i} for i in range(1200)]  # more than one INSERT's rows
    items[3] = {"input": "again", "idempotency_key": "seen"}  # an earlier batch's key
    items[5] = {"input": 5, "idempotency_key": "twice", "priority": 3}
    items[9] = {"input": 9, "idempotency_key": "twice"}  # an earlier item's key
    outcomes = commands.start_many("sched_echo", items, actor=SYSTEM)
    assert len(outcomes) == 1200
    assert [o.created for o in outcomes[:10]] == [True] * 3 + [False] + [True] * 5 + [False]
    assert outcomes[9].id == outcomes[5].id and outcomes[3].execution.input == "old"
    assert [o.execution.input for o in outcomes[10:15]] == [10, 11, 12, 13, 14]
    assert Execution.objects.count() == 1 + 1198
    # One batch of messages, after the commit: one per created run, with its priority.
    [messages] = sent
    assert [pk for pk, _ in messages] == [o.id for o in outcomes if o.created]
    assert dict(messages)[outcomes[5].id] == 3


def test_a_bad_item_refuses_the_batch_naming_it_and_writes_nothing(queue):
    items = [{"input": i} for i in range(1200)]
    items[1100] = {"input": 1, "priority": "high"}
    with pytest.raises(InvalidItem) as refused:
        commands.start_many("sched_echo", items, actor=SYSTEM)
    assert (refused.value.index, refused.value.field) == (1100, "priority")
    assert str(refused.value).startswith("inputs[1100].priority: The priority must be")
    assert refused.value.errors[0]["path"] == ["inputs", 1100, "priority"]
    assert Execution.objects.count() == 0 and queue.sent == []


def test_a_batch_may_leave_out_what_it_refuses_when_asked(queue):
    items = [StartItem("sched_echo", 1), StartItem("no_such_workflow", 2),
             StartItem("sched_echo", 3, tags={"bad key": "x"})]
    refused = []
    outcomes = commands.begin_many(items, actor=SYSTEM,
                                   refused=lambda i, exc: refused.append((i, type(exc))))
    assert outcomes[1] is None and outcomes[2] is None and outcomes[0].created
    assert [i for i, _ in refused] == [1, 2]
    assert list(Execution.objects.values_list("input", flat=True)) == [1]


def test_send_many_puts_every_message_on_the_queue_in_one_go(db):
    """The real queue of this shape (SQLite Huey, or Redis): every message arrives,
    the higher priority first."""
    storage = runner.run_execution.huey.storage
    storage.flush_queue()
    try:
        assert runner.send_many([("a", 0), ("b", 5), ("c", 0)])
        data = storage.enqueued_items()
        order = [runner.run_execution.huey.deserialize_task(d).args[0] for d in data]
        assert order == ["b", "a", "c"]
    finally:
        storage.flush_queue()
