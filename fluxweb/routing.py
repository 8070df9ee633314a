"""Websocket URL patterns, routed by `fluxweb/asgi.py` (contract: docs/frontend.md)."""

from django.urls import URLPattern, path, re_path

from executions.inbox.consumers import InboxConsumer
from executions.views import consumers

websocket_urlpatterns: list[URLPattern] = [
    path("ws/executions/", consumers.ExecutionsConsumer.as_asgi()),
    path("ws/executions/<str:execution_id>/", consumers.ExecutionConsumer.as_asgi()),
    path("ws/inbox/", InboxConsumer.as_asgi()),
    # last: any other path is answered, closed with 4404 (not left hanging)
    re_path(r"", consumers.NotFoundConsumer.as_asgi()),
]
