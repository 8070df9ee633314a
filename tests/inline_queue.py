"""A queue run in-process: stands in for Huey in tests that exercise the runner.

``runner.send`` (the only place a message goes to Huey) is replaced by a list;
``drain()`` runs what was sent, here, as a worker would.
"""

from __future__ import annotations

import pytest

# Django's modules are imported by the fixture, not here: this plugin is loaded for
# every test, and the engine's tests run without Django.


class Queue:
    """The messages sent, handed out as a priority queue does: the highest ``priority``
    first, then in the order sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.priority: dict[str, int] = {}

    def send(self, execution_id: str, delay: float | None = None, priority: int = 0) -> None:
        self.sent.append(execution_id)
        self.priority[execution_id] = priority

    def next(self) -> str:
        best = max(range(len(self.sent)), key=lambda i: (self.priority.get(self.sent[i], 0),
                                                          -i))
        return self.sent.pop(best)

    def drain(self) -> None:
        from executions.core import runner

        while self.sent:
            runner.run(self.next())


@pytest.fixture
def queue(transactional_db, monkeypatch):
    from executions.core import runner

    q = Queue()
    monkeypatch.setattr(runner, "send", q.send)
    yield q
    runner.close_thread_store()
