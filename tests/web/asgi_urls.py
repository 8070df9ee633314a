"""A URLconf for tests/web/test_asgi.py: the site's, plus a view that streams from an
asynchronous iterator (none of the site's does)."""

from django.http import StreamingHttpResponse
from django.urls import path

from fluxweb.urls import urlpatterns as site


async def _numbers():
    for i in range(3):
        yield f"{i}\n"


def numbers(request):
    return StreamingHttpResponse(_numbers(), content_type="text/plain")


urlpatterns = [path("test-numbers/", numbers), *site]
