"""Personas for the API tests: one user per group, plus nobody.

- ``anon``: no login (a plain client);
- ``nobody``: logged in, in no group;
- ``viewer``, ``operator``, ``approver``, ``editor``, ``admin``: in that group.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

PASSWORD = "correct horse battery staple"


def make_user(name: str, *groups: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def users(db) -> dict[str, User]:
    """One user per persona, by name."""
    out = {"nobody": make_user("nobody")}
    for group in ("viewer", "operator", "approver", "editor", "admin"):
        out[group] = make_user(group, group)
    return out


def client_for(user: User | None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client
