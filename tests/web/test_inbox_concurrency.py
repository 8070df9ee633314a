"""Two people approving one item at the same moment: exactly one wins (PostgreSQL).

Threads with their own connections race through executions.core.commands.decide; the
loser waits for the winner's row locks and is told the item was already decided.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from executions.core import approvals, commands
from executions.core.commands import Actor
from executions.models import Approval, Event
from tests.inbox.conftest import paused, people, sent  # noqa: F401 - fixtures

pytestmark = [pytest.mark.scaled, pytest.mark.django_db(transaction=True)]


def race(approval_id: int, users: list, approve: list[bool]) -> list:
    barrier = threading.Barrier(len(users))
    results: list = [None] * len(users)

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = commands.decide(approval_id, actor=Actor.of(users[i]),
                                         approve=approve[i], input={"by": users[i].username},
                                         comment=users[i].username)
        except Exception as exc:  # noqa: BLE001 - the loser's error is the point
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("round", range(5))
def test_two_concurrent_decisions_exactly_one_wins(people, sent, round):  # noqa: F811
    from django.conf import settings

    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    item = paused()
    sent.clear()
    results = race(item.pk, [people["alice"], people["bob"]], [True, round % 2 == 0])
    won = [r for r in results if isinstance(r, Approval)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], approvals.AlreadyDecided) and lost[0].status == 409
    winner = won[0].decided_by
    item.refresh_from_db()
    assert item.decided_by == winner and item.comment == winner
    resumed = Event.objects.filter(execution_id=item.execution_id, type="TASK_RESUMED")
    assert resumed.count() == 1 and resumed.get().value["actor"] == winner
    assert sent == [item.execution_id]  # queued once
