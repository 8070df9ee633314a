"""The REST API's behaviour: shapes, pagination, errors, state conflicts, the audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from executions.models import Event, Execution
from tests.api.conftest import client_for, token_client

EXECUTION_KEYS = {"id", "workflow", "status", "input", "output", "error", "created_at",
                  "started_at", "finished_at", "recovery_attempts", "max_recovery_attempts"}
EVENT_KEYS = {"seq", "type", "name", "source_id", "parent_id", "attempt", "value", "time"}


@pytest.fixture
def operator(users):
    return token_client(users["operator"])


@pytest.fixture
def admin(users):
    return token_client(users["admin"])


def test_running_a_workflow_answers_201_with_the_queued_execution(operator, queue):
    answer = operator.post("/api/workflows/api_hello/run", {"input": {"name": "Ada"}})
    assert answer.status_code == 201
    body = answer.json()
    assert EXECUTION_KEYS <= body.keys()
    assert body["status"] == "queued" and body["input"] == {"name": "Ada"}
    assert body["actor"] == "operator"
    assert queue.sent == [body["id"]]
    queue.drain()
    done = operator.get(f"/api/executions/{body['id']}").json()
    assert done["status"] == "completed" and done["output"] == "Hello, Ada"


def test_input_failing_the_schema_is_a_422_naming_the_problem(operator, queue):
    answer = operator.post("/api/workflows/api_hello/run", {"input": {"nom": "Ada"}})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_input" and body["errors"]
    assert not Execution.objects.exists()


def test_an_unknown_workflow_is_a_404(operator, queue):
    answer = operator.post("/api/workflows/nope/run", {"input": None})
    assert answer.status_code == 404 and answer.json()["code"] == "workflow_not_found"
    assert operator.get("/api/workflows/nope").status_code == 404
    assert operator.get("/api/executions/nope").json()["code"] == "execution_not_found"


def test_a_malformed_body_gets_the_error_shape(operator, queue):
    answer = operator.client.post("/api/workflows/api_hello/run", "{not json",
                                  content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {operator.raw}")
    assert answer.status_code in (400, 422)
    assert {"detail", "code"} <= answer.json().keys()


def test_ninja_validation_errors_have_the_shape_with_errors(operator, db):
    answer = operator.get("/api/executions/?limit=100000")
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid" and body["errors"] and body["detail"]


def test_a_bad_cursor_is_a_400(operator, db):
    answer = operator.get("/api/executions/?cursor=garbage!!")
    assert answer.status_code == 400 and answer.json()["code"] == "bad_cursor"


def test_a_body_over_the_upload_limit_is_a_413(operator, db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    answer = operator.post("/api/workflows/api_hello/run", {"input": {"name": "x" * 5000}})
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"


def test_an_input_over_the_input_limit_is_a_413(operator, queue, settings):
    settings.FLUX_MAX_INPUT_BYTES = 100
    answer = operator.post("/api/workflows/api_hello/run", {"input": {"name": "x" * 200}})
    assert answer.status_code == 413 and "FLUX_MAX_INPUT_BYTES" in answer.json()["detail"]


def test_executions_page_newest_first_with_an_opaque_cursor(operator, db):
    now = timezone.now()
    for i in range(7):
        Execution.objects.create(id=f"e{i}", workflow="api_hello", status="completed",
                                 created_at=now - timedelta(minutes=i))
    seen, cursor = [], None
    while True:
        url = "/api/executions/?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = operator.get(url).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"e{i}" for i in range(7)]


def test_executions_filter_by_status_workflow_and_time(operator, db):
    now = timezone.now()
    Execution.objects.create(id="a", workflow="w1", status="failed", created_at=now)
    Execution.objects.create(id="b", workflow="w2", status="completed",
                             created_at=now - timedelta(days=2))
    ids = lambda q: [e["id"] for e in operator.get("/api/executions/?" + q).json()["items"]]  # noqa: E731
    assert ids("status=failed") == ["a"]
    assert ids("workflow=w2") == ["b"]
    since = (now - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert ids(f"since={since}") == ["a"]
    assert ids(f"until={since}") == ["b"]
    assert operator.get("/api/executions/?status=sleepy").status_code == 400


def test_events_come_by_seq_after_a_given_one(operator, world):
    execution = world.completed
    events = operator.get(f"/api/executions/{execution.pk}/events").json()
    seqs = [e["seq"] for e in events["items"]]
    assert seqs == list(range(1, len(seqs) + 1)) and events["next"] is None
    assert EVENT_KEYS == set(events["items"][0])
    later = operator.get(f"/api/executions/{execution.pk}/events?after=2").json()["items"]
    assert [e["seq"] for e in later] == seqs[2:]
    first = operator.get(f"/api/executions/{execution.pk}/events?limit=2").json()
    rest = operator.get(f"/api/executions/{execution.pk}/events?cursor={first['next']}").json()
    assert [e["seq"] for e in first["items"] + rest["items"]] == seqs


def test_resuming_something_not_paused_is_a_409_that_says_why(admin, world):
    answer = admin.post(f"/api/executions/{world.completed.pk}/resume", {"input": 1})
    assert answer.status_code == 409
    assert answer.json()["code"] == "invalid_state"
    assert "completed, not paused" in answer.json()["detail"]


def test_cancelling_something_finished_is_a_409(operator, world):
    answer = operator.post(f"/api/executions/{world.completed.pk}/cancel")
    assert answer.status_code == 409 and "nothing to cancel" in answer.json()["detail"]


def test_retrying_something_not_failed_is_a_409(operator, world):
    assert operator.post(f"/api/executions/{world.completed.pk}/retry").status_code == 409


def test_rerun_makes_a_new_execution_naming_its_parent(operator, world):
    original = world.completed
    same = operator.post(f"/api/executions/{original.pk}/rerun").json()
    assert same["parent_id"] == original.pk and same["id"] != original.pk
    assert same["input"] == original.input
    other = operator.post(f"/api/executions/{original.pk}/rerun",
                          {"input": {"name": "Grace"}}).json()
    assert other["input"] == {"name": "Grace"} and other["parent_id"] == original.pk


def test_workflow_detail_has_its_schema_and_recent_stats(operator, world):
    assert world.completed.status == "completed"
    body = operator.get("/api/workflows/api_hello").json()
    assert body["input_schema"]["properties"]["name"]
    assert body["stats"]["by_status"] == {"completed": 1} and body["stats"]["total"] == 1
    names = [w["name"] for w in operator.get("/api/workflows/?limit=200").json()["items"]]
    assert "api_hello" in names and names == sorted(names)


def test_who_did_what_is_in_the_event_log(users, world, queue):
    operator, editor = token_client(users["operator"]), token_client(users["editor"])
    approver = token_client(users["approver"])
    started = operator.post("/api/workflows/api_pause/run").json()
    queue.drain()
    approver.post(f"/api/executions/{started['id']}/resume", {"input": "yes"})
    queue.drain()
    rerun = operator.post(f"/api/executions/{started['id']}/rerun").json()
    operator.post(f"/api/executions/{rerun['id']}/cancel")
    failed = world.failed
    editor.post(f"/api/executions/{failed.pk}/retry")

    def actors(execution_id, kind):
        return [e.value.get("actor") for e in Event.objects.filter(
            execution_id=execution_id, type=kind)]

    assert actors(started["id"], "WORKFLOW_STARTED") == ["operator"]
    assert actors(started["id"], "TASK_RESUMED") == ["approver"]
    assert Execution.objects.get(pk=rerun["id"]).actor == "operator"
    assert actors(rerun["id"], "WORKFLOW_CANCELLED") == ["operator"]
    assert "editor" in actors(failed.pk, "WORKFLOW_QUEUED")


def test_sessions_need_the_csrf_token_for_unsafe_methods(users, queue):
    client = client_for(users["operator"], csrf=True)
    refused = client.post("/api/workflows/api_hello/run", {"input": {"name": "A"}},
                          content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    client.get("/api/executions/")  # reading is fine without it
    assert client.get("/api/executions/").status_code == 200
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    served = client.post("/api/workflows/api_hello/run", {"input": {"name": "A"}},
                         content_type="application/json",
                         HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret))
    assert served.status_code == 201


def test_the_openapi_schema_and_docs_need_no_login(client, db):
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/docs").status_code == 200
