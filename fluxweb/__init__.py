"""The Django project around the flux engine: settings, URLs, ASGI, the REST API."""
