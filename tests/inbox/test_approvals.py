"""Approvals mirror pauses atomically; deciding follows the rules (executions/core/approvals.py)."""

from __future__ import annotations

import pytest
from django.db import transaction

from executions.core import approvals, commands, runner, store
from executions.core.approvals import (
    AlreadyDecided,
    InvalidApprovalInput,
    NotAllowed,
    NotPaused,
)
from executions.core.commands import Actor
from executions.models import Approval, Event, Execution
from executions.models.markup import render_markdown
from flux import Status
from tests.inbox.conftest import finish, paused

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {"type": "object", "required": ["carrier"],
          "properties": {"carrier": {"type": "string", "enum": ["ups", "dhl"]},
                         "express": {"type": "boolean"}}}


def decide(approval_id, user, **kwargs):
    """The command every door uses, as ``user``."""
    return commands.decide(approval_id, actor=Actor.of(user), **kwargs)


def events_of(approval: Approval) -> list[str]:
    return list(Event.objects.filter(execution_id=approval.execution_id)
                .order_by("seq").values_list("type", flat=True))


def test_a_pause_creates_its_approval_with_everything_the_pause_said(people, sent):
    item = paused({"title": "Ship it?", "description": "Total **20**", "schema": SCHEMA,
                   "approvers": ["alice"], "groups": ["ops"], "deadline": 3600,
                   "on_deadline": "approve", "default": {"carrier": "ups"},
                   "forbid_self_approval": True})
    assert (item.workflow, item.pause_name, item.status) == ("inbox_order", "ship", "pending")
    assert (item.title, item.schema, item.approvers, item.groups) == (
        "Ship it?", SCHEMA, ["alice"], ["ops"])
    assert item.output == {"items": 2, "total": 20}
    assert item.on_deadline == "approve" and item.default == {"carrier": "ups"}
    assert item.forbid_self_approval and item.deadline > item.requested_at
    paused_event = Event.objects.get(execution_id=item.execution_id, type="TASK_PAUSED")
    assert item.source_id == paused_event.source_id
    data = item.to_dict()
    for key in ("id", "execution_id", "workflow", "pause_name", "status", "title",
                "requested_at", "deadline", "decided_by", "decided_at", "comment", "input"):
        assert key in data
    assert data["description_html"] == "<p>Total <strong>20</strong></p>"


def test_the_description_is_rendered_safely():
    html = render_markdown(
        "[x](javascript:alert(1)) <script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_the_approval_is_written_in_the_pauses_transaction(people, sent, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("the approval could not be written")

    monkeypatch.setattr(store, "APPEND_HOOKS",
                        [store.AppendHook("approvals", approvals.concerns, boom)])
    ex = commands.start("inbox_order", {"items": ["a"]}, actor=Actor.system("olive"))
    with pytest.raises(RuntimeError, match="could not be written"):
        runner.run(ex.id)
    # Neither the pause event nor the approval exists: they commit together or not at all.
    assert not Event.objects.filter(execution_id=ex.id, type="TASK_PAUSED").exists()
    assert not Approval.objects.exists()


def test_writing_the_pause_again_creates_no_second_approval(people, sent):
    item = paused()
    event = Event.objects.get(execution_id=item.execution_id, type="TASK_PAUSED").event()
    with transaction.atomic():
        approvals.record_events(item.execution_id, [event], item.workflow)
    assert Approval.objects.filter(execution_id=item.execution_id).count() == 1


def test_approving_resumes_the_run_with_the_validated_input(people, sent):
    item = paused({"schema": SCHEMA})
    done = decide(item.pk, people["alice"], approve=True,
                  input={"carrier": "dhl", "express": True}, comment=" looks good ")
    assert (done.status, done.decided_by, done.comment) == ("approved", "alice", "looks good")
    assert done.input == {"carrier": "dhl", "express": True} and done.decided_at
    assert sent == [item.execution_id, item.execution_id]  # started, then resumed
    resumed = Event.objects.get(execution_id=item.execution_id, type="TASK_RESUMED")
    assert resumed.value == {"input": {"carrier": "dhl", "express": True}, "approved": True,
                             "actor": "alice", "comment": "looks good", "name": "ship"}
    ex = finish(item)
    assert ex.status == Status.COMPLETED
    assert ex.output == {"shipped": {"carrier": "dhl", "express": True}, "total": 20}


def test_rejecting_reaches_the_workflow_as_a_rejected_error(people, sent):
    item = paused({"schema": SCHEMA})
    done = decide(item.pk, people["bob"], approve=False, input={"ignored": 1},
                  comment="too expensive")
    assert (done.status, done.decided_by, done.input) == ("rejected", "bob", None)
    ex = finish(item)
    assert ex.output == {"rejected": True, "comment": "too expensive", "by": "bob"}


@pytest.mark.parametrize("bad, where", [
    (None, "(root)"), ({"carrier": "fedex"}, "carrier"), ({}, "(root)"),
])
def test_input_failing_the_schema_is_refused_and_nothing_changes(people, sent, bad, where):
    item = paused({"schema": SCHEMA})
    before = events_of(item)
    with pytest.raises(InvalidApprovalInput, match="does not match its schema") as err:
        decide(item.pk, people["alice"], approve=True, input=bad)
    assert err.value.status == 422 and err.value.errors
    assert where in err.value.detail
    item.refresh_from_db()
    assert item.status == "pending" and events_of(item) == before
    assert Execution.objects.get(pk=item.execution_id).status == Status.PAUSED


def test_only_holders_of_the_permission_decide(people, sent):
    item = paused()
    for name in ("carol", "olive"):
        with pytest.raises(NotAllowed, match="decide_approval"):
            decide(item.pk, people[name], approve=True)
    item.refresh_from_db()
    assert item.status == "pending"
    assert approvals.visible(people["carol"]).count() == 0
    assert approvals.decidable(people["alice"]).count() == 1


def test_a_pause_naming_approvers_and_groups_narrows_who_decides(people, sent):
    item = paused({"approvers": ["bob"], "groups": ["ops"]})
    with pytest.raises(NotAllowed, match="Only bob, group ops"):
        decide(item.pk, people["alice"], approve=True)
    assert approvals.visible(people["alice"]).count() == 0
    assert approvals.visible(people["dave"]).count() == 1
    assert decide(item.pk, people["dave"], approve=True).decided_by == "dave"


def test_forbid_self_approval_refuses_the_runs_starter(people, sent):
    item = paused({"forbid_self_approval": True}, actor="alice")
    with pytest.raises(NotAllowed, match="You started this run"):
        decide(item.pk, people["alice"], approve=True)
    assert approvals.decidable(people["alice"]).count() == 0
    assert approvals.decidable(people["bob"]).count() == 1
    assert decide(item.pk, people["bob"], approve=True).status == "approved"


def test_an_item_already_decided_cannot_be_decided_again(people, sent):
    item = paused()
    decide(item.pk, people["alice"], approve=True, input="first")
    before = events_of(item)
    with pytest.raises(AlreadyDecided, match="already approved by alice") as err:
        decide(item.pk, people["bob"], approve=False, comment="second")
    assert err.value.status == 409
    assert events_of(item) == before
    item.refresh_from_db()
    assert (item.status, item.decided_by, item.input) == ("approved", "alice", "first")


def test_cancelling_the_execution_cancels_its_pending_approvals(people, sent):
    item = paused()
    commands.cancel(item.execution_id, actor=Actor.system("olive"))
    item.refresh_from_db()
    assert (item.status, item.decided_by) == ("cancelled", "olive")
    before = events_of(item)
    with pytest.raises(AlreadyDecided, match="already cancelled"):
        decide(item.pk, people["alice"], approve=True)
    assert events_of(item) == before


def test_an_item_of_a_cancelling_execution_is_refused(people, sent):
    item = paused()
    Execution.objects.filter(pk=item.execution_id).update(status=Status.CANCELLING,
                                                         cancel_requested=True)
    with pytest.raises(NotPaused, match="cancelling"):
        decide(item.pk, people["alice"], approve=True)
    item.refresh_from_db()
    assert item.status == "pending"


def test_an_item_of_a_failed_run_says_to_retry_it_first(people, sent):
    """A run can fail with a pause still pending (e.g. a workflow timeout); its item stays
    pending for when the run is retried, and says so instead of offering a decision."""
    from executions.inbox.views import item_dict

    item = paused()
    Execution.objects.filter(pk=item.execution_id).update(status=Status.FAILED)
    item = Approval.objects.select_related("execution").get(pk=item.pk)
    shown = item_dict(item, people["alice"])
    assert shown["may_decide"] is False
    assert f"retry it (its page, or flux runs retry {item.execution_id})" in shown["refusal"]
    with pytest.raises(NotPaused, match="The run failed while it waited here") as err:
        decide(item.pk, people["alice"], approve=True)
    assert err.value.status == 409
    item.refresh_from_db()
    assert item.status == "pending"


def test_a_resume_from_elsewhere_closes_the_approval(people, sent):
    item = paused()
    commands.resume(item.execution_id, {"via": "cli"}, actor=Actor.system("root"),
                    comment="cli")
    item.refresh_from_db()
    assert (item.status, item.decided_by, item.input) == ("approved", "root", {"via": "cli"})


def test_each_pause_of_a_run_gets_its_own_approval(people, sent):
    first = paused(workflow="inbox_two_steps")
    decide(first.pk, people["alice"], approve=True, input=1)
    assert runner.run(first.execution_id) == Status.PAUSED
    second = Approval.objects.get(execution_id=first.execution_id, status="pending")
    assert (second.pause_name, second.title) == ("second", "Second")
    decide(second.pk, people["bob"], approve=True, input=2)
    assert finish(second).output == [1, 2]
