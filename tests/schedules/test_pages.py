"""The schedule pages and the execution page's "started by schedule X for 09:00"."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from executions.core import schedules
from executions.core.commands import SYSTEM
from executions.models import Execution, Schedule
from tests.api.conftest import make_user

TIME = re.compile(r'<time datetime="([^"]+)">')


@pytest.fixture
def operator(db):
    client = Client()
    client.force_login(make_user("olga", "operator"))
    return client


def test_a_schedule_made_in_the_browser_shows_its_sentence_and_next_fires(operator, frozen):
    answer = operator.post("/schedules/", {
        "name": "paris-morning", "workflow": "sched_echo", "kind": "cron",
        "cron": "0 9 * * MON-FRI", "timezone": "Europe/Paris", "input": '{"a": 1}',
        "overlap": "skip"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    page = operator.get(answer["Location"]).content.decode()
    assert "At 09:00, Monday through Friday (Europe/Paris)" in page
    assert 'data-testid="next-fires"' in page
    times = TIME.findall(page)
    assert "2026-03-30T07:00:00+00:00" in times
    assert all(re.search(r"[+-]\d\d:\d\d$", t) for t in times)  # every time has its offset
    listed = operator.get("/schedules/").content.decode()
    assert "paris-morning" in listed


def test_a_bad_expression_in_the_form_says_what_is_wrong_and_saves_nothing(operator):
    answer = operator.post("/schedules/", {"name": "bad", "workflow": "sched_echo",
                                           "kind": "cron", "cron": "0 9 * *"})
    assert answer.status_code == 422
    assert "Invalid cron expression" in answer.content.decode()
    assert not Schedule.objects.filter(name="bad").exists()


def test_pause_trigger_and_backfill_from_the_schedule_page(operator, queue, frozen):
    schedules.create("hourly", actor=SYSTEM, workflow="sched_echo", cron="0 * * * *")
    assert operator.post("/schedules/hourly/", {"action": "pause", "note": "maintenance"}
                         ).status_code == 302
    assert Schedule.objects.get(name="hourly").paused
    page = operator.get("/schedules/hourly/").content.decode()
    assert "maintenance" in page and "None while paused" in page
    operator.post("/schedules/hourly/", {"action": "trigger"})
    operator.post("/schedules/hourly/", {"action": "backfill", "start": "2026-03-01T00:00Z",
                                         "end": "2026-03-01T02:00Z"})
    assert Execution.objects.filter(schedule="hourly").count() == 4
    refused = operator.post("/schedules/hourly/", {"action": "backfill", "start": "yesterday",
                                                   "end": "2026-03-01T02:00Z"})
    assert refused.status_code == 422 and "The start must be a time" in (
        refused.content.decode())


def test_the_execution_page_says_which_schedule_started_it_and_for_when(operator, queue,
                                                                       frozen):
    schedules.create("morning", actor=SYSTEM, workflow="sched_echo", cron="0 9 * * *",
                     timezone="Europe/Paris")
    frozen.advance(hours=1)  # 09:00 in Paris is 08:00 UTC (T0): the next fire is tomorrow
    Schedule.objects.filter(name="morning").update(next_fire_at=frozen.now)
    [run_id] = schedules.tick()
    page = operator.get(f"/executions/{run_id}/").content.decode()
    started = re.search(r'data-testid="started-by-schedule">(.*?)</span>', page, re.S).group(1)
    assert "morning" in started
    assert '<time datetime="2026-03-27T09:00:00+00:00">2026-03-27 10:00 Europe/Paris</time>' in (
        started)


def test_the_run_form_takes_an_idempotency_key(operator, queue):
    first = operator.post("/workflows/sched_echo/", {"input": "1", "idempotency_key": "k-1",
                                                     "priority": "3"})
    again = operator.post("/workflows/sched_echo/", {"input": "2", "idempotency_key": "k-1"})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    run = Execution.objects.get(idempotency_key="k-1")
    assert (run.priority, run.input) == (3, 1)
