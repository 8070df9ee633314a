"""The scaled shape really talks to PostgreSQL (psycopg 3), Huey on Redis and the Redis
pub/sub channel layer."""

import uuid

import psycopg
import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from huey import RedisHuey

pytestmark = pytest.mark.scaled


@pytest.mark.django_db
def test_django_uses_postgresql_through_psycopg3(database_url):
    assert connection.vendor == "postgresql"
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    assert params["connect_timeout"] == 5  # DATABASE_CONNECT_TIMEOUT's default
    with psycopg.connect(**params) as conn:
        (version,) = conn.execute("SHOW server_version").fetchone()
    assert version


def test_redis_answers(redis_url):
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    assert client.ping()


def test_huey_round_trips_a_task_through_redis(redis_url):
    huey = RedisHuey(f"fluxweb-test-{uuid.uuid4().hex}", url=redis_url, results=True)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    try:
        result = add(2, 3)
        assert huey.pending_count() == 1
        task = huey.dequeue()
        assert task is not None
        huey.execute(task)
        assert result.get() == 5
    finally:
        huey.storage.flush_all()


def test_settings_choose_redis_for_the_queue_and_channel_layer(redis_url):
    assert settings.HUEY["huey_class"] == "executions.core.queue.RedisQueue"
    assert settings.HUEY["url"].split("?")[0] == redis_url.split("?")[0]
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert backend == "channels_redis.pubsub.RedisPubSubChannelLayer"


async def test_the_channel_layer_delivers_group_messages(redis_url):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = f"test-{uuid.uuid4().hex}"
    await layer.group_add(group, channel)
    try:
        await layer.group_send(group, {"type": "execution.event", "seq": 1})
        message = await layer.receive(channel)
        assert message == {"type": "execution.event", "seq": 1}
    finally:
        await layer.group_discard(group, channel)
        await layer.flush()
