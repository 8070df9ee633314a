"""Profiling inside the benchmark's daphne (``bench_api.py --profile``): with
``BENCH_PROFILE=1`` (``bench_api_settings``) :class:`Profiled` is the outermost
middleware, and ``GET /_bench/profile?name=N`` reports and resets profile N."""

from __future__ import annotations

import cProfile
import io
import pstats

from django.http import HttpRequest, HttpResponse

PROFILES: dict[str, cProfile.Profile] = {}


def profile_report(request: HttpRequest) -> HttpResponse:
    """The cProfile report of profile ``name``, then forgets it."""
    name = request.GET.get("name", "")
    found = PROFILES.pop(name, None)
    if found is None:
        return HttpResponse(f"no profile named {name!r}", status=404,
                            content_type="text/plain")
    out = io.StringIO()
    stats = pstats.Stats(found, stream=out).strip_dirs()
    limit = int(request.GET.get("limit", "30"))
    for key in request.GET.get("sort", "tottime,cumulative").split(","):
        stats.sort_stats(key).print_stats(limit)
    return HttpResponse(out.getvalue(), content_type="text/plain; charset=utf-8")


class Profiled:
    """Profile (cProfile) every request carrying ``X-Bench-Profile: NAME``, from the top
    of the middleware to the response, into ``PROFILES[NAME]``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.headers.get("X-Bench-Profile")
        if not name:
            return self.get_response(request)
        profile = PROFILES.setdefault(name, cProfile.Profile())
        profile.enable()
        try:
            return self.get_response(request)
        finally:
            profile.disable()
