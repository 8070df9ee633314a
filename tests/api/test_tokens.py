"""API tokens: hashed at rest, shown once, refused when revoked or expired."""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from executions.models import Token
from tests.api.conftest import TokenClient, client_for
from tests.cli.conftest import flux


def test_a_token_authenticates_as_its_user(users):
    token, raw = Token.issue(users["viewer"])
    answer = TokenClient(raw).get("/api/executions/")
    assert answer.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_raw_token_is_nowhere_in_the_database(users):
    _, raw = Token.issue(users["viewer"], name="ci")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM executions_token")
        rows = cursor.fetchall()
    assert rows and raw not in repr(rows)
    assert raw[len("flux_"):] not in repr(rows)


def test_a_revoked_token_is_refused(users):
    token, raw = Token.issue(users["admin"])
    token.revoke()
    answer = TokenClient(raw).get("/api/executions/")
    assert answer.status_code == 401 and answer.json()["code"] == "invalid_token"


def test_an_expired_token_is_refused(users):
    token, raw = Token.issue(users["admin"], expires_in=timedelta(days=1))
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert TokenClient(raw).get("/api/executions/").status_code == 401


def test_a_bad_token_is_refused_even_with_a_session(users):
    client = client_for(users["admin"])
    answer = client.get("/api/executions/", HTTP_AUTHORIZATION="Bearer flux_nope")
    assert answer.status_code == 401
    assert client.get("/api/executions/", HTTP_AUTHORIZATION="Basic abc").status_code == 401


def test_an_inactive_users_token_is_refused(users):
    _, raw = Token.issue(users["admin"])
    users["admin"].is_active = False
    users["admin"].save()
    assert TokenClient(raw).get("/api/executions/").status_code == 401


def test_owners_create_list_and_revoke_their_tokens_through_the_api(users):
    me = client_for(users["nobody"])
    made = me.post("/api/tokens/", {"name": "laptop", "expires_in_days": 30},
                   content_type="application/json").json()
    assert made["token"].startswith("flux_") and made["expires_at"]
    listed = me.get("/api/tokens/").json()["items"]
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    other, _ = Token.issue(users["viewer"])
    assert me.delete(f"/api/tokens/{other.pk}").status_code == 404  # not theirs
    assert client_for(users["admin"]).delete(f"/api/tokens/{other.pk}").status_code == 200
    assert me.delete(f"/api/tokens/{made['id']}").json()["status"] == "revoked"
    assert TokenClient(made["token"]).get("/api/tokens/").status_code == 401


def test_the_cli_creates_a_token_that_works_and_revokes_it(users):
    made = flux("token", "create", "operator", "--name", "ci", "--expires", "30d")
    assert made.code == 0
    raw = made.out.strip().splitlines()[-1]
    assert TokenClient(raw).get("/api/executions/").status_code == 200
    as_json = flux("token", "create", "operator", "--json")
    data = json.loads(as_json.out)
    assert set(data) == {"id", "token"}
    token = Token.objects.get(pk=data["id"])
    assert token.expires_at is None
    assert flux("token", "revoke", str(token.pk)).code == 0
    assert TokenClient(data["token"]).get("/api/executions/").status_code == 401
    listed = flux("token", "list", "--json")
    assert raw not in listed.out and len(json.loads(listed.out)) == 2


def test_the_cli_refuses_unknown_users_and_ids(users):
    assert flux("token", "create", "ghost").code == 2
    assert flux("token", "revoke", "999").code == 2
    assert flux("token", "create", "viewer", "--expires", "soon").code == 2


def test_the_tokens_page_shows_a_new_token_once_and_revokes(users):
    page = client_for(users["viewer"])
    made = page.post("/tokens/", {"name": "laptop", "expires_in_days": "30"})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    token = Token.objects.get(user=users["viewer"])
    raw = made.context["created"]["raw"]
    assert raw in made.content.decode() and TokenClient(raw).get("/api/tokens/").status_code == 200
    again = page.get("/tokens/").content.decode()
    assert raw not in again and token.prefix in again
    other, _ = Token.issue(users["operator"])
    assert page.post(f"/tokens/{other.pk}/revoke/").status_code == 404
    assert page.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    assert TokenClient(raw).get("/api/tokens/").status_code == 401
