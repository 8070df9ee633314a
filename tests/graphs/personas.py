"""People for the graph tests, in the product's groups: Erin is an editor (draws, saves
and runs graphs), Vic a viewer (looks only), Nora is in no group."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

PASSWORD = "correct horse battery staple"


def person(username: str, group: str | None) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def erin(db) -> User:
    return person("erin", "editor")


@pytest.fixture
def vic(db) -> User:
    return person("vic", "viewer")


@pytest.fixture
def nora(db) -> User:
    return person("nora", None)
