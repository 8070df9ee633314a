"""Answering a pause asks the same question through every door (issue: an operator
approved a reimbursement through ``POST /api/executions/{id}/resume``).

The API's resume, the inbox (page and API) and the CLI all decide through
``executions.core.commands.decide``: the ``decide_approval`` permission, the pause's own
``approvers`` and ``groups``, and ``forbid_self_approval``. A refused request writes
nothing: the approval stays pending and the log has no ``TASK_RESUMED``.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

from executions.models import Approval, Event
from tests.api.conftest import PERSONAS, client_for, token_client
from tests.inbox.conftest import paused

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sent")]

#: Who may resume an approval pause open to every approver, by persona.
EXPECTED = {"anonymous": 401, "nobody": 403, "viewer": 403, "operator": 403,
            "approver": 200, "editor": 403, "admin": 200}


def untouched(item: Approval) -> bool:
    item.refresh_from_db()
    return item.status == "pending" and not Event.objects.filter(
        execution_id=item.execution_id, type="TASK_RESUMED").exists()


@pytest.mark.parametrize("persona", ["anonymous", *PERSONAS])
def test_resume_of_an_approval_is_decided_by_the_approval_rules(users, persona):
    item = paused({"title": "Reimburse", "schema": {"type": "object"}})
    client = client_for(None) if persona == "anonymous" else token_client(users[persona])
    answer = client.post(f"/api/executions/{item.execution_id}/resume",
                         {"input": {"amount": "999.00"}})
    assert answer.status_code == EXPECTED[persona], answer.content
    if answer.status_code == 200:
        item.refresh_from_db()
        assert (item.status, item.decided_by) == ("approved", persona)
        assert item.input == {"amount": "999.00"}
        assert answer.json()["status"] == "queued"
    else:
        assert answer.json()["code"] in ("permission_denied", "not_authenticated")
        assert untouched(item)


def test_resume_respects_the_pauses_named_approvers(users):
    item = paused({"approvers": ["approver"]})
    refused = token_client(users["admin"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": 1})
    # The admin group holds decide_approval, but the pause names who decides it.
    assert refused.status_code == 403
    assert "Only approver may decide" in refused.json()["detail"]
    assert untouched(item)
    ok = token_client(users["approver"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": 1})
    assert ok.status_code == 200


def test_resume_respects_the_pauses_groups(users):
    item = paused({"groups": ["editor"]})
    refused = token_client(users["approver"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": 1})
    assert refused.status_code == 403 and untouched(item)


def test_resume_respects_forbid_self_approval(users):
    item = paused({"forbid_self_approval": True}, actor="approver")
    refused = token_client(users["approver"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": 1})
    assert refused.status_code == 403
    assert "forbids approving your own run" in refused.json()["detail"]
    assert untouched(item)
    ok = token_client(users["admin"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": 1})
    assert ok.status_code == 200


def test_resume_checks_the_pauses_schema_and_writes_nothing_on_failure(users):
    item = paused({"schema": {"type": "object", "required": ["carrier"]}})
    answer = token_client(users["approver"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": {"other": 1}})
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_input"
    assert answer.json()["errors"]
    assert untouched(item)


def test_resume_of_a_named_pause_that_is_not_pending_is_a_409(users):
    item = paused({})
    answer = token_client(users["approver"]).post(
        f"/api/executions/{item.execution_id}/resume", {"input": 1, "pause": "elsewhere"})
    assert answer.status_code == 409 and untouched(item)


def test_the_cli_resume_answers_through_the_same_command(capsys):
    item = paused({"schema": {"type": "object", "required": ["carrier"]}})
    with pytest.raises(SystemExit) as exit_:
        call_command("flux", "runs", "resume", item.execution_id, "--input", '{"x": 1}')
    assert exit_.value.code == 2
    assert "does not match its schema" in capsys.readouterr().err
    assert untouched(item)
    call_command("flux", "runs", "resume", item.execution_id, "--input",
                 '{"carrier": "ups"}')
    item.refresh_from_db()
    assert item.status == "approved" and item.input == {"carrier": "ups"}
