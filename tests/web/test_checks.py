"""System checks that catch settings which do not work together."""

from django.core.management import call_command

from fluxweb.checks import shape_messages

POSTGRES = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"
IN_MEMORY = "channels.layers.InMemoryChannelLayer"
REDIS = "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_postgres_without_redis_warns_that_workers_cannot_reach_browsers():
    assert [m.id for m in shape_messages(POSTGRES, IN_MEMORY)] == ["fluxweb.W001"]


def test_postgres_with_redis_is_fine():
    assert shape_messages(POSTGRES, REDIS) == []


def test_the_embedded_shape_is_fine():
    assert shape_messages(SQLITE, IN_MEMORY) == []


def test_the_running_configuration_passes_its_checks(db):  # JSONField checks query SQLite
    call_command("check", fail_level="WARNING")
