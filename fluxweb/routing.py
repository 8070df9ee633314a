"""Websocket URL patterns, routed by `fluxweb/asgi.py`. The dashboard adds its consumers."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
