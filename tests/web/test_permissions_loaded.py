"""Permissions read in one query (``executions.access.permissions.load_permissions``)
or with the token (``executions.models.rows.permissions_subquery``) are the ones
Django's ``ModelBackend`` finds, in both shapes: a user's own, their groups', several
groups, none."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User

from executions.access import permissions as perms
from executions.models import Token

pytestmark = pytest.mark.django_db


def django_reads(user: User) -> tuple[set[str], set[str]]:
    fresh = User.objects.get(pk=user.pk)
    backend = ModelBackend()
    return backend.get_user_permissions(fresh), backend.get_group_permissions(fresh)


def loaded(user: User) -> tuple[set[str], set[str]]:
    fresh = User.objects.get(pk=user.pk)
    perms.load_permissions(fresh)
    return fresh._user_perm_cache, fresh._group_perm_cache


def with_token(user: User) -> tuple[set[str], set[str]]:
    _token, raw = Token.issue(user)
    found = Token.authenticate(raw)
    return found.user._user_perm_cache, found.user._group_perm_cache


@pytest.fixture
def people() -> list[User]:
    own = User.objects.create_user("own")
    own.user_permissions.add(*Permission.objects.filter(codename__in=[
        "manage_secrets", "view_execution"]))
    several = User.objects.create_user("several")
    several.groups.add(*Group.objects.filter(name__in=["approver", "editor"]))
    both = User.objects.create_user("both")
    both.groups.add(Group.objects.get(name="admin"))
    both.user_permissions.add(Permission.objects.get(codename="view_execution"))
    return [own, several, both, User.objects.create_user("none")]


def test_the_sets_are_djangos(people):
    for user in people:
        expected = django_reads(user)
        assert loaded(user) == expected, user.username
        assert with_token(user) == expected, user.username
    assert django_reads(people[-1]) == (set(), set())


def test_allowed_asks_the_database_once_a_request(people, django_assert_num_queries):
    user = User.objects.get(pk=people[1].pk)
    expected = set().union(*django_reads(user))
    with django_assert_num_queries(1):
        assert perms.allowed(user, perms.APPROVE) and perms.allowed(user, perms.RUN)
        assert not perms.allowed(user, perms.MANAGE_SECRETS)
        assert user.get_all_permissions() == expected


def test_a_superuser_holds_everything_without_a_query(django_assert_num_queries):
    root = User.objects.create_superuser("root", "root@example.com", None)
    _token, raw = Token.issue(root)
    found, fresh = Token.authenticate(raw), User.objects.get(pk=root.pk)
    with django_assert_num_queries(0):
        assert perms.allowed(found.user, perms.MANAGE_SECRETS)
        assert perms.allowed(fresh, perms.MANAGE_TOKENS)
