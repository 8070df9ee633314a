"""GET /api/health: no login, reports whether the database and the queue answer, and
how many workers are running."""

from datetime import UTC, datetime, timedelta

import pytest

from fluxweb import api as api_module


@pytest.mark.django_db
def test_health_answers_ok_without_login(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok",
                               "workers": 0}


@pytest.mark.django_db
def test_health_counts_the_workers_heard_of_lately(client):
    from executions.core import workers

    now = datetime.now(UTC)
    workers.beat("web-1:11", "web-1", 11, 4, now - timedelta(minutes=5), now=now)
    workers.beat("web-2:12", "web-2", 12, 4, now, now=now - timedelta(seconds=30))  # silent
    body = client.get("/api/health").json()
    assert (body["status"], body["workers"]) == ("ok", 1)  # no worker is not unhealthy
    workers.gone("web-1:11")
    assert client.get("/api/health").json()["workers"] == 0


@pytest.mark.django_db
def test_health_names_the_part_that_failed(client, monkeypatch):
    monkeypatch.setattr(api_module, "check_queue", lambda: "error")
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "queue": "error",
                               "workers": 0}


def test_docs_and_schema_need_no_login(client):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Fluxweb"
    assert "/api/health" in schema["paths"]


def test_unknown_api_paths_answer_the_error_shape(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "No API endpoint at /api/no-such-thing.",
        "code": "not_found",
    }


@pytest.mark.django_db
def test_the_count_agrees_with_the_list_of_workers_alive_to_the_microsecond():
    from executions.core import workers

    now = datetime.now(UTC)
    edge = now - timedelta(seconds=workers.ALIVE_SECONDS)
    workers.beat("w:1", "w", 1, 4, edge, now=edge)  # just alive
    workers.beat("w:2", "w", 2, 4, edge, now=edge - timedelta(microseconds=1))  # just not
    assert [w.name for w in workers.alive(now)] == ["w:1"]
    assert workers.count_alive(now) == 1
