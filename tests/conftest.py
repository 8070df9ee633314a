"""Test-wide fixtures.

SQLite test databases live in a temporary file rather than in memory: the
runtime's store works from its own thread and the crash tests from other
processes, and an in-memory shared-cache database answers concurrent writers
with "database table is locked" instead of waiting for them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

#: The in-process queue fixture (``queue``) for tests that exercise the runner.
pytest_plugins = ["tests.inline_queue"]

# The fuzz passes (schemathesis, hypothesis) draw new inputs on every developer's run, so
# they keep finding what nobody thought of; CI (CI=true) draws the same ones every time,
# so a submission is judged on what was run before it.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix,
                                 tmp_path_factory):
    from django.conf import settings

    for alias, db in settings.DATABASES.items():
        if db["ENGINE"].endswith("sqlite3"):
            path = tmp_path_factory.mktemp("sqlite") / f"test_{alias}.sqlite3"
            db.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (pages reuse aggregates for a moment)."""
    yield
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for a module's browser tests. Module-scoped on purpose:
    Playwright's sync API keeps an event loop running on the main thread while it is
    open, which would break every asyncio test after it, and allows only one instance
    per thread at a time."""
    from tests.live_server import chromium

    with chromium() as launched:
        yield launched
