"""Hostile-input tests (issue 17): the inbox's personas, the in-process queue, an admin."""

import pytest
from django.test import Client

from tests.api.conftest import client_for, make_user, users  # noqa: F401 - users: fixture
from tests.inbox.conftest import people, sent  # noqa: F401 - fixtures
from tests.inline_queue import queue  # noqa: F401 - fixture


@pytest.fixture
def admin(queue) -> Client:  # noqa: F811
    """Logged in as an admin (staff and superuser: the Django admin too); queue messages
    stay in-process (``queue.drain()`` runs them)."""
    user = make_user("root", "admin")
    user.is_staff = user.is_superuser = True
    user.save()
    return client_for(user)
