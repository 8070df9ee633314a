"""Web test personas and helpers."""

import pytest
from django.contrib.auth.models import User

ALICE_PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db) -> User:
    """Alice, an ordinary user with a login."""
    return User.objects.create_user("alice", password=ALICE_PASSWORD)
