"""Events through the API and the CLI: delivery answers, bad input, 404s; children and
the parent filter in execution JSON."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from executions.core import commands, runner
from executions.core.commands import SYSTEM
from executions.models import Execution, KeptEvent
from flux import Status
from tests.runtime import workflows  # noqa: F401 - registers the rt_* workflows


@pytest.fixture
def operator_client(queue):
    from django.contrib.auth.models import Group, User
    from django.test import Client

    user = User.objects.create_user("olga", password="pw")
    user.groups.add(Group.objects.get(name="operator"))
    client = Client()
    client.force_login(user)
    return client


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_event_by_name_and_to_one_execution(operator_client, queue):
    w = commands.start("rt_waiter", {"order": 4}, actor=SYSTEM)
    queue.drain()
    r = post(operator_client, "/api/events/payment", {"payload": {"order": 3}})
    assert r.status_code == 200 and r.json() == {"delivered": [], "kept": True}
    r = post(operator_client, f"/api/executions/{w.id}/events/payment",
             {"payload": {"order": 4, "paid": 10}})
    assert r.json() == {"delivered": [w.id], "kept": False}
    queue.drain()
    got = operator_client.get(f"/api/executions/{w.id}").json()
    assert got["status"] == "completed" and got["output"]["payload"]["paid"] == 10
    r = post(operator_client, f"/api/executions/{w.id}/events/payment", {"payload": {}})
    assert r.status_code == 409 and r.json()["code"]


def test_bad_events_get_clear_errors_and_write_nothing(operator_client, settings):
    settings.FLUX_MAX_INPUT_BYTES = 64
    r = post(operator_client, "/api/events/payment", {"payload": {"x": "y" * 100}})
    assert r.status_code == 413 and "FLUX_MAX_INPUT_BYTES" in r.json()["detail"]
    r = post(operator_client, "/api/executions/nope/events/payment", {"payload": 1})
    assert r.status_code == 404 and r.json()["code"] == "execution_not_found"
    r = post(operator_client, "/api/events/" + "n" * 201, {"payload": 1})
    assert r.status_code == 422 and "event name" in r.json()["detail"]
    assert KeptEvent.objects.count() == 0


def test_the_detail_lists_children_and_the_list_filters_by_parent(operator_client, queue):
    parent = commands.start("rt_fanout", 2, actor=SYSTEM)
    queue.sent.clear()
    runner.run(parent.id)
    detail = operator_client.get(f"/api/executions/{parent.id}").json()
    assert [c["workflow"] for c in detail["children"]] == ["rt_child", "rt_child"]
    assert detail["waiting_for"][0]["kind"] == "child"
    kids = operator_client.get(f"/api/executions/?parent={parent.id}").json()["items"]
    assert {k["parent_execution_id"] for k in kids} == {parent.id}
    assert {k["id"] for k in kids} == {c["id"] for c in detail["children"]}


def test_flux_events_send(queue, capsys):
    w = commands.start("rt_waiter", {"order": 1}, actor=SYSTEM)
    queue.drain()
    call_command("flux", "events", "send", "payment", "--payload", '{"order": 1}', "--json")
    assert json.loads(capsys.readouterr().out) == {"delivered": [w.id], "kept": False}
    call_command("flux", "events", "send", "payment", "--execution", w.id)
    assert "kept for a later wait" in capsys.readouterr().out
    queue.drain()
    assert Execution.objects.get(pk=w.id).status == Status.COMPLETED
    with pytest.raises(SystemExit) as exit_:
        call_command("flux", "events", "send", "payment", "--payload", "{bad")
    assert exit_.value.code == 2
