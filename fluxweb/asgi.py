"""The ASGI application: Django for HTTP, Channels for websockets.

Run it with `daphne fluxweb.asgi:application`.

HTTP requests go through :class:`SyncASGIHandler`, Django's ASGI handler doing a
request's synchronous work in one go, on a thread kept for the next request. Every
view and every middleware of this project is synchronous. Django's own handler starts
a thread for each request and runs the middleware in async mode: each of Django's
middleware moves to that thread and back for its ``process_request`` and again for
its ``process_response``, ours (sync only) come back to the event loop in between,
and the request's start and end signals take a trip of their own: about a dozen
thread switches for one request, each one a wait for the scheduler on a busy machine,
most of a small request's time (docs/benchmarks.md, "API latency").
"""

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import django
from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fluxweb.settings")


#: The threads requests run on (:class:`SyncASGIHandler`), kept between requests. At
#: most this many requests run at once; more wait for a thread (beyond the database
#: pool's DATABASE_POOL_SIZE connections they would wait for a connection anyway).
REQUEST_THREADS = 32
_request_threads = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="request")


async def _replay(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class SyncASGIHandler(ASGIHandler):
    """Django's ASGI handler with a synchronous middleware chain, as under WSGI, run
    with everything else a request does synchronously in one call on one of the
    :data:`REQUEST_THREADS` (Django's handler starts a new thread for each request):
    the ``request_started`` signal, building the request, the middleware and the view,
    then ``close()`` (``request_finished``: the database connection goes back to the
    pool before the bytes go out). A response streamed from a synchronous iterator is
    read whole there first, from the thread that made it (a view may stream from a
    query): Django's handler reads it whole before sending it too. The client's
    disconnect is watched as Django does."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not "
                             f"{scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))

            class RequestProcessed(Exception):
                pass

            response = None
            try:
                try:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(self.listen_for_disconnect(receive))
                        response = await sync_to_async(
                            self.respond, thread_sensitive=False,
                            executor=_request_threads)(scope, body_file)
                        await self.send_response(response, send)
                        raise RequestProcessed
                except* (RequestProcessed, RequestAborted):
                    pass
            except BaseExceptionGroup as exception_group:
                if len(exception_group.exceptions) == 1:
                    raise exception_group.exceptions[0] from None
                raise

            if response is None:
                await signals.request_finished.asend(sender=self.__class__)
            elif not getattr(response, "_closed_by_handler", False):
                await sync_to_async(response.close, thread_sensitive=False,
                                    executor=_request_threads)()

    def respond(self, scope, body_file) -> HttpResponseBase:
        """The response to the request in ``scope``; closed already unless it streams
        from an asynchronous iterator."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if response.streaming and response.is_async:
            close_old_connections()  # the view's; the stream is closed once sent
            return response
        if response.streaming:
            response.streaming_content = _replay(list(response.streaming_content))
        response.close()
        response._closed_by_handler = True
        return response


# Set Django up before anything imports models (consumers do).
django.setup(set_prefix=False)
django_asgi_app = SyncASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from fluxweb.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
