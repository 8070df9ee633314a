"""The contract every flux store honours.

Subclass :class:`StoreContract` in a ``Test...`` class and provide a ``store``
fixture returning a fresh, empty store; every test here then runs against it.
The engine's stores join in ``test_store_contract.py``; the Django store in
the web tests.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from flux.domain.events import ExecutionEvent, ExecutionEventType as T
from flux.errors import ExecutionNotFoundError, LeaseLostError
from flux.projection import Status, apply
from flux.store import MISSING, ExecutionRecord, Store


def new_record(execution_id: str = "exec-1", **kw) -> ExecutionRecord:
    return ExecutionRecord(id=execution_id, workflow="wf", input={"n": 1}, **kw)


def events_for(rec: ExecutionRecord, *types: T, start: int | None = None) -> list[
        ExecutionEvent]:
    seq = rec.last_seq + 1 if start is None else start
    out = []
    for t in types:
        e = ExecutionEvent(t, "step", f"task-{seq}", {"seq": seq, "text": "héllo"},
                           datetime.now(UTC), seq, rec.id, None, 1)
        apply(rec, e)
        out.append(e)
        seq += 1
    return out


class StoreContract:
    @pytest.fixture
    def store(self) -> Store:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_it_creates_and_gets_a_record(self, store):
        store.create(new_record(max_recovery_attempts=5, meta={"k": "v"}))
        rec = store.get("exec-1")
        assert (rec.workflow, rec.input, rec.status) == ("wf", {"n": 1}, Status.CREATED)
        assert rec.max_recovery_attempts == 5 and rec.meta == {"k": "v"}

    def test_it_refuses_a_duplicate_id(self, store):
        store.create(new_record())
        with pytest.raises(ValueError):
            store.create(new_record())

    def test_an_unknown_execution_is_not_found(self, store):
        with pytest.raises(ExecutionNotFoundError):
            store.get("nope")
        with pytest.raises(ExecutionNotFoundError):
            store.events("nope")
        with pytest.raises(ExecutionNotFoundError):
            store.claim("nope", "w", 30)

    def test_one_claimant_wins_and_the_fence_goes_up(self, store):
        store.create(new_record())
        first = store.claim("exec-1", "worker-a", 30)
        assert first is not None
        assert store.claim("exec-1", "worker-b", 30) is None
        store.release(first[0])
        second = store.claim("exec-1", "worker-b", 30)
        assert second is not None and second[0].fence == first[0].fence + 1
        assert store.get("exec-1").worker == "worker-b"

    def test_an_expired_lease_can_be_taken_and_the_old_holder_cannot_write(self, store):
        rec = new_record()
        store.create(rec)
        old, rec = store.claim("exec-1", "worker-a", 0.05)
        time.sleep(0.1)
        new, _ = store.claim("exec-1", "worker-b", 30)
        with pytest.raises(LeaseLostError):
            store.append(old, events_for(rec, T.WORKFLOW_STARTED), rec)
        with pytest.raises(LeaseLostError):
            store.renew(old, 30)
        assert store.events("exec-1") == []

    def test_steal_from_takes_a_named_dead_holders_lease(self, store):
        store.create(new_record())
        store.claim("exec-1", "dead-worker", 30)
        assert store.claim("exec-1", "me", 30, steal_from="someone-else") is None
        assert store.claim("exec-1", "me", 30, steal_from="dead-worker") is not None

    def test_append_stores_events_in_order_with_the_projection(self, store):
        store.create(new_record())
        lease, rec = store.claim("exec-1", "w", 30)
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED, T.TASK_STARTED), rec)
        store.append(lease, events_for(rec, T.TASK_COMPLETED), rec)
        rec.output = {"done": [1, 2]}
        store.append(lease, events_for(rec, T.WORKFLOW_COMPLETED), rec)
        events = store.events("exec-1")
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert [e.type for e in events] == [T.WORKFLOW_STARTED, T.TASK_STARTED,
                                            T.TASK_COMPLETED, T.WORKFLOW_COMPLETED]
        assert events[1].value == {"seq": 2, "text": "héllo"} and events[1].attempt == 1
        assert all(e.execution_id == "exec-1" for e in events)
        assert [e.seq for e in store.events("exec-1", after=2)] == [3, 4]
        saved = store.get("exec-1")
        assert saved.status == Status.COMPLETED and saved.last_seq == 4
        assert saved.started_at is not None and saved.finished_at is not None

    def test_append_is_all_or_nothing_when_a_sequence_number_is_taken(self, store):
        store.create(new_record())
        lease, rec = store.claim("exec-1", "w", 30)
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED), rec)
        clash = events_for(rec, T.TASK_STARTED, T.TASK_COMPLETED, start=1)
        with pytest.raises(LeaseLostError):
            store.append(lease, clash, rec)
        assert [e.seq for e in store.events("exec-1")] == [1]

    def test_a_cancel_request_survives_appends_until_the_run_ends(self, store):
        store.create(new_record())
        lease, rec = store.claim("exec-1", "w", 30)
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED), rec)
        assert store.request_cancel("exec-1", "alice").status == Status.CANCELLING
        store.append(lease, events_for(rec, T.TASK_STARTED), rec)
        renewed = store.renew(lease, 30)
        assert renewed.cancel_requested and renewed.cancel_actor == "alice"
        assert store.get("exec-1").status == Status.CANCELLING
        store.append(lease, events_for(rec, T.WORKFLOW_CANCELLED), rec)
        final = store.get("exec-1")
        assert final.status == Status.CANCELLED and not final.cancel_requested

    def test_cancelling_a_finished_execution_changes_nothing(self, store):
        store.create(new_record())
        lease, rec = store.claim("exec-1", "w", 30)
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED, T.WORKFLOW_COMPLETED), rec)
        assert store.request_cancel("exec-1").status == Status.COMPLETED

    def test_list_filters_and_orders_newest_first(self, store):
        for i in range(3):
            store.create(new_record(f"e{i}", created_at=datetime(2026, 1, 1 + i, tzinfo=UTC)))
        assert [r.id for r in store.list()] == ["e2", "e1", "e0"]
        assert [r.id for r in store.list(status=Status.CREATED, limit=2)] == ["e2", "e1"]
        assert store.list(workflow="other") == []

    def test_expired_lists_running_executions_whose_worker_is_gone(self, store):
        store.create(new_record())
        lease, rec = store.claim("exec-1", "w", 0.05)
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED), rec)
        assert store.expired() == []
        time.sleep(0.1)
        assert [r.id for r in store.expired()] == ["exec-1"]

    def test_concurrent_claims_have_exactly_one_winner(self, store):
        store.create(new_record())
        wins, barrier = [], threading.Barrier(8)

        def claim(i: int) -> None:
            barrier.wait()
            try:
                if store.claim("exec-1", f"w{i}", 30) is not None:
                    wins.append(i)
            finally:
                store.close()  # this thread's connection (stores keep one per thread)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1

    def test_it_caches_task_results_by_key_a_cached_none_included(self, store):
        assert store.cache_get("double_abc") is MISSING
        store.cache_put("double_abc", {"$t": "tuple", "v": [1, "a"]})
        store.cache_put("nothing_abc", None)
        assert store.cache_get("double_abc") == {"$t": "tuple", "v": [1, "a"]}
        assert store.cache_get("nothing_abc") is None
        store.cache_put("double_abc", 2)  # replaced
        assert store.cache_get("double_abc") == 2

    # composition: children, events from the world, progress --------------------------
    def test_children_are_the_executions_a_parent_started(self, store):
        store.create(new_record("parent"))
        store.create(new_record("kid-1", parent_execution_id="parent"))
        store.create(new_record("kid-2", parent_execution_id="parent"))
        store.create(new_record("other"))
        assert sorted(r.id for r in store.children("parent")) == ["kid-1", "kid-2"]
        assert store.get("kid-1").parent_execution_id == "parent"
        assert store.children("other") == []

    def test_projection_fields_of_composition_round_trip(self, store):
        rec = new_record(continued_from="before")
        store.create(rec)
        lease, rec = store.claim("exec-1", "w", 30)
        e = ExecutionEvent(T.WORKFLOW_SLEEPING, "wf", "exec-1",
                           {"wake_at": None, "waiting_for": [{"kind": "event", "name": "x",
                                                              "match": {"a": 1}}]},
                           datetime.now(UTC), 1, "exec-1")
        apply(rec, e)
        rec.deadline = datetime(2030, 1, 1, tzinfo=UTC)
        store.append(lease, [e], rec)
        got = store.get("exec-1")
        assert got.waiting_for == [{"kind": "event", "name": "x", "match": {"a": 1}}]
        assert got.deadline == datetime(2030, 1, 1, tzinfo=UTC)
        assert got.continued_from == "before"

    def test_an_event_reaches_an_open_waiter_once_and_only_if_its_match_holds(self, store):
        store.create(new_record("a"))
        store.create(new_record("b"))
        assert store.wait_event("a", "w1", "paid", {"order": 1}) == (False, None)
        assert store.wait_event("b", "w1", "paid", {"order": 2}) == (False, None)
        assert store.send_event("paid", {"order": 2, "sum": 5}) == (["b"], False)
        assert store.wait_event("b", "w1", "paid", {"order": 2}) == (True,
                                                                      {"order": 2, "sum": 5})
        # b was delivered already: the same payload again is kept, not delivered twice
        assert store.send_event("paid", {"order": 2}) == ([], True)
        assert store.send_event("paid", {"order": 1}, execution_id="b") == ([], True)
        assert store.send_event("paid", {"order": 1}, execution_id="a") == (["a"], False)

    def test_a_kept_event_is_taken_by_the_first_matching_wait_until_it_expires(self, store):
        store.create(new_record("a"))
        now = datetime.now(UTC)
        store.send_event("paid", {"order": 1}, keep_until=now + timedelta(hours=1), now=now)
        store.send_event("paid", {"order": 2}, keep_until=now - timedelta(seconds=1), now=now)
        assert store.wait_event("a", "w2", "paid", {"order": 2}) == (False, None)
        assert store.wait_event("a", "w1", "paid", {"order": 1}) == (True, {"order": 1})
        assert store.drop_expired_events(now) == 1

    def test_a_closed_wait_gets_nothing_but_a_delivery_before_the_close_wins(self, store):
        store.create(new_record("a"))
        store.wait_event("a", "w1", "x", None)
        store.wait_event("a", "w2", "y", None)
        assert store.send_event("y", 7) == (["a"], False)
        assert store.close_wait("a", "w1") == (False, None)
        assert store.close_wait("a", "w2") == (True, 7)
        assert store.send_event("x", 1) == ([], True)
        store.forget_waits("a")
        assert store.close_wait("a", "w2") == (False, None)

    def test_progress_is_kept_per_execution(self, store):
        store.create(new_record())
        store.set_progress("exec-1", {"t1": {"name": "t", "value": {"processed": 3}}})
        assert store.get("exec-1").progress == {"t1": {"name": "t",
                                                       "value": {"processed": 3}}}
