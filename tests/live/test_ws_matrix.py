"""Every websocket route against an anonymous user, a user without the permission and
one with it: refused, refused, served. A new route without a row here fails the test."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser, Group, User

from fluxweb.routing import websocket_urlpatterns
from tests.live.test_consumers import (  # noqa: F401 - autouse fixtures too
    close_code,
    close_connections,
    communicator,
    finished_run,
    no_queue,
)

pytestmark = pytest.mark.django_db(transaction=True)

#: route -> (a concrete path, the group whose members may connect)
WS_RULES = {
    "ws/executions/": ("/ws/executions/", "viewer"),
    "ws/executions/<str:execution_id>/": ("/ws/executions/{execution}/", "viewer"),
    "ws/inbox/": ("/ws/inbox/", "approver"),
}
#: The catch-all that closes any other path with 4404 (tests/live/test_consumers.py).
UNROUTED = ""


def test_every_websocket_route_has_a_rule():
    routes = {str(p.pattern) for p in websocket_urlpatterns}
    assert routes == {*WS_RULES, UNROUTED}, f"add rows for {routes - set(WS_RULES)}"


def member(name: str, group: str | None) -> User:
    user = User.objects.create_user(name, password="x")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.mark.parametrize("route", sorted(WS_RULES))
async def test_websocket_refuses_then_serves(route):
    template, group = WS_RULES[route]
    ex = await database_sync_to_async(finished_run)()
    path = template.format(execution=ex.pk)
    outsider = await database_sync_to_async(member)("outsider", None)
    allowed = await database_sync_to_async(member)("insider", group)
    for user in (AnonymousUser(), outsider):
        assert await close_code(communicator(path, user)) == 4403, (route, user)
    com = communicator(path, allowed)
    connected, _ = await com.connect()
    assert connected, route
    await com.disconnect()
