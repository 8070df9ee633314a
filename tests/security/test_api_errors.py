"""Every /api/ answer is JSON in the error shape, whatever produced it (issue 17, item 7):
a method an endpoint does not take, a path no endpoint has (with any method and a
bearer token), a request Django itself refuses."""

from __future__ import annotations

import pytest

from tests.api.conftest import client_for, make_user, token_client


@pytest.fixture
def bearer(db):
    return token_client(make_user("ops", "operator"))


def shaped(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"].startswith("application/json"), answer.content
    body = answer.json()
    assert body["code"] == code and body["detail"]
    return body


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/api/executions/"), ("PATCH", "/api/health"), ("PUT", "/api/workflows/"),
    ("POST", "/api/executions/abc"), ("GET", "/api/executions/abc/cancel"),
])
def test_a_method_an_endpoint_does_not_take_is_a_json_405(bearer, method, path):
    answer = bearer.request(method, path)
    body = shaped(answer, 405, "method_not_allowed")
    assert answer["Allow"] and method not in answer["Allow"]
    assert method in body["detail"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_any_method_to_an_unknown_path_is_a_json_404_even_with_a_token(bearer, method):
    shaped(bearer.request(method, "/api/no/such/endpoint/"), 404, "not_found")


@pytest.mark.parametrize("method", ["post", "delete"])
def test_a_session_post_to_an_unknown_path_is_a_json_404_not_a_csrf_page(db, method):
    client = client_for(make_user("ops", "operator"), csrf=True)
    shaped(getattr(client, method)("/api/nope"), 404, "not_found")


def test_a_session_without_csrf_on_a_real_endpoint_is_still_refused(db):
    client = client_for(make_user("ops", "operator"), csrf=True)
    shaped(client.post("/api/executions/abc/cancel"), 403, "csrf_failed")


def test_a_request_django_refuses_is_json_too(bearer):
    answer = bearer.request("GET", "/api/executions/", HTTP_HOST="evil.example")
    shaped(answer, 400, "bad_request")


@pytest.mark.parametrize("path", ["/api/approvals/", "/api/graphs/", "/api/tasks/",
                                  "/api/executions/", "/api/graphs/1/versions"])
@pytest.mark.parametrize("limit", ["0", "-1", "100000", "ten"])
def test_a_bad_limit_is_a_422_everywhere(db, path, limit):
    client = client_for(make_user("root", "admin"))
    body = shaped(client.get(path, {"limit": limit}), 422, "invalid")
    assert "limit" in str(body["errors"])


@pytest.mark.parametrize("cursor", ["-5", "x"])
def test_a_graph_cursor_not_given_out_is_a_400(db, cursor):
    client = client_for(make_user("root", "admin"))
    shaped(client.get("/api/graphs/", {"cursor": cursor}), 400, "bad_cursor")
