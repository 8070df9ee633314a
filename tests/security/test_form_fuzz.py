"""The page forms fuzzed like the API (tests/api/test_fuzz.py): hypothesis-generated
form posts and query strings, as an admin, must never answer a 500.

Every form that sits beside an API endpoint: the Run form, an execution's actions,
bulk actions (by ids or by filter), the inbox's decide and bulk forms, the tokens
form; and the filters in the lists' query strings. Text may hold anything a browser
can send (NUL included; a lone surrogate cannot be sent as UTF-8)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tests.security.workflows  # noqa: F401 - registers sec_echo, sec_ask
from executions.core import commands
from executions.core.commands import Actor
from executions.models import Approval, Execution

pytestmark = pytest.mark.django_db(transaction=True)

FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
_ANY = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
#: Any text, often with what breaks things: NUL, quotes, markup, very long, odd URLs.
TEXT = st.one_of(
    _ANY,
    st.tuples(_ANY, _ANY).map(lambda t: f"{t[0]}\x00{t[1]}"),
    st.sampled_from(["\x00", "'; DROP TABLE x; --", "<script>alert(1)</script>", "//evil.example",
                     "javascript:alert(1)", "%00", "\r\nX: y", "a" * 5000, "../../etc/passwd",
                     "１２", "-0", "1e400"]),
)
JSONISH = st.one_of(
    TEXT,
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
    .map(lambda v: json.dumps(v)),
    st.sampled_from(['"\\ud800"', '"a\\u0000b"', '{"k\\u0000": 1}', "[" * 50 + "]" * 50,
                     "1e999", "NaN", '{"a": 1', "\x00"]),
)
MOMENT = st.one_of(TEXT, st.sampled_from(
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31", "99999w",
     "2024-02-30", "2024-01-01T25:00", "-1d", "1e9d"]))


@pytest.fixture
def world(admin, queue):
    client = admin
    done = commands.start("sec_echo", "x", actor=Actor.system("setup"))
    asking = commands.start("sec_ask", None, actor=Actor.system("setup"))
    queue.drain()
    approval = Approval.objects.get(execution_id=asking.pk)
    return {"client": client, "done": done.pk, "paused": asking.pk,
            "approval": approval.pk, "queue": queue}


def served(answer) -> None:
    assert answer.status_code < 500, answer.content[:500]


@FUZZ
@given(value=JSONISH)
def test_the_run_form(world, value):
    served(world["client"].post("/workflows/sec_echo/", {"input": value}))


@FUZZ
@given(action=st.sampled_from(["cancel", "retry", "rerun"]) | TEXT, value=JSONISH,
       target=TEXT, which=st.sampled_from(["done", "paused"]))
def test_an_execution_action(world, action, value, target, which):
    path = f"/executions/{world[which]}/{action}/"
    if "/" in action or not action.strip():
        path = f"/executions/{world[which]}/cancel/"
    served(world["client"].post(path, {"input": value, "next": target}))


@FUZZ
@given(action=st.sampled_from(["cancel", "rerun"]) | TEXT,
       scope=st.sampled_from(["filter", "ids", ""]), status=TEXT, since=MOMENT, until=MOMENT,
       ids=st.lists(TEXT, max_size=3), raw=TEXT)
def test_bulk_actions(world, action, scope, status, since, until, ids, raw):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    query.update({"status": status, "since": since, "until": until, "id": raw})
    served(world["client"].post("/executions/bulk/", {
        "action": action, "scope": scope, "query": query.urlencode() + "&" + raw,
        "ids": ids or [world["done"]]}))


@FUZZ
@given(action=st.sampled_from(["approve", "reject"]) | TEXT, comment=TEXT, value=JSONISH,
       target=TEXT, other=st.integers(-5, 10**12))
def test_the_inbox_forms(world, action, comment, value, target, other):
    client = world["client"]
    for pk in (world["approval"], other):
        served(client.post(f"/inbox/{abs(pk)}/decide/", {
            "action": action, "comment": comment, "input": value, "next": target}))
    served(client.post("/inbox/bulk/", {"ids": [world["approval"], str(other), comment],
                                        "action": action, "comment": comment,
                                        "next": target}))


@FUZZ
@given(name=TEXT, days=TEXT | st.integers(-10, 10**12).map(str))
def test_the_tokens_form(world, name, days):
    served(world["client"].post("/tokens/", {"name": name, "expires_in_days": days}))


@FUZZ
@given(params=st.dictionaries(
    st.sampled_from(["status", "workflow", "since", "until", "id", "sort", "cursor", "limit",
                     "errors", "task", "assigned", "overdue", "order", "fragment", "from",
                     "graph", "a", "b"]),
    MOMENT, max_size=6))
def test_the_filters_of_every_list(world, params):
    client = world["client"]
    for path in ("/executions/", f"/executions/{world['done']}/", "/inbox/", "/",
                 "/workflows/", "/graphs/", "/graphs/new/", "/tokens/"):
        served(client.get(path, params))
    assert Execution.objects.filter(pk=world["done"]).exists()
