"""Every REST list pages the same way (executions/api/pagination.py): ``?limit=`` checked
alike (422 outside its bounds), opaque cursors (400 ``bad_cursor`` for one the list did
not give out), keyset pages that neither repeat nor skip a row, ties included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

import tests.graphs.tasks  # noqa: F401 - registers the graph tests' tasks
from executions.api.pagination import BadCursor, page
from executions.models import Approval, Event, Execution
from tests.api.conftest import client_for
from tests.graphs.tasks import three_nodes


@pytest.fixture
def lists(users, db) -> list[str]:
    """Each list endpoint's URL, with something to list."""
    admin = client_for(users["admin"])
    now = timezone.now()
    execution = Execution.objects.create(id="e0", workflow="api_hello", status="completed",
                                         created_at=now)
    for seq in (1, 2, 3):
        Event.objects.create(execution=execution, seq=seq, type="TASK_STARTED", name="t",
                             source_id=f"t{seq}", time=now)
    graph = admin.post("/api/graphs/", three_nodes(), content_type="application/json").json()
    return ["/api/workflows/", "/api/executions/", "/api/executions/e0/events",
            "/api/tokens/", "/api/secrets/", "/api/approvals/", "/api/graphs/",
            f"/api/graphs/{graph['id']}/versions", "/api/tasks/"]


def test_every_list_checks_limit_alike(users, lists):
    admin = client_for(users["admin"])
    for url in lists:
        for bad in ("0", "-1", "100000", "many"):
            answer = admin.get(f"{url}?limit={bad}")
            assert answer.status_code == 422, (url, bad)
            assert answer.json()["code"] == "invalid", (url, bad)
        ok = admin.get(f"{url}?limit=1")
        assert ok.status_code == 200 and set(ok.json()) == {"items", "next"}, url


def test_every_list_refuses_a_cursor_it_did_not_give_out(users, lists):
    admin = client_for(users["admin"])
    executions_cursor = admin.get("/api/executions/?limit=1").json()
    assert executions_cursor["next"] is None  # one execution: no next page
    foreign = "WyJ4Il0"  # ["x"]: a well-formed cursor of another list's shape
    for url in lists:
        for bad in ("garbage!!", foreign, "bnVsbA"):  # "null"
            answer = admin.get(f"{url}?cursor={bad}")
            if url in ("/api/workflows/", "/api/secrets/", "/api/tasks/") and bad == foreign:
                # ["x"] is a name: a cursor these lists could have given out.
                assert answer.status_code == 200, url
                continue
            assert answer.status_code == 400, (url, bad, answer.content)
            assert answer.json()["code"] == "bad_cursor", (url, bad)


def walk(client, url: str, limit: int) -> list:
    seen, cursor = [], None
    while True:
        answer = client.get(f"{url}{'&' if '?' in url else '?'}limit={limit}"
                            + (f"&cursor={cursor}" if cursor else "")).json()
        seen += answer["items"]
        cursor = answer["next"]
        if cursor is None:
            return seen


def test_ties_on_the_sort_key_neither_repeat_nor_vanish(users, db):
    moment = timezone.now()
    for i in range(7):  # three share one created_at; the id breaks the tie
        Execution.objects.create(id=f"t{i}", workflow="api_hello", status="completed",
                                 created_at=moment - timedelta(minutes=i if i > 2 else 0))
    seen = [e["id"] for e in walk(client_for(users["viewer"]), "/api/executions/", 2)]
    assert seen == ["t2", "t1", "t0", "t3", "t4", "t5", "t6"]


def test_events_take_after_and_a_cursor_together(users, db):
    execution = Execution.objects.create(id="ev", workflow="api_hello", status="completed",
                                         created_at=timezone.now())
    for seq in range(1, 8):
        Event.objects.create(execution=execution, seq=seq, type="TASK_STARTED", name="t",
                             source_id=f"t{seq}", time=timezone.now())
    seen = walk(client_for(users["viewer"]), "/api/executions/ev/events?after=2", 2)
    assert [e["seq"] for e in seen] == [3, 4, 5, 6, 7]


def test_a_nulls_last_order_pages_through_the_nulls(db):
    """The inbox's due order: deadline ascending, no deadline last, then id."""
    now = timezone.now()
    execution = Execution.objects.create(id="ap", workflow="w", status="paused",
                                         created_at=now)
    for i, due in enumerate([None, 2, None, 1, 2, None]):
        Approval.objects.create(execution=execution, workflow="w", pause_name=f"p{i}",
                                source_id=f"s{i}", requested_at=now,
                                deadline=None if due is None else now + timedelta(hours=due))
    rows = Approval.objects.order_by(F("deadline").asc(nulls_last=True), "id")
    expected = [a.pause_name for a in rows]
    seen, cursor = [], None
    while True:
        found, cursor = page(rows, 1, cursor)
        seen += [a.pause_name for a in found]
        if cursor is None:
            break
    assert seen == expected == ["p3", "p1", "p4", "p0", "p2", "p5"]


def test_a_list_of_dicts_pages_by_its_order(db):
    items = [{"name": n} for n in "abcde"]
    first, cursor = page(items, 2, None, order=("name",))
    second, cursor = page(items, 2, cursor, order=("name",))
    assert [i["name"] for i in first + second] == ["a", "b", "c", "d"]
    with pytest.raises(BadCursor):
        page(items, 2, "WzFd", order=("name",))  # [1]: not a name


def test_the_executions_page_pages_by_duration(db):
    """The page's "longest first" sort pages on a generated column (a duration)."""
    from django.http import QueryDict

    from executions.views import filters

    start = timezone.now()
    for i, seconds in enumerate([5, 1, 5, 3, 0.5]):
        Execution.objects.create(id=f"d{i}", workflow="w", status="completed",
                                 created_at=start, started_at=start,
                                 finished_at=start + timedelta(seconds=seconds))
    seen, cursor = [], ""
    while True:
        f = filters.parse(QueryDict(f"sort=-duration&limit=2&cursor={cursor}"))
        rows, cursor = filters.page(f)
        assert f.errors == []
        seen += [r.pk for r in rows]
        if cursor is None:
            break
    assert seen == ["d2", "d0", "d3", "d1", "d4"]
