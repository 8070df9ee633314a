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

from executions.cli.common import EXIT_OK, CliError, dumps, parse_span, table, when
from executions.models import Token


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("token", help="create, revoke and list API tokens")
    sub = p.add_subparsers(dest="token_verb", metavar="VERB", required=True)

    create = sub.add_parser("create", help="make a token for USER (printed once)")
    create.add_argument("user", metavar="USER", help="the username the token acts as")
    create.add_argument("--name", default="", help="what it is for, e.g. ci")
    create.add_argument("--expires", metavar="SPAN",
                        help="expire after 30m, 12h, 30d, 1w... (default: never)")
    create.add_argument("--json", action="store_true", help='print {"id", "token"}')
    create.set_defaults(handler=handle_create)

    revoke = sub.add_parser("revoke", help="refuse a token from now on")
    revoke.add_argument("id", metavar="ID", type=int)
    revoke.set_defaults(handler=handle_revoke)

    lst = sub.add_parser("list", help="tokens (never their values)")
    lst.add_argument("--user", metavar="USER", help="only this user's")
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.set_defaults(handler=handle_list)


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
        command.stdout.write(dumps({"id": token.pk, "token": raw}))
        return EXIT_OK
    until = f", expires {when(token.expires_at)}" if token.expires_at else ""
    command.stdout.write(f"Token {token.pk} for {user.get_username()}{until}. "
                         "Store it now; it is not shown again:")
    command.stdout.write(raw)
    return EXIT_OK


def handle_revoke(command: Any, options: dict[str, Any]) -> int:
    token = Token.objects.filter(pk=options["id"]).first()
    if token is None:
        raise CliError(f"No token with id {options['id']}.")
    token.revoke()
    command.stdout.write(f"Token {token.pk} ({token.user.get_username()}) revoked.")
    return EXIT_OK


def handle_list(command: Any, options: dict[str, Any]) -> int:
    rows = Token.objects.select_related("user").order_by("-id")
    if options["user"]:
        rows = rows.filter(user=find_user(options["user"]))
    tokens = list(rows)
    if options["json"]:
        command.stdout.write(dumps([t.to_dict() for t in tokens]))
        return EXIT_OK
    if not tokens:
        command.stdout.write("No tokens.")
        return EXIT_OK
    command.stdout.write(table(
        [[str(t.pk), t.user.get_username(), t.name or "-", t.prefix + "…", t.status,
          when(t.expires_at), when(t.last_used_at)] for t in tokens],
        ["ID", "USER", "NAME", "TOKEN", "STATUS", "EXPIRES", "LAST USED"]))
    return EXIT_OK
