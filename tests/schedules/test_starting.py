"""Idempotent starts, priority and concurrency slots, through commands.begin and the
runner (both shapes: scripts/test runs this on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading

from django.db import connections

from executions.core import commands, runner
from executions.core.commands import SYSTEM
from executions.core.conf import clock
from executions.models import Execution
from flux import Status


def test_twenty_concurrent_starts_with_one_key_make_one_execution(transactional_db):
    barrier = threading.Barrier(20)
    outcomes, errors = [], []

    def start(i: int) -> None:
        try:
            barrier.wait()
            outcomes.append(commands.begin("sched_echo", {"i": i}, actor=SYSTEM,
                                           idempotency_key="payment-42"))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert Execution.objects.filter(idempotency_key="payment-42").count() == 1
    assert len({o.execution.pk for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1


def test_higher_priority_runs_first(queue):
    low = commands.start("sched_echo", "low", actor=SYSTEM)
    high = commands.start("sched_echo", "high", actor=SYSTEM, priority=10)
    assert queue.next() == high.pk
    assert queue.next() == low.pk


def test_runs_over_the_limit_wait_visibly_and_start_in_order_as_slots_free(queue, frozen):
    runs = [commands.start("sched_limited", i, actor=SYSTEM) for i in range(4)]
    queue.sent.clear()
    # Two hold the slots (claimed by workers that are still running them).
    lease = clock.time() + 3600
    Execution.objects.filter(pk__in=[runs[0].pk, runs[1].pk]).update(
        status=Status.RUNNING, lease_owner="w", lease_expires=lease)
    runner.run(runs[3].pk)
    runner.run(runs[2].pk)
    waiting = {e.pk: e for e in Execution.objects.filter(pk__in=[runs[2].pk, runs[3].pk])}
    assert waiting[runs[2].pk].status == Status.QUEUED
    assert waiting[runs[2].pk].to_dict()["waiting_reason"] == (
        "waiting for a slot: 2 of 2 running")
    assert waiting[runs[3].pk].waiting_reason == (
        "waiting for a slot: 2 of 2 running, 1 waiting ahead")
    # The first one's worker dies: its slot comes back with its lease; the oldest waiter
    # gets it.
    frozen.advance(seconds=3)
    Execution.objects.filter(pk=runs[0].pk).update(lease_expires=clock.time() - 1)
    assert runner.wake_all_waiters(clock.now(), 10) == [runs[2].pk]
    queue.drain()
    done = Execution.objects.get(pk=runs[2].pk)
    assert (done.status, done.waiting_reason) == (Status.COMPLETED, "")


def test_each_key_value_has_its_own_slots(queue):
    a1 = commands.start("sched_per_customer", {"customer": "a"}, actor=SYSTEM)
    b1 = commands.start("sched_per_customer", {"customer": "b"}, actor=SYSTEM)
    assert (a1.concurrency_key, b1.concurrency_key) == ("sched_per_customer:a",
                                                        "sched_per_customer:b")
    queue.sent.clear()
    Execution.objects.filter(pk=a1.pk).update(status=Status.RUNNING, lease_owner="w",
                                              lease_expires=clock.time() + 3600)
    a2 = commands.start("sched_per_customer", {"customer": "a"}, actor=SYSTEM)
    queue.drain()
    assert Execution.objects.get(pk=a2.pk).status == Status.QUEUED
    assert Execution.objects.get(pk=b1.pk).status == Status.QUEUED  # its message was cleared
    runner.run(b1.pk)
    assert Execution.objects.get(pk=b1.pk).status == Status.COMPLETED


def test_a_key_the_input_lacks_is_refused_before_anything_is_written(queue):
    import pytest

    from flux.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="concurrency key `input.customer`"):
        commands.start("sched_per_customer", {"client": "a"}, actor=SYSTEM)
    assert not Execution.objects.exists()


def test_flux_concurrency_sets_a_limit_without_touching_the_code(queue, settings):
    settings.FLUX_CONCURRENCY = {"sched_echo": 3}
    run = commands.start("sched_echo", None, actor=SYSTEM)
    assert (run.concurrency_key, run.concurrency_limit) == ("sched_echo", 3)
