"""System checks for combinations of settings that work alone but not together.

Ids are stable; `SILENCED_SYSTEM_CHECKS` takes them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning as CheckWarning, register

IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"


@register(Tags.compatibility)
def check_shape(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return shape_messages(
        settings.DATABASES["default"]["ENGINE"],
        settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", ""),
    )


def shape_messages(database_engine: str, channel_layer: str) -> list[CheckMessage]:
    """fluxweb.W001: a database shared by many processes with process-local wake-ups."""
    if database_engine.endswith("sqlite3") or channel_layer != IN_MEMORY_LAYER:
        return []
    return [
        CheckWarning(
            "The database is shared (PostgreSQL) but the channel layer is in memory and "
            "the queue is a local SQLite file.",
            hint=(
                "Workers in other processes or on other hosts cannot reach this process's "
                "browsers or queue. Set REDIS_URL (Huey on Redis and the Redis pub/sub "
                "channel layer), or run everything as one `manage.py flux up`."
            ),
            id="fluxweb.W001",
        )
    ]
