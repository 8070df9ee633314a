"""``POST /api/workflows/{name}/runs``: many runs in one request, in one transaction."""

from __future__ import annotations

import pytest

from executions.core import commands
from executions.models import Execution
from tests.api.conftest import token_client

URL = "/api/workflows/api_hello/runs"


@pytest.fixture
def operator(users):
    return token_client(users["operator"])


def names(*who: str) -> list[dict]:
    return [{"input": {"name": name}} for name in who]


def test_a_batch_answers_201_with_the_executions_in_the_items_order(operator, queue):
    answer = operator.post(URL, {"inputs": [
        {"input": {"name": "Ada"}, "priority": 5, "tags": {"team": "a"}},
        {"input": {"name": "Bob"}, "idempotency_key": "bob"},
        {"input": {"name": "Cy"}}]})
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["created"] == 3 and [i["created"] for i in body["items"]] == [True] * 3
    runs = [i["execution"] for i in body["items"]]
    assert [r["input"]["name"] for r in runs] == ["Ada", "Bob", "Cy"]
    assert (runs[0]["priority"], runs[0]["tags"], runs[1]["idempotency_key"]) == (
        5, {"team": "a"}, "bob")
    assert {r["status"] for r in runs} == {"queued"} and runs[0]["actor"] == "operator"
    assert sorted(queue.sent) == sorted(r["id"] for r in runs)
    # What was answered is what is stored.
    assert operator.get(f"/api/executions/{runs[1]['id']}").json() == runs[1] | {
        "children": []}
    queue.drain()
    assert {e.output for e in Execution.objects.all()} == {"Hello, Ada", "Hello, Bob",
                                                          "Hello, Cy"}


def test_keys_answer_the_existing_run_inside_and_across_batches(operator, queue):
    first = operator.post(URL, {"inputs": [{"input": {"name": "Ada"},
                                            "idempotency_key": "ada"}]}).json()
    ada = first["items"][0]["execution"]["id"]
    queue.sent.clear()
    answer = operator.post(URL, {"inputs": [
        {"input": {"name": "Ada again"}, "idempotency_key": "ada"},
        {"input": {"name": "Bob"}, "idempotency_key": "bob"},
        {"input": {"name": "Bob again"}, "idempotency_key": "bob"}]})
    assert answer.status_code == 201
    items = answer.json()["items"]
    assert [i["created"] for i in items] == [False, True, False]
    assert items[0]["execution"]["id"] == ada
    assert items[0]["execution"]["input"] == {"name": "Ada"}
    assert items[2]["execution"]["id"] == items[1]["execution"]["id"]
    assert queue.sent == [items[1]["execution"]["id"]]
    # Every key had its run already: 200, nothing started.
    again = operator.post(URL, {"inputs": [{"input": {"name": "x"}, "idempotency_key": "ada"}]})
    assert again.status_code == 200 and again.json()["created"] == 0
    assert Execution.objects.count() == 2


@pytest.mark.parametrize(("item", "path", "words"), [
    ({"input": {"nom": "Ada"}}, ["inputs", 3, "input"], "does not match its schema"),
    ({"input": {"name": "Ada"}, "priority": 5000}, ["inputs", 3, "priority"],
     "from -1000 to 1000"),
    ({"input": {"name": "Ada"}, "tags": {"a b": "c"}}, ["inputs", 3, "tags"], "A tag's name"),
    ({"input": {"name": "Ada"}, "idempotency_key": 7}, ["inputs", 3, "idempotency_key"],
     "idempotency key"),
    ({"name": "Ada"}, ["inputs", 3, "name"], "Unknown field 'name'"),
    ("Ada", ["inputs", 3], "An item is an object"),
])
def test_a_bad_item_is_refused_by_its_index_and_nothing_is_started(operator, queue, item,
                                                                   path, words):
    answer = operator.post(URL, {"inputs": [*names("A", "B", "C"), item, *names("D")]})
    assert answer.status_code == 422, answer.json()
    body = answer.json()
    assert body["code"] == "invalid_input"
    assert body["detail"].startswith(f"inputs[3]{'.' + path[2] if len(path) > 2 else ''}: ")
    assert words in body["detail"]
    assert body["errors"][0]["path"][:len(path)] == path
    assert Execution.objects.count() == 0 and queue.sent == []


def test_an_input_over_the_size_limit_is_refused_by_its_index(operator, queue, settings):
    settings.FLUX_MAX_INPUT_BYTES = 100
    answer = operator.post(URL, {"inputs": [*names("A"), {"input": {"name": "x" * 200}}]})
    assert answer.status_code == 413
    body = answer.json()
    assert body["code"] == "payload_too_large"
    assert body["detail"].startswith("inputs[1].input: The input is ")
    assert "FLUX_MAX_INPUT_BYTES" in body["detail"]
    assert Execution.objects.count() == 0


def test_a_batch_has_at_most_max_batch_items_and_at_least_one(operator, queue, monkeypatch):
    monkeypatch.setattr(commands, "MAX_BATCH", 3)
    over = operator.post(URL, {"inputs": names("A", "B", "C", "D")})
    assert over.status_code == 413 and "At most 3 runs per batch; got 4" in over.json()["detail"]
    empty = operator.post(URL, {"inputs": []})
    assert empty.status_code == 422 and "at least one" in empty.json()["detail"]
    missing = operator.post(URL, {"input": {"name": "A"}})
    assert missing.status_code == 422 and missing.json()["code"] == "invalid"
    assert Execution.objects.count() == 0


def test_an_unknown_workflow_is_404_and_a_viewer_may_not_start(operator, users, queue):
    assert operator.post("/api/workflows/nope/runs",
                         {"inputs": names("A")}).status_code == 404
    viewer = token_client(users["viewer"])
    assert viewer.post(URL, {"inputs": names("A")}).status_code == 403
    assert Execution.objects.count() == 0
