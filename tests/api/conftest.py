"""Personas, a queue run in-process, and executions in each state, for the API tests.

- ``anon``: no login;
- ``nobody``: logged in, in no group;
- ``viewer``, ``operator``, ``approver``, ``editor``, ``admin``: in that group.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

import tests.api.workflows  # noqa: F401 - registers the test workflows
from executions.core import commands
from executions.core.commands import Actor
from executions.models import Execution, Token
from tests.inline_queue import Queue

PERSONAS = ("nobody", "viewer", "operator", "approver", "editor", "admin")


def make_user(name: str, *groups: str) -> User:
    user = User.objects.create_user(name)  # no password: hashing one costs 0.3 s
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def users(db) -> dict[str, User]:
    """One user per persona, by name."""
    out = {"nobody": make_user("nobody")}
    for group in PERSONAS[1:]:
        out[group] = make_user(group, group)
    return out


def client_for(user: User | None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


class TokenClient:
    """A client that sends ``Authorization: Bearer <token>`` and JSON bodies."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.client = Client(enforce_csrf_checks=True)

    def request(self, method: str, path: str, body: Any = None, **extra: Any):
        kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {self.raw}", **extra}
        call = getattr(self.client, method.lower())
        if body is not None:
            return call(path, body, content_type="application/json", **kwargs)
        if method.upper() in ("POST", "PUT", "PATCH"):
            return call(path, content_type="application/json", **kwargs)
        return call(path, **kwargs)

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.request("POST", path, body, **kw)


def token_client(user: User) -> TokenClient:
    _, raw = Token.issue(user, name="tests")
    return TokenClient(raw)


class World:
    """Executions in the states the endpoints need, made on first use."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._made: dict[str, Execution] = {}

    def _make(self, key: str, workflow: str, value: Any, run: bool) -> Execution:
        if key not in self._made:
            execution = commands.start(workflow, value, actor=Actor.system("setup"))
            if run:
                self.queue.drain()
            else:
                self.queue.sent.clear()
            self._made[key] = Execution.objects.get(pk=execution.pk)
        return self._made[key]

    @property
    def completed(self) -> Execution:
        return self._make("completed", "api_hello", {"name": "Ada"}, True)

    @property
    def paused(self) -> Execution:
        return self._make("paused", "api_pause", None, True)

    @property
    def failed(self) -> Execution:
        return self._make("failed", "api_fail", None, True)

    @property
    def queued(self) -> Execution:
        return self._make("queued", "api_hello", {"name": "Bob"}, False)


@pytest.fixture
def world(queue) -> World:
    return World(queue)
