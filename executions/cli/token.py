"""``flux token create|revoke|list``: API tokens for scripts (``Authorization: Bearer``).

- ``create USER [--name N] [--expires 30d] [--json]`` prints the token on its last
  line (``--json``: ``{"id", "token"}``). It is shown this once: only its hash is
  stored.
- ``revoke ID`` refuses it from now on.
- ``list [--user USER] [--json]`` shows ids, names, owners and states (never tokens).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from executions.cli.common import (
    EXIT_OK,
    CliError,
    parse_span,
    print_json,
    print_list,
    verb,
    verb_group,
    when,
)
from executions.models import Token


def add_parser(verbs: Any) -> None:
    sub = verb_group(verbs, "token", "create, revoke and list API tokens")
    create = verb(sub, "create", "make a token for USER (printed once)", handle_create,
                  target="USER", target_help="the username the token acts as",
                  json='{"id", "token"}')
    create.add_argument("--name", default="", help="what it is for, e.g. ci")
    create.add_argument("--expires", metavar="SPAN",
                        help="expire after 30m, 12h, 30d, 1w... (default: never)")
    verb(sub, "revoke", "refuse a token from now on", handle_revoke, target="ID")
    lst = verb(sub, "list", "tokens (never their values)", handle_list, json="a JSON array")
    lst.add_argument("--user", metavar="USER", help="only this user's")


def find_user(username: str) -> Any:
    User = get_user_model()
    try:
        return User.objects.get(**{User.USERNAME_FIELD: username})
    except User.DoesNotExist:
        raise CliError(f"No user named '{username}' (create it in the admin or with "
                       "`manage.py createsuperuser`).") from None


def handle_create(command: Any, options: dict[str, Any]) -> int:
    user = find_user(options["user"])
    if not user.is_active:
        raise CliError(f"User '{options['user']}' is inactive: its tokens would be refused.")
    expires = parse_span(options["expires"], "--expires") if options["expires"] else None
    if len(options["name"]) > 100:
        raise CliError("--name is at most 100 characters.")
    token, raw = Token.issue(user, name=options["name"], expires_in=expires)
    if options["json"]:
        return print_json(command, {"id": token.pk, "token": raw})
    until = f", expires {when(token.expires_at)}" if token.expires_at else ""
    command.stdout.write(f"Token {token.pk} for {user.get_username()}{until}. "
                         "Store it now; it is not shown again:")
    command.stdout.write(raw)
    return EXIT_OK


def handle_revoke(command: Any, options: dict[str, Any]) -> int:
    given = options["id"]
    number = given.isascii() and given.isdigit() and len(given) <= 18
    token = Token.objects.filter(pk=int(given)).first() if number else None
    if token is None:
        raise CliError(f"No token with id {options['id']}.")
    token.revoke()
    command.stdout.write(f"Token {token.pk} ({token.user.get_username()}) revoked.")
    return EXIT_OK


def handle_list(command: Any, options: dict[str, Any]) -> int:
    rows = Token.objects.select_related("user").order_by("-id")
    if options["user"]:
        rows = rows.filter(user=find_user(options["user"]))
    return print_list(
        command, options, rows,
        headers=["ID", "USER", "NAME", "TOKEN", "STATUS", "EXPIRES", "LAST USED"],
        row=lambda t: [str(t.pk), t.user.get_username(), t.name or "-", t.prefix + "…",
                       t.status, when(t.expires_at), when(t.last_used_at)],
        empty="No tokens.", as_json=lambda t: t.to_dict())
