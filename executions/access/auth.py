"""How the REST API knows who is calling: a bearer token, or the browser's session.

``Authorization: Bearer flux_…`` names an :class:`~executions.models.Token`; a
revoked or expired token, or one of an inactive user, is refused (401) even when
a session cookie comes with it. Without the header, a Django session works, with
Django's CSRF check for unsafe methods (the page sends ``X-CSRFToken``).
Either way ``request.user`` is the caller, so permission checks
(``executions.access.permissions``) read the same for both.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from executions.models import Token


class BadToken(AuthenticationError):
    """An Authorization header was sent, but its token is not valid (any more)."""


class CsrfFailed(Exception):
    """A session-authenticated unsafe request without a valid CSRF token."""


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header)
        if header and header.split(" ", 1)[0].lower() != self.openapi_scheme:
            raise BadToken()
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = Token.authenticate(token.strip())
        if found is None:
            raise BadToken()
        request.user = found.user
        request.api_token = found
        return found.user


class SessionAuth(APIKeyCookie):
    """Django's session, with CSRF for unsafe methods; anonymous falls through to 401."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            if check_csrf(request):
                raise CsrfFailed()
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if request.user.is_authenticated else None


#: The API's authentication, in the order tried.
api_auth = [TokenAuth(), SessionAuth()]
