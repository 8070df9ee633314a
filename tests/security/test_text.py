"""Text no store keeps (a NUL, a lone surrogate) is refused at every door with a 422
naming the field, on both shapes; and a bad value stored before cannot break a page
(issue 17, item 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client

import tests.security.workflows  # noqa: F401 - registers sec_echo, sec_ask
from executions.core import commands
from executions.core.commands import SYSTEM, Actor
from executions.models import Approval, Event, Execution, Secret, Token
from graphs.models import GraphDefinition
from tests.cli.conftest import flux
from tests.graphs.tasks import three_nodes

pytestmark = pytest.mark.django_db(transaction=True)

BAD = ["\ud800", "a\x00b", {"k\x00": 1}, ["ok", {"deep": "x\udfff"}]]


def post(client: Client, path: str, body) -> object:
    return client.post(path, body, content_type="application/json")


def paused_run(queue) -> Execution:
    execution = commands.start("sec_ask", None, actor=Actor.system("setup"))
    queue.drain()
    return Execution.objects.get(pk=execution.pk)


@pytest.mark.parametrize("value", BAD)
def test_the_api_refuses_an_input_no_store_keeps(admin, value):
    answer = post(admin, "/api/workflows/sec_echo/run", {"input": value})
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["code"] == "invalid_input" and "cannot be stored" in body["detail"]
    assert body["errors"] and all("path" in e for e in body["errors"])
    assert not Execution.objects.exists()


def test_the_error_names_the_place(admin):
    answer = post(admin, "/api/workflows/sec_echo/run", {"input": {"a": [1, "x\x00"]}})
    assert answer.json()["errors"][0]["path"] == ["a", 1]
    assert "NUL" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize("value", BAD)
def test_the_run_form_refuses_it_too(admin, value):
    answer = admin.post("/workflows/sec_echo/", {"input": json.dumps(value)})
    assert answer.status_code == 422
    assert "cannot be stored" in answer.content.decode()
    assert not Execution.objects.exists()


def test_rerun_with_an_edited_input_refuses_it(admin, queue):
    original = commands.start("sec_echo", "fine", actor=Actor.system("setup"))
    answer = admin.post(f"/executions/{original.pk}/rerun/", {"input": '"\\ud800"'},
                        follow=True)
    assert "cannot be stored" in answer.content.decode()
    assert Execution.objects.count() == 1


def test_the_cli_refuses_it(transactional_db):
    result = flux("run", "sec_echo", "--input", '"a\\u0000b"')
    assert result.code == 2 and "cannot be stored" in result.err and "Traceback" not in result.err
    assert not Execution.objects.exists()


@pytest.mark.parametrize("value", BAD)
def test_answering_a_pause_refuses_it(admin, queue, value):
    execution = paused_run(queue)
    answer = post(admin, f"/api/executions/{execution.pk}/resume", {"input": value})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    approval = Approval.objects.get(execution_id=execution.pk)
    answer = post(admin, f"/api/approvals/{approval.pk}/approve", {"input": value})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input")
    assert Execution.objects.get(pk=execution.pk).status == "paused"
    assert Approval.objects.get(pk=approval.pk).status == "pending"


def test_the_inbox_form_refuses_it(admin, queue):
    execution = paused_run(queue)
    approval = Approval.objects.get(execution_id=execution.pk)
    answer = admin.post(f"/inbox/{approval.pk}/decide/", {"action": "approve",
                                                          "input": '"\\udfff"'}, follow=True)
    assert "cannot be stored" in answer.content.decode()
    answer = admin.post(f"/inbox/{approval.pk}/decide/", {"action": "approve",
                                                          "comment": "ok\x00"})
    assert answer.status_code == 422 and "'comment'" in answer.content.decode()
    assert Approval.objects.get(pk=approval.pk).status == "pending"


@pytest.mark.parametrize("comment", ["\ud800", "no\x00"])
def test_a_comment_no_store_keeps_is_a_422_naming_it(admin, queue, comment):
    execution = paused_run(queue)
    approval = Approval.objects.get(execution_id=execution.pk)
    answer = post(admin, f"/api/approvals/{approval.pk}/reject", {"comment": comment})
    assert answer.status_code == 422 and "comment" in json.dumps(answer.json()["errors"])
    with pytest.raises(Exception, match="cannot be stored"):
        commands.decide(approval.pk, approve=False, comment=comment, actor=SYSTEM)
    assert Approval.objects.get(pk=approval.pk).status == "pending"


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("post", "/api/tokens/", {"name": "ci\x00"}, "name"),
    ("post", "/api/tokens/", {"name": "ci\ud800"}, "name"),
    ("put", "/api/secrets/KEY", {"value": "v\ud800"}, "value"),
    ("put", "/api/secrets/KEY", {"value": "v", "description": "d\x00"}, "description"),
    ("post", "/api/graphs/import", {"workflow": "w\x00"}, "workflow"),
])
def test_text_fields_of_api_bodies_refuse_it(admin, method, path, body, field):
    answer = getattr(admin, method)(path, body, content_type="application/json")
    assert answer.status_code == 422, answer.content
    assert field in json.dumps(answer.json()["errors"])
    assert not Token.objects.exists() and not Secret.objects.exists()


@pytest.mark.parametrize("place", ["name", "description", "node", "condition"])
def test_a_graph_holding_it_is_invalid(admin, place):
    d = three_nodes()
    if place == "node":
        d["nodes"][0]["options"] = {"timeout\x00": 1}
    elif place == "condition":
        d["edges"][0]["condition"] = 'result == "\ud800"'
    else:
        d[place] = "x\x00"
    answer = post(admin, "/api/graphs/", d)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_graph")
    assert "bad_text" in [e["code"] for e in answer.json()["errors"]]
    assert not GraphDefinition.objects.exists()


@pytest.mark.parametrize("path", ["/api/executions/?workflow=a%00", "/executions/?workflow=%00",
                                  "/inbox/?workflow=%00", "/api/approvals/?workflow=%00",
                                  "/api/executions/?cursor=%00"])
def test_a_query_parameter_holding_a_nul_is_a_422_naming_it(admin, path):
    answer = admin.get(path)
    assert answer.status_code == 422
    name = path.split("?")[1].split("=")[0]
    assert f"'{name}'" in (answer.json()["detail"] if path.startswith("/api/")
                           else answer.content.decode())


@pytest.mark.parametrize("path", ["/api/executions/a%00b", "/executions/%00/",
                                  "/api/workflows/%00", "/api/secrets/%00"])
def test_a_path_holding_a_nul_is_a_404(admin, path):
    answer = admin.get(path)
    assert answer.status_code == 404
    if path.startswith("/api/"):
        assert answer.json()["code"] == "not_found"


def test_a_form_field_holding_a_nul_is_a_422(admin):
    answer = admin.post("/tokens/", {"name": "ci\x00"})
    assert answer.status_code == 422 and "'name'" in answer.content.decode()
    assert not Token.objects.exists()


def test_a_bad_value_stored_before_breaks_no_page(admin):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL cannot store a lone surrogate or a NUL at all")
    bad = {"text": "\ud800", "nul": "\x00"}
    now = datetime.now(UTC)
    execution = Execution.objects.create(id="b" * 32, workflow="sec_echo", status="failed",
                                         created_at=now, input=bad, output=bad,
                                         error={"type": "ValueError", "message": "\ud800",
                                                "traceback": "\ud800"}, last_seq=1)
    Event.objects.create(execution=execution, seq=1, type="WORKFLOW_STARTED", name="sec_echo",
                         source_id=execution.pk, value=bad, time=now)
    for path in (f"/executions/{execution.pk}/", "/executions/", "/admin/executions/event/",
                 f"/admin/executions/execution/{execution.pk}/change/",
                 f"/admin/executions/event/{Event.objects.get().pk}/change/",
                 f"/api/executions/{execution.pk}", f"/api/executions/{execution.pk}/events"):
        answer = admin.get(path)
        assert answer.status_code == 200, path
        assert "\\ud800" in answer.content.decode() or path.endswith(("s/", "t/")), path
    download = admin.get(f"/executions/{execution.pk}/events.json")
    assert json.loads(b"".join(download.streaming_content))[0]["value"] == bad


def test_ordinary_unicode_is_kept(admin):
    value = {"name": "Zoë 日本 🙂", "tab": "a\tb", "ctl": "\x01"}
    answer = post(admin, "/api/workflows/sec_echo/run", {"input": value})
    assert answer.status_code == 201 and answer.json()["input"] == value

