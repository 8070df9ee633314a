"""How many queries the API's hot requests make, in both shapes: each is a round trip
and most of a small request's time (docs/benchmarks.md, "API latency"), and a count
that grows with the rows listed is an N+1 come back.

A token's request reads the token, its user and the user's permissions in one query;
a session's reads the session, the user and the permissions (three)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

import tests.api.workflows  # noqa: F401 - registers api_hello
from executions.core import commands, registry
from executions.core.commands import SYSTEM
from executions.models import Execution, Workflow
from tests.api.conftest import TokenClient, make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> User:
    registry.sync_workflows()
    return make_user("olga", "operator")


@pytest.fixture
def api(operator) -> TokenClient:
    client = token_client(operator)
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/workflows/").status_code == 200  # marks the token used
    return client


def start(n: int = 1) -> list[Execution]:
    return [commands.start("api_hello", {"name": f"n{i}"}, actor=SYSTEM) for i in range(n)]


def test_health_is_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):  # the workers' count: the database answers
        body = client.get("/api/health").json()
    assert (body["database"], body["workers"]) == ("ok", 0)


def test_an_execution_is_two_queries_with_a_token(api, django_assert_num_queries):
    (execution,) = start()
    with django_assert_num_queries(2):  # the token (user, permissions); the execution
        body = api.get(f"/api/executions/{execution.pk}").json()
    assert (body["id"], body["children"]) == (execution.pk, [])


def test_an_execution_with_children_reads_them_in_one_more(api, django_assert_num_queries):
    parent, *children = start(3)
    Execution.objects.filter(pk__in=[c.pk for c in children]).update(
        parent_execution_id=parent.pk)
    with django_assert_num_queries(3):
        body = api.get(f"/api/executions/{parent.pk}").json()
    assert sorted(c["id"] for c in body["children"]) == sorted(c.pk for c in children)
    with django_assert_num_queries(2):
        assert api.get(f"/api/executions/{children[0].pk}").json()["children"] == []


def test_an_execution_is_four_queries_with_a_session(operator, django_assert_num_queries):
    (execution,) = start()
    browser = Client()
    browser.force_login(operator)
    with django_assert_num_queries(4):  # session, user, permissions, execution
        assert browser.get(f"/api/executions/{execution.pk}").status_code == 200


def test_the_workflow_list_is_two_queries_however_many(api, django_assert_num_queries):
    for i in range(12):  # workflows only the database knows (no longer defined)
        Workflow.objects.create(name=f"old_{i:02d}", is_active=False)
    with django_assert_num_queries(2):  # the token; the workflows
        items = api.get("/api/workflows/?limit=100").json()["items"]
    names = [item["name"] for item in items]
    assert "api_hello" in names and "old_11" in names and names == sorted(names)


@pytest.mark.parametrize("rows", [2, 30])
def test_the_executions_list_is_two_queries_however_many(api, rows,
                                                         django_assert_num_queries):
    start(rows)
    with django_assert_num_queries(2):  # the token; one page of executions
        items = api.get("/api/executions/?limit=50").json()["items"]
    assert len(items) == rows


def test_a_change_of_groups_counts_from_the_next_request(api, operator):
    """Nothing about permissions is kept between requests: taken out of the group, the
    user is refused at once; given a permission of their own, allowed at once."""
    (execution,) = start()
    path = f"/api/executions/{execution.pk}"
    assert api.get(path).status_code == 200
    operator.groups.clear()
    assert api.get(path).status_code == 403
    operator.user_permissions.add(Permission.objects.get(codename="view_execution"))
    assert api.get(path).status_code == 200
    assert api.post(f"{path}/cancel").status_code == 403
    Group.objects.get(name="viewer").user_set.add(operator)
    operator.user_permissions.clear()
    assert api.get(path).status_code == 200
    Group.objects.get(name="viewer").permissions.remove(
        Permission.objects.get(codename="view_execution"))
    assert api.get(path).status_code == 403


def test_a_token_of_a_user_made_inactive_or_superuser_counts_at_once(api, operator):
    (execution,) = start()
    path = f"/api/executions/{execution.pk}"
    operator.groups.clear()
    assert api.get(path).status_code == 403
    User.objects.filter(pk=operator.pk).update(is_superuser=True)
    assert api.get(path).status_code == 200
    User.objects.filter(pk=operator.pk).update(is_active=False)
    assert api.get(path).status_code == 401
