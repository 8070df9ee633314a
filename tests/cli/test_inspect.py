"""``flux runs list/status/logs`` and ``flux workflows list``: what people and scripts read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Execution, Workflow as WorkflowRow
from tests.cli.conftest import flux

EXECUTION_KEYS = {"id", "workflow", "status", "input", "output", "error", "created_at",
                  "started_at", "finished_at", "recovery_attempts", "max_recovery_attempts"}
EVENT_KEYS = {"seq", "type", "name", "source_id", "parent_id", "attempt", "value", "time"}


@pytest.fixture
def three_runs(run_inline):
    hello = run_inline("demo_hello", "Ada")
    failed = run_inline("demo_failure", {})
    paused = run_inline("demo_approval", {"employee": "Bob", "amount": 80})
    return hello, failed, paused


def test_runs_list_prints_a_table_newest_first(three_runs):
    hello, failed, paused = three_runs
    result = flux("runs", "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "WORKFLOW", "STATUS", "CREATED", "TOOK", "RECOVERY"]
    assert [line.split()[0] for line in lines[1:]] == [paused.id, failed.id, hello.id]
    assert "demo_hello" in lines[3] and "completed" in lines[3] and "0/3" in lines[3]


def test_runs_list_json_is_an_array_of_executions(three_runs):
    hello, failed, paused = three_runs
    items = flux("runs", "list", "--json").json()
    assert [i["id"] for i in items] == [paused.id, failed.id, hello.id]
    assert all(EXECUTION_KEYS <= set(i) for i in items)
    assert items[2]["output"] == "Hello, Ada!" and items[2]["status"] == "completed"


def test_runs_list_filters_by_status_workflow_since_and_limit(three_runs):
    hello, failed, paused = three_runs
    assert [i["id"] for i in flux("runs", "list", "--status", "failed", "--json").json()] \
        == [failed.id]
    assert [i["id"] for i in flux("runs", "list", "--workflow", "demo_hello",
                                  "--json").json()] == [hello.id]
    assert len(flux("runs", "list", "--limit", "2", "--json").json()) == 2
    Execution.objects.filter(pk=hello.id).update(
        created_at=timezone.now() - timedelta(hours=3))
    recent = flux("runs", "list", "--since", "1h", "--json").json()
    assert hello.id not in [i["id"] for i in recent] and len(recent) == 2
    assert flux("runs", "list", "--status", "sleeping").out.strip() == "No executions."


def test_runs_status_shows_recovery_and_the_last_event(three_runs):
    hello, failed, paused = three_runs
    result = flux("runs", "status", hello.id)
    assert result.code == 0
    assert f"Run ID: {hello.id}" in result.out
    assert "Status: completed" in result.out
    assert "Recovery: 0/3 attempts (recover_on_worker_loss: true)" in result.out
    assert "Last Event: WORKFLOW_COMPLETED" in result.out
    assert 'Output: "Hello, Ada!"' in result.out

    Execution.objects.filter(pk=hello.id).update(recovery_attempts=2)
    assert "Recovery: 2/3 attempts" in flux("runs", "status", hello.id).out

    failed_out = flux("runs", "status", failed.id).out
    assert "Error: ExecutionError: Task 'validate_records' failed" in failed_out
    paused_out = flux("runs", "status", paused.id).out
    assert "Waiting at: manager_approval" in paused_out


def test_runs_status_says_what_a_waiting_run_waits_for(engine):
    import asyncio

    from flux.registry import registry
    from tests.runtime import workflows  # noqa: F401 - registers rt_waiter

    ctx = asyncio.run(engine.start(registry["rt_waiter"], {"order": "o-7"}))
    out = flux("runs", "status", ctx.execution_id).out
    assert "Status: sleeping" in out
    assert 'Waiting for: event payment matching {"order": "o-7"}' in out


def test_runs_status_json_is_one_execution_object(three_runs):
    hello, _, _ = three_runs
    data = flux("runs", "status", hello.id, "--json").json()
    assert EXECUTION_KEYS <= set(data)
    assert data["id"] == hello.id and data["status"] == "completed"


def test_runs_logs_lists_events_in_seq_order(three_runs):
    hello, _, _ = three_runs
    result = flux("runs", "logs", hello.id)
    assert result.code == 0
    lines = result.out.splitlines()
    assert "WORKFLOW_STARTED" in lines[0] and "WORKFLOW_COMPLETED" in lines[-1]
    assert [int(line.split()[0]) for line in lines] == list(range(1, len(lines) + 1))

    events = flux("runs", "logs", hello.id, "--json").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(set(e) == EVENT_KEYS for e in events)
    assert events[0]["type"] == "WORKFLOW_STARTED"
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"


def test_runs_logs_follow_ends_when_the_execution_has_finished(three_runs):
    hello, _, _ = three_runs
    result = flux("runs", "logs", hello.id, "--follow", "--json")
    assert result.code == 0
    lines = result.out.splitlines()  # JSON Lines while following
    assert len(lines) == Execution.objects.get(pk=hello.id).events.count()


@pytest.mark.parametrize("verb", [["status"], ["logs"], ["resume"], ["cancel"], ["retry"],
                                  ["rerun"]])
def test_an_unknown_id_exits_2_with_one_line(transactional_db, verb):
    result = flux("runs", *verb, "no-such-id")
    assert result.code == 2
    assert result.out == ""
    assert result.err.strip() == f"flux runs {verb[0]}: No execution with id 'no-such-id'."


def test_bad_list_options_exit_2(transactional_db):
    result = flux("runs", "list", "--since", "yesterday")
    assert result.code == 2 and "--since takes a span like" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert flux("runs", "list", "--limit", "0").code == 2


def test_workflows_list_shows_registered_and_inactive_ones(transactional_db):
    WorkflowRow.objects.create(name="gone_workflow", description="removed from the code")
    result = flux("workflows", "list")
    assert result.code == 0
    assert result.out.splitlines()[0].split() == ["NAME", "VERSION", "DESCRIPTION"]
    assert "demo_hello" in result.out
    assert "gone_workflow (inactive)" in result.out

    items = {i["name"]: i for i in flux("workflows", "list", "--json").json()}
    assert items["demo_hello"]["is_active"] and items["demo_hello"]["input_schema"] == {
        "type": "string"}
    assert items["demo_graph"]["graphs"][0]["name"] == "order_routing"
    assert items["gone_workflow"]["is_active"] is False
    assert "source" not in items["demo_hello"]


def test_workers_lists_who_reported_and_who_went_silent(transactional_db):
    from datetime import UTC, datetime, timedelta

    from executions.core import workers

    assert "No worker has reported" in flux("workers").out
    now = datetime.now(UTC)
    workers.beat("box-a:101", "box-a", 101, 4, now - timedelta(hours=1))
    workers.beat("box-b:202", "box-b", 202, 2, now - timedelta(hours=2),
                 now=now - timedelta(minutes=1))
    result = flux("workers")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["WORKER", "THREADS", "STARTED", "SEEN"]
    assert lines[1].split()[:2] == ["box-a:101", "4"]
    assert lines[2].split()[:3] == ["box-b:202", "(silent)", "2"]
    items = flux("workers", "--json").json()
    assert [(w["name"], w["alive"], w["threads"]) for w in items] == [
        ("box-a:101", True, 4), ("box-b:202", False, 2)]
