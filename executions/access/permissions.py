"""Who may do what: the one place that names the permission each action needs.

Pages, the REST API and websocket consumers all check through these helpers,
so a rule changes here once. Permissions are ordinary Django permissions; the
groups below are created (and kept in sync) by the migration
``executions/0004_groups`` and, for permissions of models created later (the
graphs app), by :func:`sync_groups` after every ``migrate``.

=================  ===========================================  ==========================
action             permission                                   groups
=================  ===========================================  ==========================
view anything      ``executions.view_execution`` (:data:`VIEW`)  all five
start, re-run,     ``executions.run_workflow`` (:data:`RUN`)     operator, editor, admin
retry
cancel             ``executions.cancel_execution`` (:data:`CANCEL`)  operator, admin
approve / reject,  ``executions.decide_approval`` (:data:`APPROVE`)  approver, admin
resume             (and the pause's own approvers, groups and
                   forbid_self_approval: ``executions.core.approvals.refusal``)
edit graphs        ``graphs.change_graphdefinition``             editor, admin
                   (:data:`EDIT_GRAPHS`; add/delete too)
schedules          ``executions.manage_schedules``               operator, admin
                   (:data:`MANAGE_SCHEDULES`: create, change,
                   pause, resume, trigger, backfill, delete)
secrets            ``executions.manage_secrets``                 admin
anyone's tokens    ``executions.change_token`` (:data:`MANAGE_TOKENS`)  admin
=================  ===========================================  ==========================

Every logged-in user may create and revoke their *own* API tokens.

Helpers::

    allowed(user, RUN) -> bool
    require(user, RUN)            # raises NotAuthenticated / PermissionDenied
    @page_requires(VIEW)          # a Django view: login redirect, else 403
    @api_requires(RUN)            # a ninja operation: 401 / 403 error answers
    await ws_allowed(scope["user"], VIEW)   # in a consumer's connect()
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied

VIEW = "executions.view_execution"
RUN = "executions.run_workflow"
CANCEL = "executions.cancel_execution"
APPROVE = "executions.decide_approval"
EDIT_GRAPHS = "graphs.change_graphdefinition"
ADD_GRAPHS = "graphs.add_graphdefinition"
DELETE_GRAPHS = "graphs.delete_graphdefinition"
VIEW_GRAPHS = "graphs.view_graphdefinition"
MANAGE_SECRETS = "executions.manage_secrets"
MANAGE_TOKENS = "executions.change_token"
MANAGE_SCHEDULES = "executions.manage_schedules"

#: What each action of the product needs (documentation, tests, templates).
ACTIONS: dict[str, str] = {
    "view": VIEW,
    "run": RUN,
    "rerun": RUN,
    "retry": RUN,
    "resume": APPROVE,
    "cancel": CANCEL,
    "approve": APPROVE,
    "reject": APPROVE,
    "edit_graphs": EDIT_GRAPHS,
    "manage_secrets": MANAGE_SECRETS,
    "manage_tokens": MANAGE_TOKENS,
    "manage_schedules": MANAGE_SCHEDULES,
}

_VIEWER = (
    "executions.view_workflow", "executions.view_execution", "executions.view_event",
    "executions.view_schedule", VIEW_GRAPHS,
)

#: The groups, by their public names (DESIGN.md), and their permissions.
#: ``"app_label.*"`` means every permission of that app.
GROUPS: dict[str, tuple[str, ...]] = {
    "viewer": _VIEWER,
    "operator": (*_VIEWER, RUN, CANCEL, MANAGE_SCHEDULES),
    "approver": (*_VIEWER, APPROVE),
    "editor": (*_VIEWER, RUN, ADD_GRAPHS, EDIT_GRAPHS, DELETE_GRAPHS),
    "admin": ("executions.*", "graphs.*"),
}


class NotAuthenticated(PermissionDenied):
    """Nobody is logged in: a page redirects to the login, the API answers 401."""


def allowed(user: Any, perm: str) -> bool:
    """Whether ``user`` (possibly anonymous or None) holds ``perm``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    load_permissions(user)
    return bool(user.has_perm(perm))


def load_permissions(user: Any) -> None:
    """Read the permissions of an active ``user`` (their own and their groups') in one
    query, into the caches Django's ``ModelBackend`` keeps on the user object for the
    rest of the request (``_user_perm_cache``, ``_group_perm_cache``); without this
    it reads them in two queries of its ORM (docs/benchmarks.md, "API latency").
    Nothing outlives the user object, which every request loads afresh: a change of a
    user's groups or permissions counts from their next request. Superusers hold
    every permission without a query; a user already loaded is left alone (the API's
    token authentication loads them with the token:
    ``executions.models.rows.permissions_subquery``)."""
    if (user.is_superuser or not user.pk or hasattr(user, "_perm_cache")
            or hasattr(user, "_user_perm_cache") or hasattr(user, "_group_perm_cache")):
        return
    from django.db import connections, router

    from executions.models import rows

    alias = router.db_for_read(type(user))
    with connections[alias].cursor() as cursor:
        cursor.execute(rows.permissions_query(alias, "%s"), [user.pk, user.pk])
        rows.set_permissions(user, [perm for (perm,) in cursor.fetchall()])


def require(user: Any, perm: str) -> None:
    """Raise NotAuthenticated (anonymous) or PermissionDenied (lacks ``perm``)."""
    if user is None or not user.is_authenticated:
        raise NotAuthenticated("Log in or send a token to do this.")
    if not allowed(user, perm):
        raise PermissionDenied(f"You need the permission '{perm}' to do this "
                               f"({describe(perm)}).")


def describe(perm: str) -> str:
    """A person's words for a permission: its groups."""
    groups = [name for name, perms in GROUPS.items()
              if perm in perms or f"{perm.split('.')[0]}.*" in perms]
    return "held by the groups " + ", ".join(groups) if groups else "ask an administrator"


def page_requires(perm: str) -> Callable:
    """Decorate a Django view: anonymous users go to the login page, others without
    ``perm`` get 403."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            require(request.user, perm)
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm  # type: ignore[attr-defined]
        return wrapper

    return decorate


def api_requires(perm: str) -> Callable:
    """Decorate a ninja operation (below ``@router.get``): 401 / 403 error answers.

    The API's authentication puts the token's user on ``request.user``."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            require(request.user, perm)
            return view(request, *args, **kwargs)

        wrapper.required_permission = perm  # type: ignore[attr-defined]
        return wrapper

    return decorate


async def ws_allowed(user: Any, perm: str) -> bool:
    """For websocket consumers' ``connect()``: may ``scope["user"]`` hold ``perm``?"""
    from channels.db import database_sync_to_async

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return await database_sync_to_async(allowed)(user, perm)


# groups -----------------------------------------------------------------------------

def group_permissions(apps: Any, codes: Iterable[str]) -> list[Any]:
    """The Permission rows for ``codes`` that exist (models not yet migrated are skipped)."""
    Permission = apps.get_model("auth", "Permission")
    found = []
    for code in codes:
        app_label, codename = code.split(".", 1)
        rows = Permission.objects.filter(content_type__app_label=app_label)
        if codename != "*":
            rows = rows.filter(codename=codename)
        found.extend(rows)
    return found


def sync_groups(apps: Any = None, **_: Any) -> None:
    """Create the groups and add their permissions (never removes any). Idempotent.

    Runs in the groups migration and after every ``migrate`` (``post_migrate``), so
    permissions of models that arrive later (graphs) join their groups.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    for name, codes in GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        perms = group_permissions(apps, codes)
        if perms:
            group.permissions.add(*perms)


def sync_groups_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate receiver: permissions exist now; bring the groups up to date."""
    from django.apps import apps as global_apps
    from django.db import DEFAULT_DB_ALIAS

    # Once after this app's permissions exist, once after the graphs app's.
    if getattr(sender, "label", None) not in ("executions", "graphs"):
        return
    if kwargs.get("using", DEFAULT_DB_ALIAS) != DEFAULT_DB_ALIAS:
        return
    if not global_apps.is_installed("django.contrib.auth"):
        return
    sync_groups(global_apps)
