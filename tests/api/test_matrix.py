"""The permission matrix: every URL of the project, who is refused and who is served.

:data:`MATRIX` is the one list of rules. Each rule names a route (as Django
lists it, ninja's included) and, for each request, the permission it needs, a
persona who lacks it and one who holds it. ``test_rule`` sends the request as
anonymous (401 for the API, a login redirect for pages), as the persona without
the permission (403) and as the one with it (served).
``test_every_url_is_in_the_matrix`` fails when a route, or an API method, has no
rule: **add a row here when you add a URL.**

Paths may use placeholders filled from :class:`tests.api.conftest.World`:
``{completed}``, ``{paused}``, ``{failed}``, ``{queued}`` (execution ids),
``{workflow}`` (a registered workflow), ``{own_token}`` (a token of the served
persona), ``{secret}`` (a stored secret's name), ``{schedule}`` (a schedule's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from executions.access import permissions as perms
from tests.api.conftest import TokenClient, client_for, token_client

#: ``needs`` for URLs anyone may open, and for those any logged-in user may.
PUBLIC = "public"
LOGIN = "login"


@dataclass(frozen=True)
class Rule:
    route: str  # as enumerated: "api/executions/{execution_id}/cancel"
    method: str = "GET"
    needs: str = perms.VIEW
    path: str | None = None  # a concrete URL to try (placeholders allowed); None: route
    allowed: str = "viewer"  # a persona who holds `needs`: served
    denied: str | None = "nobody"  # a persona who lacks it: 403 (ignored: PUBLIC, LOGIN)
    body: Any = None
    ok: tuple[int, ...] = (200,)
    page: bool = False  # a page: anonymous is sent to the login page, not answered 401
    note: str = ""
    covers: tuple[str, ...] = field(default_factory=tuple)  # more routes it accounts for


#: Routes under these prefixes are covered by the app that owns them.
PREFIXES = {
    "admin/": "Django admin: staff only; model permissions checked by the admin itself "
              "(tests/api/test_admin.py).",
    "accounts/": "Django's login, logout and password pages: public by design.",
    "static/": "static files (WhiteNoise).",
}

MATRIX: list[Rule] = [
    # dashboard pages (executions/urls.py)
    Rule("", page=True),
    Rule("workflows/", page=True),
    Rule("workflows/{name}/", path="/workflows/{workflow}/", page=True),
    Rule("workflows/{name}/", "POST", perms.RUN, "/workflows/{workflow}/", page=True,
         allowed="operator", denied="viewer", body={"input": '{"name": "Ada"}'},
         ok=(200, 302), note="the Run form"),
    Rule("executions/", page=True),
    Rule("executions/bulk/", "POST", perms.CANCEL, page=True, allowed="operator",
         denied="approver", body={"action": "cancel", "ids": "{queued}"}, ok=(302,)),
    Rule("executions/{execution_id}/", path="/executions/{completed}/", page=True),
    Rule("executions/{execution_id}/events.json", path="/executions/{completed}/events.json",
         page=True),
    Rule("executions/{execution_id}/{action}/", "POST", perms.CANCEL,
         "/executions/{queued}/cancel/", page=True, allowed="operator", denied="approver",
         ok=(302,), note="cancel; retry and rerun need RUN (perms.ACTIONS)"),
    # schedule pages (executions/views/schedules.py): changes need manage_schedules
    Rule("schedules/", page=True),
    Rule("schedules/", "POST", perms.MANAGE_SCHEDULES, page=True, allowed="operator",
         denied="editor", ok=(302,), body={"name": "matrix-page", "workflow": "api_hello",
                                           "cron": "0 9 * * *", "input": '{"name": "Ada"}'}),
    Rule("schedules/{name}/", path="/schedules/{schedule}/", page=True),
    Rule("schedules/{name}/", "POST", perms.MANAGE_SCHEDULES, "/schedules/{schedule}/",
         page=True, allowed="operator", denied="viewer", ok=(302,),
         body={"action": "pause"}),
    # API tokens page (executions/views/tokens.py): every user manages their own
    Rule("tokens/", needs=LOGIN, allowed="nobody", page=True),
    Rule("tokens/", "POST", LOGIN, allowed="nobody", page=True,
         body={"name": "ci", "expires_in_days": "30"}),
    Rule("tokens/{token_id}/revoke/", "POST", LOGIN, "/tokens/{own_token}/revoke/",
         allowed="nobody", page=True, ok=(302,)),
    # the inbox (executions/inbox/urls.py): every logged-in user sees the items they may
    # decide; deciding checks each item (executions.core.approvals.refusal)
    Rule("inbox/", needs=LOGIN, allowed="nobody", page=True),
    Rule("inbox/{approval_id}/decide/", "POST", LOGIN, "/inbox/{missing}/decide/",
         allowed="approver", page=True, body={"decision": "approve"}, ok=(302, 404)),
    Rule("inbox/bulk/", "POST", LOGIN, allowed="approver", page=True,
         body={"action": "approve"}, ok=(302,)),
    # graph pages (graphs/urls.py); {missing} is an id nothing has: 404 once allowed
    Rule("graphs/", needs=perms.VIEW_GRAPHS, page=True),
    Rule("graphs/new/", needs=perms.ADD_GRAPHS, page=True, allowed="editor",
         denied="operator"),
    Rule("graphs/{graph_id}/edit/", needs=perms.VIEW_GRAPHS,
         path="/graphs/{missing}/edit/", page=True, ok=(404,)),
    Rule("graphs/{graph_id}/versions/", needs=perms.VIEW_GRAPHS,
         path="/graphs/{missing}/versions/", page=True, ok=(404,)),
    Rule("graphs/code/{workflow}/", needs=perms.VIEW_GRAPHS, path="/graphs/code/api_hello/",
         page=True, ok=(200, 404)),
    # the API's public parts
    Rule("api/", needs=PUBLIC, ok=(200, 302), note="ninja's index"),
    Rule("api/health", needs=PUBLIC),
    Rule("api/docs", needs=PUBLIC),
    Rule("api/openapi.json", needs=PUBLIC),
    Rule("api/{path}", needs=PUBLIC, path="/api/no/such/thing", ok=(404,),
         note="any /api/ path no router claims: a 404 in the error shape"),
    Rule("api/{path}", "POST", PUBLIC, "/api/no/such/thing", ok=(404,), body={},
         note="any method, with a token too: the same 404, never a CSRF page"),
    Rule("api/{path}", "DELETE", PUBLIC, "/api/no/such/thing", ok=(404,)),
    # workflows
    Rule("api/workflows/", path="/api/workflows/"),
    Rule("api/workflows/{name}", path="/api/workflows/{workflow}"),
    Rule("api/workflows/{name}/run", "POST", perms.RUN, "/api/workflows/{workflow}/run",
         allowed="operator", denied="viewer", body={"input": {"name": "Ada"}}, ok=(201,)),
    # executions
    Rule("api/executions/", path="/api/executions/"),
    Rule("api/executions/{execution_id}", path="/api/executions/{completed}"),
    Rule("api/executions/{execution_id}/events", path="/api/executions/{completed}/events"),
    Rule("api/events/{name}", "POST", perms.RUN, "/api/events/payment",
         allowed="operator", denied="approver", body={"payload": {"order": 1}},
         note="events: delivered to waiters, or kept"),
    Rule("api/executions/{execution_id}/events/{name}", "POST", perms.RUN,
         "/api/executions/{paused}/events/payment", allowed="operator", denied="approver",
         body={"payload": {"order": 1}}),
    Rule("api/executions/{execution_id}/cancel", "POST", perms.CANCEL,
         "/api/executions/{queued}/cancel", allowed="operator", denied="approver"),
    Rule("api/executions/{execution_id}/resume", "POST", perms.APPROVE,
         "/api/executions/{paused}/resume", allowed="approver", denied="operator",
         body={"input": True}, note="answers the pause as the inbox does: every role in "
                                    "tests/security/test_resume_rules.py"),
    Rule("api/executions/{execution_id}/retry", "POST", perms.RUN,
         "/api/executions/{failed}/retry", allowed="editor", denied="viewer"),
    Rule("api/executions/{execution_id}/rerun", "POST", perms.RUN,
         "/api/executions/{completed}/rerun", allowed="operator", denied="approver",
         ok=(201,)),
    # graphs (graphs/api.py); a body the validator refuses still shows the check passed
    Rule("api/graphs/", needs=perms.VIEW_GRAPHS),
    Rule("api/graphs/", "POST", perms.ADD_GRAPHS, allowed="editor", denied="operator",
         body={}, ok=(201, 422)),
    Rule("api/graphs/validate", "POST", perms.VIEW_GRAPHS, body={}, ok=(200, 422)),
    Rule("api/graphs/import", "POST", perms.ADD_GRAPHS, allowed="editor", denied="viewer",
         body={"workflow": "api_hello"}, ok=(201, 404, 422)),
    Rule("api/graphs/{graph_id}", needs=perms.VIEW_GRAPHS, path="/api/graphs/{missing}",
         ok=(404,)),
    Rule("api/graphs/{graph_id}", "PUT", perms.EDIT_GRAPHS, "/api/graphs/{missing}",
         allowed="editor", denied="operator", body={}, ok=(404, 422)),
    Rule("api/graphs/{graph_id}", "DELETE", perms.DELETE_GRAPHS, "/api/graphs/{missing}",
         allowed="editor", denied="operator", ok=(404,)),
    Rule("api/graphs/{graph_id}/versions", needs=perms.VIEW_GRAPHS,
         path="/api/graphs/{missing}/versions", ok=(404,)),
    Rule("api/graphs/{graph_id}/versions/{version}", needs=perms.VIEW_GRAPHS,
         path="/api/graphs/{missing}/versions/1", ok=(404,)),
    Rule("api/graphs/{graph_id}/run", "POST", perms.RUN, "/api/graphs/{missing}/run",
         allowed="operator", denied="viewer", ok=(404,)),
    Rule("api/graphs/{graph_id}/python", needs=perms.VIEW_GRAPHS,
         path="/api/graphs/{missing}/python", ok=(404,)),
    Rule("api/tasks/", needs=perms.VIEW_GRAPHS),
    # approvals (executions/inbox/api.py); {missing} is an id nothing has: 404 once allowed
    Rule("api/approvals/", needs=perms.APPROVE, allowed="approver", denied="operator"),
    Rule("api/approvals/{approval_id}", needs=perms.APPROVE, path="/api/approvals/{missing}",
         allowed="approver", denied="operator", ok=(404,)),
    Rule("api/approvals/{approval_id}/approve", "POST", perms.APPROVE,
         "/api/approvals/{missing}/approve", allowed="approver", denied="operator",
         body={}, ok=(404,)),
    Rule("api/approvals/{approval_id}/reject", "POST", perms.APPROVE,
         "/api/approvals/{missing}/reject", allowed="approver", denied="operator",
         body={}, ok=(404,)),
    Rule("api/approvals/bulk", "POST", perms.APPROVE, allowed="approver", denied="viewer",
         body={"ids": [], "action": "approve"}, ok=(200, 422)),
    # tokens: every user manages their own
    Rule("api/tokens/", needs=LOGIN, path="/api/tokens/", allowed="nobody", denied=None),
    Rule("api/tokens/", "POST", LOGIN, "/api/tokens/", allowed="nobody", denied=None,
         body={"name": "ci"}, ok=(201,)),
    Rule("api/tokens/{token_id}", "DELETE", LOGIN, "/api/tokens/{own_token}",
         allowed="nobody", denied=None),
    # secrets: names in, never values out
    Rule("api/secrets/", needs=perms.MANAGE_SECRETS, path="/api/secrets/", allowed="admin",
         denied="operator"),
    Rule("api/secrets/{name}", "PUT", perms.MANAGE_SECRETS, "/api/secrets/MATRIX_KEY",
         allowed="admin", denied="editor", body={"value": "s3cr3t-value"}),
    Rule("api/secrets/{name}", "DELETE", perms.MANAGE_SECRETS, "/api/secrets/{secret}",
         allowed="admin", denied="operator", ok=(204,)),
    # schedules (executions/api/schedules.py): reading is viewing, changes need
    # manage_schedules (operators, admins)
    Rule("api/schedules/", path="/api/schedules/"),
    Rule("api/schedules/", "POST", perms.MANAGE_SCHEDULES, "/api/schedules/",
         allowed="operator", denied="editor", ok=(201,),
         body={"name": "matrix-new", "workflow": "api_hello", "cron": "0 9 * * *",
               "input": {"name": "Ada"}}),
    Rule("api/schedules/preview", "POST", path="/api/schedules/preview",
         body={"cron": "*/5 * * * *"}),
    Rule("api/schedules/{name}", path="/api/schedules/{schedule}"),
    Rule("api/schedules/{name}", "PATCH", perms.MANAGE_SCHEDULES, "/api/schedules/{schedule}",
         allowed="operator", denied="approver", body={"note": "changed"}),
    Rule("api/schedules/{name}", "DELETE", perms.MANAGE_SCHEDULES,
         "/api/schedules/{schedule}", allowed="admin", denied="viewer", ok=(204,)),
    Rule("api/schedules/{name}/pause", "POST", perms.MANAGE_SCHEDULES,
         "/api/schedules/{schedule}/pause", allowed="operator", denied="editor"),
    Rule("api/schedules/{name}/resume", "POST", perms.MANAGE_SCHEDULES,
         "/api/schedules/{schedule}/resume", allowed="operator", denied="editor"),
    Rule("api/schedules/{name}/trigger", "POST", perms.MANAGE_SCHEDULES,
         "/api/schedules/{schedule}/trigger", allowed="operator", denied="viewer",
         ok=(201,)),
    Rule("api/schedules/{name}/backfill", "POST", perms.MANAGE_SCHEDULES,
         "/api/schedules/{schedule}/backfill", allowed="operator", denied="approver",
         body={"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T02:00:00Z"}),
]


# enumerating the project's URLs ------------------------------------------------------

def _normalise(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return route.lstrip("^").rstrip("$")


def all_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every route of the URLconf, includes (ninja's too) expanded."""
    resolver = resolver or get_resolver()
    out = []
    for pattern in resolver.url_patterns:
        route = prefix + _normalise(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            out.extend(all_routes(pattern, route))
        elif isinstance(pattern, URLPattern):
            out.append(route)
    return out


def api_operations() -> set[tuple[str, str]]:
    """(method, route) of every operation in the OpenAPI schema."""
    from fluxweb.api import api

    schema = api.get_openapi_schema()
    return {(method.upper(), path.lstrip("/")) for path, item in schema["paths"].items()
            for method in item if method in ("get", "post", "put", "patch", "delete")}


def covered(route: str) -> bool:
    if any(route.startswith(p) for p in PREFIXES):
        return True
    return any(route == r.route or route in r.covers for r in MATRIX)


def test_every_url_is_in_the_matrix():
    missing = sorted({r for r in all_routes() if not covered(r)})
    assert not missing, (
        f"URL routes with no rule in tests/api/test_matrix.py MATRIX: {missing}. Add a "
        "Rule saying which permission each needs and who is served.")


def test_every_api_operation_is_in_the_matrix():
    rules = {(r.method, r.route) for r in MATRIX}
    missing = sorted(op for op in api_operations() if op not in rules)
    assert not missing, (
        f"API operations with no rule in tests/api/test_matrix.py MATRIX: {missing}.")


def test_every_rule_names_a_route_that_exists():
    routes = set(all_routes())
    stale = sorted({r.route for r in MATRIX} - routes)
    assert not stale, f"Rules for routes that no longer exist: {stale}"


# checking each rule ------------------------------------------------------------------

def fill(path: str, world, user) -> str:
    values = {}
    for name in re.findall(r"{(\w+)}", path):
        if name == "workflow":
            values[name] = "api_hello"
        elif name in ("missing_graph", "missing"):
            values[name] = 987654
        elif name == "secret":
            from executions.core.secrets_store import set_secret

            values[name] = set_secret("MATRIX_KEY", "matrix-value").name
        elif name == "schedule":
            from executions.core import schedules
            from executions.core.commands import SYSTEM
            from executions.models import Schedule

            values[name] = "matrix-schedule"
            if not Schedule.objects.filter(name="matrix-schedule").exists():
                schedules.create("matrix-schedule", actor=SYSTEM, workflow="api_hello",
                                 cron="0 * * * *", input={"name": "Ada"})
        elif name == "own_token":
            from executions.models import Token

            values[name] = Token.issue(user, name="matrix")[0].pk
        else:
            values[name] = getattr(world, name).pk
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path)


def send(client, rule: Rule, path: str, body: Any):
    if isinstance(client, TokenClient):
        return client.request(rule.method, path, body)
    call = getattr(client, rule.method.lower())
    if rule.page and body is not None:  # a form
        return call(path, body)
    if body is not None:
        return call(path, body, content_type="application/json")
    if rule.method in ("POST", "PUT", "PATCH"):
        return call(path, content_type="application/json")
    return call(path)


def ask(user, rule: Rule, path: str, body: Any = None):
    """As anonymous (user None) or ``user``: through a token for the API, else a session."""
    if user is None:
        return send(client_for(None), rule, path, body)
    if rule.page or not rule.route.startswith("api/"):
        return send(client_for(user), rule, path, body)
    return send(token_client(user), rule, path, body)


@pytest.mark.parametrize("rule", MATRIX, ids=lambda r: f"{r.method} {r.route}")
def test_rule(rule: Rule, users, world):
    path = rule.path or "/" + rule.route
    served = users[rule.allowed]
    path = fill(path, world, served)
    body = ({k: fill(v, world, served) if isinstance(v, str) else v
             for k, v in rule.body.items()} if isinstance(rule.body, dict) else rule.body)

    if rule.needs != PUBLIC:
        anonymous = ask(None, rule, path, body)
        if rule.page:
            assert anonymous.status_code == 302, anonymous
            assert "/accounts/login/" in anonymous["Location"]
        else:
            assert anonymous.status_code == 401, anonymous.content
            assert anonymous.json()["code"] in ("not_authenticated", "invalid_token")
    if rule.denied is not None and rule.needs not in (PUBLIC, LOGIN):
        refused = ask(users[rule.denied], rule, path, body)
        assert refused.status_code == 403, refused.content
        if not rule.page:
            assert refused.json()["code"] == "permission_denied"
        assert not perms.allowed(users[rule.denied], rule.needs)

    answer = ask(served, rule, path, body)
    assert answer.status_code in rule.ok, answer.content
    if rule.needs not in (PUBLIC, LOGIN):
        assert perms.allowed(served, rule.needs)
