"""The web process under faults from below (issue 18, items 1 and 2), on the scaled
shape: the real PostgreSQL and Redis, reached through a proxy the tests cut or reset,
or whose backends they terminate."""

from __future__ import annotations

import json
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory

import tests.runtime.workflows  # noqa: F401 - registers rt_hello
from executions.core import registry, runner
from executions.core.conf import clock
from executions.models import Execution
from fluxweb.api import on_unexpected
from tests.faults.conftest import terminate_backends

pytestmark = pytest.mark.scaled


@pytest.fixture
def root_client(transactional_db) -> Client:
    registry.sync_workflows()
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", "root@example.com", None))
    return client


def get(client: Client, path: str):
    """A request, then its end as a server ends it: the connection goes back to the
    pool (the test client leaves it open between requests)."""
    try:
        return client.get(path)
    finally:
        close_old_connections()


def warm_pool(client: Client, n: int = 4) -> None:
    """``n`` idle connections in the pool, all used once."""
    from concurrent.futures import ThreadPoolExecutor

    def hold(_):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.2)")
        connection.close()  # back to the pool

    with ThreadPoolExecutor(n) as threads:
        list(threads.map(hold, range(n)))
    assert get(client, "/api/workflows/").status_code == 200


def test_terminated_backends_cost_no_request_a_500(root_client):
    """The issue's failure: after pg_terminate_backend, each pooled connection answered
    one request with a 500. The pool checks a connection before handing it out."""
    warm_pool(root_client)
    assert terminate_backends(connection.settings_dict["NAME"]) >= 4
    statuses = [get(root_client, "/api/workflows/").status_code for _ in range(5)]
    assert statuses == [200] * 5
    page = get(root_client, "/workflows/")
    assert page.status_code == 200


def test_connections_reset_by_the_network_cost_no_request_a_500(root_client, pg_proxy):
    """A failover or an idle-connection reaper in a proxy: the TCP connections vanish
    without a word from the server."""
    warm_pool(root_client)
    assert pg_proxy.reset() >= 4
    assert [get(root_client, "/api/workflows/").status_code for _ in range(5)] == [200] * 5


def test_during_a_database_outage_the_api_pages_and_health_answer_503(root_client, pg_proxy):
    warm_pool(root_client)
    with pg_proxy.down():
        started = time.monotonic()
        api = get(root_client, "/api/workflows/")
        assert api.status_code == 503
        assert api.json()["code"] == "database_unavailable"
        assert set(api.json()) == {"detail", "code"}
        assert api["Retry-After"] == "5"

        page = get(root_client, "/workflows/")
        assert page.status_code == 503
        body = page.content.decode()
        assert "Temporarily unavailable" in body and "database" in body
        assert "Traceback" not in body and "OperationalError" not in body

        health = get(root_client, "/api/health")
        assert health.status_code == 503
        assert health.json()["database"] == "error" and health.json()["queue"] == "ok"
        # No hang: each waits at most the pool's timeout (1 s here, 5 s by default).
        assert time.monotonic() - started < 3 * 3

    assert [get(root_client, "/api/workflows/").status_code for _ in range(3)] == [200] * 3
    assert get(root_client, "/api/health").status_code == 200


def test_during_a_queue_outage_a_run_is_stored_and_sent_once_redis_is_back(
        root_client, redis_proxy):
    from huey.contrib.djhuey import HUEY

    HUEY.storage.flush_queue()
    with redis_proxy.down():
        health = get(root_client, "/api/health")
        assert health.status_code == 503
        assert (health.json()["database"], health.json()["queue"]) == ("ok", "error")
        started = root_client.post("/api/workflows/rt_hello/run",
                                    {"input": {"a": 1, "b": 2}}, content_type="application/json")
        close_old_connections()
        assert started.status_code == 201, started.content
        assert Execution.objects.get(pk=started.json()["id"]).status == "queued"
        # An error Redis gives any request is the API's 503 queue_unavailable.
        with pytest.raises(Exception) as refused:
            HUEY.storage.conn.ping()
        answer = on_unexpected(RequestFactory().get("/api/executions/"), refused.value)
        assert (answer.status_code, json.loads(answer.content)["code"]) == (
            503, "queue_unavailable")
    assert HUEY.pending_count() == 0  # the message was lost with the outage

    # The reaper's next pass after FLUX_REQUEUE_SECONDS sends it again.
    later = clock.time() + 60
    done = runner.reap(later)
    assert started.json()["id"] in done.requeued
    assert HUEY.pending_count() == 1
    HUEY.storage.flush_queue()


async def test_a_websocket_closes_with_4503_while_the_database_is_down(pg_proxy):
    from asgiref.sync import sync_to_async
    from channels.routing import URLRouter

    from fluxweb.routing import websocket_urlpatterns

    user = await sync_to_async(User.objects.create_superuser)("root", "r@example.com", None)
    await sync_to_async(close_old_connections)()
    pg_proxy.cut()
    try:
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns),
                                             "/ws/executions/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_json_to({"type": "subscribe", "after": 0})  # reads the db
        while (output := await communicator.receive_output(timeout=10))["type"] != \
                "websocket.close":
            pass  # live messages of other tests' executions
        assert output == {"type": "websocket.close", "code": 4503}
    finally:
        pg_proxy.restore()
