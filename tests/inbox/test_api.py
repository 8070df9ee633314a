"""/api/approvals/: the same rules as the page, the public JSON and error shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from executions.models import Approval, Execution
from flux import Status
from tests.inbox.conftest import finish, paused

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {"type": "object", "required": ["carrier"],
          "properties": {"carrier": {"type": "string"}}}


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c: Client, path: str, body: dict | None = None):
    return c.post(path, body if body is not None else {}, content_type="application/json")


def test_approving_through_the_api(people, sent):
    item = paused({"schema": SCHEMA, "title": "Ship?"})
    r = post(client(people["alice"]), f"/api/approvals/{item.pk}/approve",
             {"input": {"carrier": "ups"}, "comment": "ok"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["status"], body["decided_by"], body["input"], body["comment"]) == (
        "approved", "alice", {"carrier": "ups"}, "ok")
    assert finish(item).output["shipped"] == {"carrier": "ups"}


def test_rejecting_through_the_api_needs_no_input(people, sent):
    item = paused()
    r = post(client(people["bob"]), f"/api/approvals/{item.pk}/reject")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "rejected"


def test_errors_are_clear_and_change_nothing(people, sent):
    item = paused({"schema": SCHEMA})
    alice = client(people["alice"])
    r = post(alice, f"/api/approvals/{item.pk}/approve", {"input": {"carrier": 3}})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input" and r.json()["errors"][0]["path"] == ["carrier"]
    assert post(alice, "/api/approvals/999999/approve").json()["code"] == "not_found"
    assert Approval.objects.get(pk=item.pk).status == "pending"
    assert post(alice, f"/api/approvals/{item.pk}/reject", {"comment": "no"}).status_code == 200
    r = post(client(people["bob"]), f"/api/approvals/{item.pk}/approve",
             {"input": {"carrier": "ups"}})
    assert r.status_code == 409
    assert r.json()["code"] == "already_decided" and "rejected by alice" in r.json()["detail"]


def test_a_user_without_the_permission_gets_403_everywhere(people, sent):
    item = paused()
    carol = client(people["carol"])
    for r in (carol.get("/api/approvals/?status=pending"), carol.get(f"/api/approvals/{item.pk}"),
              post(carol, f"/api/approvals/{item.pk}/approve"),
              post(carol, f"/api/approvals/{item.pk}/reject")):
        assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert Client().get("/api/approvals/").status_code in (401, 403)
    assert Approval.objects.get(pk=item.pk).status == "pending"


def test_a_pause_naming_someone_else_is_403_for_this_item(people, sent):
    item = paused({"approvers": ["bob"]})
    alice = client(people["alice"])
    assert alice.get(f"/api/approvals/{item.pk}").status_code == 404
    r = post(alice, f"/api/approvals/{item.pk}/approve")
    assert r.status_code == 403 and "Only bob" in r.json()["detail"]


def test_a_cancelled_execution_gets_409(people, sent):
    item = paused()
    Execution.objects.filter(pk=item.execution_id).update(status=Status.CANCELLING,
                                                         cancel_requested=True)
    r = post(client(people["alice"]), f"/api/approvals/{item.pk}/approve")
    assert r.status_code == 409 and r.json()["code"] == "execution_not_paused"


def test_listing_filters_and_pages(people, sent):
    a = paused({"title": "A"})
    paused({"title": "B", "deadline": 3600, "groups": ["ops"]})
    c = paused({"title": "C", "deadline": 60})
    Approval.objects.filter(pk=c.pk).update(deadline=datetime.now(UTC) - timedelta(seconds=5))
    dave = client(people["dave"])
    titles = lambda r: [i["title"] for i in r.json()["items"]]  # noqa: E731
    r = dave.get("/api/approvals/?status=pending")
    assert r.status_code == 200 and titles(r) == ["C", "B", "A"] and r.json()["next"] is None
    assert titles(dave.get("/api/approvals/?status=pending&order=due")) == ["C", "B", "A"]
    assert titles(dave.get("/api/approvals/?assigned=me")) == ["B"]
    assert titles(dave.get("/api/approvals/?overdue=1")) == ["C"]
    assert titles(dave.get("/api/approvals/?workflow=nope")) == []
    # alice is not in ops: B is not hers to see
    assert titles(client(people["alice"]).get("/api/approvals/")) == ["C", "A"]
    pages, cursor = [], None
    while True:
        r = dave.get("/api/approvals/?limit=1&order=due" + (f"&cursor={cursor}" if cursor else ""))
        pages += titles(r)
        cursor = r.json()["next"]
        if not cursor:
            break
    assert pages == ["C", "B", "A"]
    assert dave.get("/api/approvals/?cursor=zzz").json()["code"] == "bad_cursor"
    assert dave.get("/api/approvals/?status=maybe").status_code == 400
    one = dave.get(f"/api/approvals/{a.pk}").json()
    assert one["may_decide"] is True and one["execution_id"] == a.execution_id


def test_bulk_decides_each_and_reports_each(people, sent):
    a, b = paused(), paused({"schema": SCHEMA})
    r = post(client(people["alice"]), "/api/approvals/bulk",
             {"ids": [a.pk, b.pk], "action": "approve", "comment": "bulk"})
    items = {i["id"]: i for i in r.json()["items"]}
    assert items[a.pk]["ok"] and items[a.pk]["approval"]["status"] == "approved"
    assert not items[b.pk]["ok"] and items[b.pk]["status"] == 422
    r = post(client(people["alice"]), "/api/approvals/bulk",
             {"ids": [a.pk, b.pk], "action": "reject", "comment": "bulk"})
    assert [i["ok"] for i in r.json()["items"]] == [False, True]
