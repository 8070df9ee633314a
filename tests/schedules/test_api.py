"""/api/schedules/ and the start options of POST /api/workflows/{name}/run."""

from __future__ import annotations

import pytest

from executions.models import Execution, Schedule
from tests.api.conftest import make_user, token_client


@pytest.fixture
def operator(db):
    return token_client(make_user("olga", "operator"))


def test_a_schedule_is_made_read_changed_paused_and_deleted(operator, frozen):
    made = operator.post("/api/schedules/", {
        "name": "weekday-report", "workflow": "sched_echo", "cron": "0 9 * * MON-FRI",
        "timezone": "Europe/Paris", "input": {"kind": "daily"}})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["next_fires"][:2] == ["2026-03-30T07:00:00+00:00", "2026-03-31T07:00:00+00:00"]
    assert len(body["next_fires"]) == 5
    assert (body["overlap"], body["paused"], body["catchup_seconds"]) == ("skip", False, 300)
    assert body["description"] == "At 09:00, Monday through Friday (Europe/Paris)"

    changed = operator.request("PATCH", "/api/schedules/weekday-report",
                               {"interval_seconds": 3600})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["cron"], changed.json()["interval_seconds"]) == (None, 3600)

    paused = operator.post("/api/schedules/weekday-report/pause", {"note": "audit"})
    assert (paused.json()["paused"], paused.json()["note"], paused.json()["next_fires"]) == (
        True, "audit", [])
    resumed = operator.post("/api/schedules/weekday-report/resume")
    assert resumed.json()["next_fires"][0] == "2026-03-27T09:00:00+00:00"

    listed = operator.get("/api/schedules/").json()
    assert "weekday-report" in [s["name"] for s in listed["items"]]
    assert operator.request("DELETE", "/api/schedules/weekday-report").status_code == 204
    gone = operator.get("/api/schedules/weekday-report")
    assert (gone.status_code, gone.json()["code"]) == (404, "schedule_not_found")


@pytest.mark.parametrize(("body", "detail"), [
    ({"cron": "0 25 * * *"}, "Invalid cron expression '0 25 * * *': Bad hour."),
    ({"cron": "0 9 * * *", "timezone": "Europe/Atlantis"}, "Unknown timezone "
                                                           "'Europe/Atlantis'"),
    ({"cron": "0 9 * * *", "interval_seconds": 60}, "either a cron expression or an "
                                                    "interval, and not both"),
    ({"cron": "0 9 * * *", "input": "not an object"}, "does not match its schema"),
])
def test_a_bad_schedule_answers_422_with_what_is_wrong(operator, body, detail):
    answer = operator.post("/api/schedules/", {"name": "bad", "workflow": "sched_limited",
                                               **body}
                           if "input" not in body else
                           {"name": "bad", "workflow": "api_hello", **body})
    assert answer.status_code == 422, answer.content
    assert detail in answer.json()["detail"]
    assert not Schedule.objects.filter(name="bad").exists()


def test_a_taken_name_answers_409(operator):
    body = {"name": "dup", "workflow": "sched_echo", "interval_seconds": 60}
    assert operator.post("/api/schedules/", body).status_code == 201
    again = operator.post("/api/schedules/", body)
    assert (again.status_code, again.json()["code"]) == (409, "schedule_exists")


def test_a_backfill_of_too_many_fires_answers_422_and_starts_nothing(operator, queue):
    operator.post("/api/schedules/", {"name": "s", "workflow": "sched_echo",
                                      "cron": "* * * * * *"})
    answer = operator.post("/api/schedules/s/backfill", {"start": "2026-01-01T00:00:00Z",
                                                         "end": "2026-01-12T00:00:00Z"})
    assert answer.status_code == 422
    assert "more than 1000 fire times" in answer.json()["detail"]
    assert not Execution.objects.filter(schedule="s").exists()


def test_the_preview_says_what_an_expression_means_as_you_type(operator, frozen):
    good = operator.post("/api/schedules/preview", {"cron": "*/15 9-17 * * *",
                                                    "timezone": "America/New_York"}).json()
    assert good["valid"] and good["error"] is None
    assert good["next_fires"][0] == "2026-03-27T13:00:00+00:00"
    assert "Every 15 minutes" in good["description"]
    bad = operator.post("/api/schedules/preview", {"cron": "*/15 9-17 * *"}).json()
    assert (bad["valid"], bad["next_fires"]) == (False, [])
    assert "Invalid cron expression" in bad["error"]


def test_trigger_starts_a_run_of_the_schedule_now(operator, queue):
    operator.post("/api/schedules/", {"name": "t", "workflow": "sched_echo",
                                      "interval_seconds": 3600, "input": 7})
    run = operator.post("/api/schedules/t/trigger")
    assert run.status_code == 201
    assert (run.json()["schedule"], run.json()["input"]) == ("t", 7)
    assert operator.get("/api/schedules/t").json()["last_execution_id"] == run.json()["id"]


# starting a run -----------------------------------------------------------------------

def test_a_repeated_idempotency_key_answers_200_with_the_first_execution(operator, queue):
    body = {"input": {"order": 1}, "idempotency_key": "order-1", "priority": 5,
            "tags": {"team": "billing"}}
    first = operator.post("/api/workflows/sched_echo/run", body)
    assert first.status_code == 201
    assert (first.json()["idempotency_key"], first.json()["priority"],
            first.json()["tags"]) == ("order-1", 5, {"team": "billing"})
    again = operator.post("/api/workflows/sched_echo/run", {**body, "input": {"order": 2}})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = operator.post("/api/workflows/sched_limited/run", body)
    assert other.status_code == 201  # keys are per workflow


@pytest.mark.parametrize(("body", "detail"), [
    ({"tags": {"team": 3}}, "tags"),
    ({"tags": {"no spaces": "x"}}, "A tag's name is letters"),
    ({"priority": 10**6}, "priority"),
    ({"idempotency_key": "k" * 201}, "idempotency_key"),
])
def test_bad_start_options_answer_422(operator, queue, body, detail):
    answer = operator.post("/api/workflows/sched_echo/run", body)
    assert answer.status_code == 422, answer.content
    assert detail in answer.content.decode()
    assert not Execution.objects.exists()


def test_executions_are_filtered_by_tag(operator, queue):
    operator.post("/api/workflows/sched_echo/run", {"tags": {"team": "billing", "env": "eu"}})
    operator.post("/api/workflows/sched_echo/run", {"tags": {"team": "search"}})
    billing = operator.get("/api/executions/?tag=team:billing").json()["items"]
    assert [e["tags"]["team"] for e in billing] == ["billing"]
    both = operator.get("/api/executions/?tag=team:billing&tag=env:eu").json()["items"]
    assert len(both) == 1
    assert operator.get("/api/executions/?tag=team:ops").json()["items"] == []
    bad = operator.get("/api/executions/?tag=team")
    assert bad.status_code == 422 and "KEY:VALUE" in bad.json()["detail"]
