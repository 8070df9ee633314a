"""Every view that sends the browser to a user-supplied ``next`` stays on this site.

A ``next`` that leaves the site (another host, a protocol-relative ``//host``, a
``javascript:`` URL) is ignored and the view's own page is used instead, on the
success path and on the error path alike.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.inbox.conftest import paused

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = ["https://evil.example/", "//evil.example", "///evil.example/x",
           "javascript:alert(1)", "/\\evil.example", "http:evil.example", " //evil.example"]


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.parametrize("target", HOSTILE)
def test_the_inbox_decide_form_never_leaves_the_site(people, sent, target):
    item = paused()
    alice = client(people["alice"])
    # the error path (bad JSON) and the success path
    bad = alice.post(f"/inbox/{item.pk}/decide/", {"action": "approve", "input": "{",
                                                   "next": target})
    good = alice.post(f"/inbox/{item.pk}/decide/", {"action": "reject", "next": target})
    assert (bad.status_code, bad["Location"]) == (302, "/inbox/")
    assert (good.status_code, good["Location"]) == (302, "/inbox/")


@pytest.mark.parametrize("target", HOSTILE)
def test_the_inbox_bulk_form_never_leaves_the_site(people, sent, target):
    item = paused()
    carol = client(people["carol"])  # a viewer: refused, the error path
    r = carol.post("/inbox/bulk/", {"ids": [item.pk], "action": "approve", "next": target})
    assert (r.status_code, r["Location"]) == (302, "/inbox/")


def test_a_next_on_this_site_is_followed(people, sent):
    item = paused()
    r = client(people["alice"]).post(f"/inbox/{item.pk}/decide/",
                                     {"action": "reject", "next": "/inbox/?order=due"})
    assert r["Location"] == "/inbox/?order=due"


@pytest.mark.parametrize("target", HOSTILE)
def test_an_execution_action_never_leaves_the_site(people, sent, target):
    item = paused()
    from django.contrib.auth.models import Group

    people["olive"].groups.add(Group.objects.get(name="operator"))
    r = client(people["olive"]).post(f"/executions/{item.execution_id}/retry/",
                                     {"next": target})
    assert (r.status_code, r["Location"]) == (302, f"/executions/{item.execution_id}/")
