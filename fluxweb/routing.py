"""Websocket URL patterns, routed by `fluxweb/asgi.py` (contract: docs/frontend.md)."""

from django.urls import URLPattern, path

from executions import consumers

websocket_urlpatterns: list[URLPattern] = [
    path("ws/executions/", consumers.ExecutionsConsumer.as_asgi()),
    path("ws/executions/<str:execution_id>/", consumers.ExecutionConsumer.as_asgi()),
]
