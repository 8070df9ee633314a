"""``/tokens/``: a user's own API tokens: make one (shown once), see them, revoke one.

Every logged-in user may manage their own tokens (``executions/access/permissions.py``);
the same operations exist in the API (``/api/tokens/``) and the CLI
(``flux token``). Only a token's hash is stored, so the page that creates one is the
only place its value ever appears.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from executions.models import Token

#: The expiry choices the form offers (days; 0: never).
EXPIRY_DAYS = (7, 30, 90, 365, 0)


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    created = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:100]
        try:
            days = int(request.POST.get("expires_in_days") or 0)
        except ValueError:
            days = -1
        if days not in EXPIRY_DAYS:
            messages.error(request, "Choose an expiry from the list.")
        else:
            token, raw = Token.issue(request.user, name=name,
                                     expires_in=timedelta(days=days) if days else None)
            created = {"token": token, "raw": raw}
    tokens = Token.objects.filter(user=request.user).order_by("-created_at", "-id")
    response = render(request, "executions/tokens.html", {
        "tokens": tokens, "created": created, "expiry_days": EXPIRY_DAYS})
    if created:
        response["Cache-Control"] = "no-store"  # the token must not stay in a cache
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = Token.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        raise Http404("You have no such token.")
    token.revoke()
    messages.success(request, f"Token {token.prefix}… revoked.")
    return HttpResponseRedirect(reverse("tokens"))
