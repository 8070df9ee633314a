"""The daphne application that ``bench_api.py`` measures (with ``bench_api_settings``).

It is the project's ASGI application plus, for the benchmark only:

- ``GET /_bench/floor``: a bare Django view (no database, no session, no auth)
  through the project's full middleware stack: the floor a request pays in this
  process whatever it does;
- ``GET /_bench/bare``: the same view through a Django handler with no middleware
  (daphne, the ASGI handler and URL resolution only);
- ``GET /_bench/profile?name=N``: with ``BENCH_PROFILE=1``, the cProfile report of
  the requests that carried ``X-Bench-Profile: N`` (``bench_api_profile``).

Also this process's URLconf (``ROOT_URLCONF``): the project's routes behind those.
"""

from __future__ import annotations

from fluxweb.asgi import application as site  # sets Django up  # isort: skip

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from fluxweb.urls import handler500, urlpatterns as site_urls
from tests.benchmarks.bench_api_profile import profile_report

__all__ = ["application", "handler500", "urlpatterns"]


def floor(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("_bench/floor", floor),
    path("_bench/bare", floor),
    path("_bench/profile", profile_report),
    *site_urls,
]


class BareHandler(ASGIHandler):
    """Django's ASGI handler with no middleware at all."""

    def load_middleware(self, is_async: bool = False) -> None:
        saved = settings.MIDDLEWARE
        settings.MIDDLEWARE = []
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = saved


_bare = BareHandler()


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/_bench/bare":
        return await _bare(scope, receive, send)
    return await site(scope, receive, send)
