"""The inbox page, its no-JavaScript form posts and the nav badge."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from executions.models import Approval
from tests.inbox.conftest import finish, paused

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {"type": "object", "required": ["carrier"],
          "properties": {"carrier": {"type": "string"}}}


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def badge(html: str) -> str:
    return re.search(r'data-testid="inbox-count"[^>]*>(\d+)<', html).group(1)


def test_the_inbox_lists_pending_items_with_what_the_run_produced(people, sent):
    item = paused({"title": "Ship **it**?", "description": "Total: **20** <script>x()</script>",
                   "schema": SCHEMA, "deadline": 3600})
    r = client(people["alice"]).get("/inbox/")
    html = r.content.decode()
    assert r.status_code == 200
    assert f'data-testid="approval-{item.pk}"' in html
    assert f'data-testid="decide-form-{item.pk}"' in html
    assert "Total: <strong>20</strong>" in html and "<script>x()" not in html
    assert "&quot;total&quot;: 20" in html  # the pause's output
    assert "quote" in html  # a recorded task result
    assert f'href="/executions/{item.execution_id}/"' in html
    assert badge(html) == "1"


def test_times_are_time_elements_in_the_clock_format_of_every_page(people, sent):
    item = paused({"deadline": 5400})
    asked = datetime(2026, 3, 27, 8, 0, 0, 250000, tzinfo=UTC)
    Approval.objects.filter(pk=item.pk).update(requested_at=asked,
                                               deadline=asked + timedelta(minutes=90))
    html = client(people["alice"]).get("/inbox/").content.decode()
    card = html[html.index(f'data-testid="approval-{item.pk}"'):]
    assert ('Requested <time datetime="2026-03-27T08:00:00.250000+00:00">2026-03-27 '
            '08:00:00</time>') in card
    assert 'deadline <time datetime="2026-03-27T09:30:00.250000+00:00">2026-03-27 09:30:00' \
           '</time>' in card


def test_a_user_without_the_permission_sees_nothing_to_decide(people, sent):
    item = paused()
    html = client(people["carol"]).get("/inbox/").content.decode()
    assert 'data-testid="inbox-no-permission"' in html
    assert f"approval-{item.pk}" not in html and "decide-form" not in html
    assert badge(html) == "0"


def test_filters_narrow_the_list(people, sent):
    mine = paused({"title": "For ops", "groups": ["ops"]})
    other = paused({"title": "For all"})
    dave = client(people["dave"])
    html = dave.get("/inbox/?assigned=me").content.decode()
    assert f"approval-{mine.pk}" in html and f"approval-{other.pk}\"" not in html
    assert f"approval-{other.pk}\"" not in dave.get("/inbox/?overdue=1").content.decode()
    assert "For all" not in dave.get("/inbox/?workflow=nope").content.decode()


def test_the_decide_form_works_without_javascript(people, sent):
    item = paused({"schema": SCHEMA})
    alice = client(people["alice"])
    r = alice.post(f"/inbox/{item.pk}/decide/", {"action": "approve", "input": '{"carrier": 7}'},
                   follow=True)
    assert "does not match its schema" in r.content.decode()
    assert Approval.objects.get(pk=item.pk).status == "pending"
    alice.post(f"/inbox/{item.pk}/decide/", {"action": "approve", "input": '{"carrier": "ups"}',
                                             "comment": "fine"})
    assert Approval.objects.get(pk=item.pk).status == "approved"
    assert finish(item).output["shipped"] == {"carrier": "ups"}


def test_bulk_rejects_a_selection(people, sent):
    a, b = paused(), paused()
    r = client(people["bob"]).post("/inbox/bulk/", {"ids": [a.pk, b.pk], "action": "reject",
                                                    "comment": "no"}, follow=True)
    assert "Decided 2 items" in r.content.decode()
    assert set(Approval.objects.values_list("status", flat=True)) == {"rejected"}


def test_the_badge_counts_only_what_the_user_may_decide(people, sent):
    paused({"forbid_self_approval": True}, actor="alice")
    paused({"approvers": ["bob"]})
    assert badge(client(people["alice"]).get("/inbox/").content.decode()) == "0"
    assert badge(client(people["bob"]).get("/inbox/").content.decode()) == "2"
