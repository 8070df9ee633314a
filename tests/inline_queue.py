"""A queue run in-process: stands in for Huey in tests that exercise the runner.

``runner.send`` (the only place a message goes to Huey) is replaced by a list;
``drain()`` runs what was sent, here, as a worker would.
"""

from __future__ import annotations

import pytest

# Django's modules are imported by the fixture, not here: this plugin is loaded for
# every test, and the engine's tests run without Django.


class Queue:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def drain(self) -> None:
        from executions import runner

        while self.sent:
            runner.run(self.sent.pop(0))


@pytest.fixture
def queue(transactional_db, monkeypatch):
    from executions import runner

    q = Queue()
    monkeypatch.setattr(runner, "send", lambda execution_id, delay=None: q.sent.append(
        execution_id))
    yield q
    runner.close_thread_store()
