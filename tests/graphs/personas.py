"""People for the graph tests: Erin edits and runs, Vic only views, Nora has no rights."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

PASSWORD = "correct horse battery staple"
VIEW = ["graphs.view_graphdefinition"]
EDIT = VIEW + ["graphs.add_graphdefinition", "graphs.change_graphdefinition",
               "graphs.delete_graphdefinition", "executions.run_workflow"]


def person(username: str, perms: list[str]) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app,
                                                         codename=codename))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def erin(db) -> User:
    return person("erin", EDIT)


@pytest.fixture
def vic(db) -> User:
    return person("vic", VIEW)


@pytest.fixture
def nora(db) -> User:
    return person("nora", [])
