"""The scaled shape's services. These tests fail, never skip, when they are missing."""

import os

import pytest


def required(name: str, example: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is unset: scaled tests need it (e.g. {name}={example}).")
    return value


@pytest.fixture
def redis_url() -> str:
    return required("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def database_url() -> str:
    return required("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fluxweb")
