"""``flux run`` and ``flux runs resume/retry/cancel/rerun`` in-process, without --wait.

The queue is replaced by a list: ``queue.drain()`` runs what was sent, here,
the way a worker would (``executions.core.runner.run``).
"""

from __future__ import annotations

import pytest

from executions.models import Execution
from tests.cli.conftest import flux

runner = pytest.importorskip("executions.core.runner")


def test_run_queues_an_execution_and_prints_its_id(queue):
    result = flux("run", "demo_hello", "--input", '"Ada"')
    assert result.code == 0, result.err
    execution = Execution.objects.get()
    assert result.out.splitlines()[0] == f"Started demo_hello {execution.id} (queued)"
    assert queue.sent == [execution.id]
    assert execution.status == "queued" and execution.input == "Ada"
    assert execution.workflow_version
    queue.drain()
    execution.refresh_from_db()
    assert execution.status == "completed" and execution.output == "Hello, Ada!"


def test_run_json_prints_the_queued_execution(queue):
    data = flux("run", "demo_graph", "--input", "2", "--json").json()
    assert data["status"] == "queued" and data["workflow"] == "demo_graph"
    assert data["input"] == 2 and data["id"] == queue.sent[0]


def test_resume_answers_the_pause_and_queues_the_same_execution(queue):
    flux("run", "demo_approval", "--input", '{"employee": "Ada", "amount": 50}')
    queue.drain()
    execution = Execution.objects.get()
    assert execution.status == "paused"
    result = flux("runs", "resume", execution.id, "--input", '{"approved_amount": 40}',
                  "--json")
    assert result.code == 0, result.err
    assert result.json()["id"] == execution.id and result.json()["status"] == "queued"
    queue.drain()
    execution.refresh_from_db()
    assert execution.output == {"paid": True, "receipt": "Paid 40.00 EUR to Ada"}
    resumed = execution.events.get(type="TASK_RESUMED")
    assert resumed.value["input"] == {"approved_amount": 40} and resumed.value["actor"]


def test_retry_requeues_a_failed_execution(queue):
    flux("run", "demo_failure", "--input", "{}")
    queue.drain()
    execution = Execution.objects.get()
    assert execution.status == "failed"
    result = flux("runs", "retry", execution.id)
    assert result.code == 0, result.err
    assert result.out.startswith(f"Queued demo_failure {execution.id} (queued)")
    queue.drain()
    execution.refresh_from_db()
    assert execution.status == "failed"
    assert execution.events.filter(type="WORKFLOW_QUEUED").count() == 1
    assert execution.events.filter(type="TASK_STARTED", name="load_records").count() == 1


def test_cancel_a_queued_execution(queue):
    flux("run", "demo_sleep", "--input", '{"seconds": 60}')
    execution = Execution.objects.get()
    result = flux("runs", "cancel", execution.id)
    assert result.code == 0, result.err
    assert result.out.strip() == f"Cancelled demo_sleep {execution.id}"
    execution.refresh_from_db()
    assert execution.status == "cancelled"
    queue.drain()  # the message finds nothing to run
    execution.refresh_from_db()
    assert execution.status == "cancelled"


def test_cancel_a_sleeping_execution_json(queue):
    flux("run", "demo_sleep", "--input", '{"seconds": 60}')
    queue.drain()
    execution = Execution.objects.get()
    assert execution.status == "sleeping"
    data = flux("runs", "cancel", execution.id, "--json").json()
    assert data["id"] == execution.id and data["status"] == "cancelled"


def test_rerun_makes_a_new_execution_with_the_same_or_a_new_input(queue):
    flux("run", "demo_hello", "--input", '"Ada"')
    queue.drain()
    original = Execution.objects.get()
    same = flux("runs", "rerun", original.id, "--json").json()
    assert same["parent_id"] == original.id and same["input"] == "Ada"
    assert same["id"] != original.id
    other = flux("runs", "rerun", original.id, "--input", '"Grace"', "--json").json()
    assert other["input"] == "Grace" and other["parent_id"] == original.id
    queue.drain()
    assert set(Execution.objects.get(pk=original.id).reruns.values_list("output", flat=True)) \
        == {"Hello, Ada!", "Hello, Grace!"}


def test_demo_starts_runs_only_on_an_empty_database(queue):
    first = flux("demo")
    assert first.code == 0, first.err
    assert "Started demo_hello" in first.out
    count = Execution.objects.count()
    assert count >= 6 and len(queue.sent) == count
    second = flux("demo")
    assert "Executions exist already" in second.out
    assert Execution.objects.count() == count
