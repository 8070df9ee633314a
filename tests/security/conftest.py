"""Hostile-input tests (issue 17): the inbox's personas, and the API's, reused."""

from tests.inbox.conftest import people, sent  # noqa: F401 - fixtures
from tests.inline_queue import queue  # noqa: F401 - fixture
