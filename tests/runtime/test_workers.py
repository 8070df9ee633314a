"""The embedded shape end to end: real `manage.py flux worker` processes on a
temporary SQLite file and its SQLite Huey queue."""

from __future__ import annotations

import pytest

from tests.runtime import scenarios
from tests.runtime.harness import Embedded


@pytest.fixture
def embedded(tmp_path):
    d = Embedded(tmp_path)
    d.migrate()
    yield d
    d.close()


def test_a_workflow_completes(embedded):
    scenarios.a_workflow_completes(embedded)


def test_pause_then_resume(embedded):
    scenarios.pause_then_resume(embedded)


def test_a_durable_sleep_frees_the_worker(embedded):
    scenarios.a_durable_sleep_frees_the_worker(embedded)


def test_cancelling_a_running_execution_stops_it_within_two_seconds(embedded):
    scenarios.cancelling_a_running_execution_stops_it(embedded)


def test_lost_messages_are_sent_again(embedded):
    scenarios.lost_messages_are_sent_again(embedded, embedded.flush_queue)


def test_it_survives_workers_killed_at_random_points(embedded, tmp_path):
    report = scenarios.crash_campaign(embedded, tmp_path, executions=14, kills=12)
    print("crash campaign (embedded):", report)
    assert report["kills"] >= 8


def test_duplicated_messages_run_each_task_once(embedded, tmp_path):
    report = scenarios.crash_campaign(embedded, tmp_path, executions=4, kills=0, copies=2)
    assert report["body_reruns"] == 0 and report["interruptions"] == 0


def test_it_survives_kills_with_two_workers_racing_for_duplicates(embedded, tmp_path):
    report = scenarios.crash_campaign(embedded, tmp_path, executions=4, kills=6, copies=2,
                                      delay=0.4)
    print("crash campaign with duplicates (embedded):", report)
