"""Deadlines fire from the workers' reaper with nobody on the page; reminders and
escalations go out by email before them, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from executions.core import commands, runner
from executions.core.commands import SYSTEM
from executions.models import Approval, Event, Execution
from flux import Status
from tests.inbox.conftest import finish, paused

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {"type": "object", "required": ["carrier"],
          "properties": {"carrier": {"type": "string"}}}


def later(seconds: float) -> float:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).timestamp()


def test_a_passed_deadline_approves_with_the_default_through_reap(people, sent):
    item = paused({"schema": SCHEMA, "deadline": 60, "on_deadline": "approve",
                   "default": {"carrier": "ups"}})
    assert runner.reap(later(30)).expired == []  # not yet
    assert runner.reap(later(61)).expired == [item.pk]
    item.refresh_from_db()
    assert (item.status, item.decided_by, item.input) == ("expired", "deadline",
                                                          {"carrier": "ups"})
    assert "deadline passed" in item.comment
    assert sent[-1] == item.execution_id
    assert finish(item).output == {"shipped": {"carrier": "ups"}, "total": 20}
    assert runner.reap(later(120)).expired == []  # once


def test_a_passed_deadline_rejects_by_default(people, sent):
    item = paused({"deadline": 1})
    assert runner.reap(later(5)).expired == [item.pk]
    item.refresh_from_db()
    assert item.status == "expired"
    out = finish(item).output
    assert out["rejected"] and out["by"] == "deadline"


def test_a_default_that_fails_the_schema_rejects_instead(people, sent):
    item = paused({"schema": SCHEMA, "deadline": 1, "on_deadline": "approve",
                   "default": {"wrong": True}})
    runner.reap(later(5))
    resumed = Event.objects.get(execution_id=item.execution_id, type="TASK_RESUMED")
    assert resumed.value["approved"] is False and "does not fit" in resumed.value["comment"]


def test_a_deadline_of_a_cancelled_run_does_nothing(people, sent):
    item = paused({"deadline": 1, "on_deadline": "approve"})
    commands.cancel(item.execution_id, actor=SYSTEM)
    assert runner.reap(later(5)).expired == []
    assert Execution.objects.get(pk=item.execution_id).status == Status.CANCELLED


def test_reminders_and_escalation_are_emailed_once(people, sent, settings):
    settings.FLUX_INBOX = {"remind_at": 0.5, "escalate_at": 0.8, "escalate_to": "ops"}
    item = paused({"deadline": 100, "approvers": ["bob"]})
    runner.reap(later(10))
    assert mail.outbox == []
    runner.reap(later(55))
    runner.reap(later(60))
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert "Reminder" in mail.outbox[0].subject and f"#approval-{item.pk}" in mail.outbox[0].body
    runner.reap(later(85))
    runner.reap(later(86))
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["dave@example.com"]
    assert "Escalated" in mail.outbox[1].subject
    item.refresh_from_db()
    assert item.reminded_at and item.escalated_at and item.groups == ["ops"]
    assert Approval.objects.get(pk=item.pk).status == "pending"
