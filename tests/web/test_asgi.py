"""The ASGI application daphne serves (``fluxweb.asgi``): HTTP through
``SyncASGIHandler``, which does a request's synchronous work in one call on the
request's thread. Driven here as daphne drives it, one ASGI request at a time."""

from __future__ import annotations

import json
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.contrib.auth.models import Group, User
from django.core import signals
from django.db import connection
from django.test import Client

import tests.api.workflows  # noqa: F401 - registers api_hello
from executions.core import commands, registry
from executions.core.commands import SYSTEM
from executions.models import Token
from fluxweb.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)  # the handler's thread has its own


@pytest.fixture(autouse=True)
def _close_the_pool():
    """The requests' threads gave their connections back to the pool (scaled shape):
    close them, or the test database cannot be dropped."""
    yield
    from django.db import connections

    if hasattr(connections["default"], "close_pool"):
        connections["default"].close_pool()


async def call(method: str, path: str, *, body: bytes = b"",
               headers: dict[str, str] | None = None, on_start=None) -> dict:
    """One request as daphne sends it; the answer's status, headers and whole body.
    ``on_start()`` runs when the answer's start arrives, before its body."""
    sent = [(b"host", b"testserver")] + [(k.lower().encode(), v.encode())
                                          for k, v in (headers or {}).items()]
    talk = HttpCommunicator(application, method, path, body, sent)
    await talk.send_input({"type": "http.request", "body": body})
    start = await talk.receive_output(5)
    assert start["type"] == "http.response.start"
    if on_start is not None:
        on_start()
    answer = {"status": start["status"], "body": b"",
              "headers": {k.decode().lower(): v.decode() for k, v in start["headers"]}}
    while True:
        part = await talk.receive_output(5)
        assert part["type"] == "http.response.body"
        answer["body"] += part.get("body", b"")
        if not part.get("more_body", False):
            await talk.wait(5)  # the application's end
            return answer


@pytest.fixture
def operator() -> tuple[User, str]:
    registry.sync_workflows()
    user = User.objects.create_user("olga")
    user.groups.add(Group.objects.get(name="operator"))
    return user, Token.issue(user)[1]


async def test_answers_with_the_middleware_applied():
    answer = await call("GET", "/api/health")
    assert answer["status"] == 200
    assert json.loads(answer["body"])["database"] == "ok"
    headers = answer["headers"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    missing = await call("GET", "/api/no-such-thing")
    assert (missing["status"], json.loads(missing["body"])["code"]) == (404, "not_found")


async def test_a_run_is_started_with_a_token_and_its_body(operator):
    _user, raw = operator
    auth = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    started = await call("POST", "/api/workflows/api_hello/run", headers=auth,
                         body=json.dumps({"input": {"name": "Ada"}}).encode())
    assert started["status"] == 201, started["body"]
    execution_id = json.loads(started["body"])["id"]
    read = await call("GET", f"/api/executions/{execution_id}", headers=auth)
    assert (read["status"], json.loads(read["body"])["input"]) == (200, {"name": "Ada"})
    refused = await call("POST", "/api/workflows/api_hello/run", body=b"{}",
                         headers={"Content-Type": "application/json"})
    assert refused["status"] == 401
    assert await database_sync_to_async(lambda: commands.execution(execution_id).actor)() \
        == "olga"


async def test_the_request_starts_and_ends_on_its_own_thread_connection_returned(operator):
    """request_started, the view and request_finished (which gives the database
    connection back) all run on the request's thread, before the answer goes out."""
    _user, raw = operator
    seen: list[tuple[str, int, bool]] = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident(), connection.connection is None))

    def finished(**kwargs):  # after Django's close_old_connections (connected first)
        seen.append(("finished", threading.get_ident(), connection.connection is None))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        for _ in range(3):
            answer = await call("GET", "/api/workflows/",
                                headers={"Authorization": f"Bearer {raw}"},
                                on_start=lambda: seen.append(("answer", 0, False)))
            assert answer["status"] == 200
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert [s[0] for s in seen] == ["started", "finished", "answer"] * 3
    for begin, end in zip(seen[::3], seen[1::3], strict=True):
        assert begin[1] == end[1] != threading.get_ident()
        assert end[2], "the database connection was not given back"


async def test_a_streamed_download_reads_its_rows_after_the_view_returned(operator):
    """The event log download streams from a query (a synchronous iterator): its rows
    are read on the thread that ran the view, the request ends, then it is sent."""
    user, _raw = operator

    def setup() -> tuple[str, str]:
        client = Client()
        client.force_login(user)
        user.groups.add(Group.objects.get(name="viewer"))
        execution = commands.start("api_hello", {"name": "Bo"}, actor=SYSTEM)
        from executions.core import runner

        runner.run(execution.pk)
        return execution.pk, client.cookies["sessionid"].value

    execution_id, session = await database_sync_to_async(setup)()
    answer = await call("GET", f"/executions/{execution_id}/events.json",
                        headers={"Cookie": f"sessionid={session}"})
    assert answer["status"] == 200
    assert "attachment" in answer["headers"]["content-disposition"]
    events = json.loads(answer["body"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"


async def test_a_stream_from_an_asynchronous_iterator_is_sent_then_closed(settings):
    settings.ROOT_URLCONF = "tests.web.asgi_urls"
    finished: list[str] = []

    def on_finished(**kwargs):
        finished.append("finished")

    signals.request_finished.connect(on_finished)
    try:
        answer = await call("GET", "/test-numbers/",
                            on_start=lambda: finished.append("answer"))
    finally:
        signals.request_finished.disconnect(on_finished)
    assert (answer["status"], answer["body"]) == (200, b"0\n1\n2\n")
    assert finished == ["answer", "finished"]


async def test_requests_at_once_are_answered_at_once():
    import asyncio

    answers = await asyncio.gather(*(call("GET", "/api/health") for _ in range(40)))
    assert {a["status"] for a in answers} == {200}
