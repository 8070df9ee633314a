"""The permission scheme: groups made by the migration, and the helpers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied

from executions.access import permissions as perms
from executions.access.permissions import NotAuthenticated, allowed, require


def test_the_migration_creates_the_five_groups(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(perms.GROUPS)


@pytest.mark.parametrize("group, granted, refused", [
    ("viewer", [perms.VIEW], [perms.RUN, perms.CANCEL, perms.APPROVE, perms.MANAGE_SECRETS]),
    ("operator", [perms.VIEW, perms.RUN, perms.CANCEL], [perms.APPROVE, perms.MANAGE_SECRETS]),
    ("approver", [perms.VIEW, perms.APPROVE], [perms.RUN, perms.CANCEL]),
    ("editor", [perms.VIEW, perms.RUN], [perms.CANCEL, perms.APPROVE, perms.MANAGE_SECRETS]),
    ("admin", [perms.VIEW, perms.RUN, perms.CANCEL, perms.APPROVE, perms.MANAGE_SECRETS,
               perms.MANAGE_TOKENS], []),
])
def test_each_group_holds_exactly_its_permissions(users, group, granted, refused):
    user = users[group]
    for perm in granted:
        assert allowed(user, perm), perm
    for perm in refused:
        assert not allowed(user, perm), perm


def test_syncing_the_groups_again_changes_nothing(users):
    before = {g.name: set(g.permissions.values_list("codename", flat=True))
              for g in Group.objects.all()}
    perms.sync_groups()
    after = {g.name: set(g.permissions.values_list("codename", flat=True))
             for g in Group.objects.all()}
    assert before == after


def test_require_tells_anonymous_from_unauthorised(users):
    with pytest.raises(NotAuthenticated):
        require(AnonymousUser(), perms.VIEW)
    with pytest.raises(PermissionDenied, match="operator"):
        require(users["viewer"], perms.RUN)
    require(users["operator"], perms.RUN)


def test_an_inactive_user_holds_nothing(users):
    user = users["admin"]
    user.is_active = False
    assert not allowed(user, perms.VIEW)


async def test_websocket_consumers_check_the_same_way(users):
    assert not await perms.ws_allowed(AnonymousUser(), perms.VIEW)
    assert not await perms.ws_allowed(None, perms.VIEW)
