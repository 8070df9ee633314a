"""The scheduler: one run per fire time, catch-up, overlap policies, DST, backfill, and
schedules declared in code. The clock is frozen and moved; the queue is in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from executions.core import registry, schedules
from executions.core.commands import SYSTEM
from executions.models import Execution, Schedule
from flux import Status
from flux.errors import InvalidInputError
from tests.schedules.conftest import T0


def make(name="every-minute", **fields):
    fields = {"workflow": "sched_echo", "cron": "* * * * *", **fields}
    return schedules.create(name, actor=SYSTEM, **fields)


def runs(name="every-minute"):
    return list(Execution.objects.filter(schedule=name).order_by("scheduled_for"))


def test_a_fire_time_starts_one_run_however_often_it_is_ticked(queue, frozen):
    make(input={"n": 1})
    assert schedules.tick() == []  # nothing due at 08:00:00 (the next fire is 08:01)
    frozen.advance(minutes=1)
    started = schedules.tick()
    assert len(started) == 1
    assert schedules.tick() == []
    # Another worker that read the schedule before the first moved it finds the fire
    # taken: the (schedule, scheduled_for) constraint gives back the first run.
    Schedule.objects.filter(name="every-minute").update(next_fire_at=T0 + timedelta(minutes=1))
    assert schedules.tick() == []
    [run] = runs()
    assert run.scheduled_for == T0 + timedelta(minutes=1)
    assert run.to_dict()["schedule"] == "every-minute"
    assert run.to_dict()["scheduled_for"] == "2026-03-27T08:01:00+00:00"
    assert run.actor == "schedule:every-minute"
    queue.drain()
    run.refresh_from_db()
    assert (run.status, run.output) == (Status.COMPLETED, {"n": 1})


def test_missed_fires_within_the_catch_up_window_start_older_ones_are_skipped(queue, frozen):
    make(catchup_seconds=180, overlap="allow")
    frozen.advance(minutes=10)  # the workers were down from 08:00 to 08:10
    schedules.tick()
    times = [r.scheduled_for.strftime("%H:%M") for r in runs()]
    assert times == ["08:07", "08:08", "08:09", "08:10"]
    row = Schedule.objects.get(name="every-minute")
    assert row.skipped == 6  # 08:01 .. 08:06
    assert "catch-up" in row.last_skip_reason
    assert row.next_fire_at == T0 + timedelta(minutes=11)


def test_overlap_skip_starts_nothing_while_the_last_run_is_unfinished(queue, frozen):
    make(overlap="skip")
    frozen.advance(minutes=1)
    schedules.tick()
    frozen.advance(minutes=1)
    schedules.tick()  # the 08:01 run is still queued
    assert len(runs()) == 1
    assert Schedule.objects.get(name="every-minute").skipped == 1
    queue.drain()
    frozen.advance(minutes=1)
    schedules.tick()
    assert len(runs()) == 2


def test_overlap_allow_starts_every_fire(queue, frozen):
    make(overlap="allow")
    for _ in range(3):
        frozen.advance(minutes=1)
        schedules.tick()
    assert len(runs()) == 3


def test_overlap_buffer_one_keeps_one_run_waiting_for_the_running_one(queue, frozen):
    make(overlap="buffer_one")
    frozen.advance(minutes=1)
    schedules.tick()
    first = runs()[0]
    # The first run holds the schedule's one slot while it runs.
    Execution.objects.filter(pk=first.pk).update(
        status=Status.RUNNING, lease_owner="w", lease_expires=frozen.now.timestamp() + 3600)
    for _ in range(3):
        frozen.advance(minutes=1)
        schedules.tick()
    waiting = runs()[1:]
    assert len(waiting) == 1  # the 08:02 fire is buffered, 08:03 and 08:04 are skipped
    assert Schedule.objects.get(name="every-minute").skipped == 2
    queue.sent.clear()
    from executions.core import runner

    runner.run(waiting[0].pk)  # its message comes: no slot
    waiting[0].refresh_from_db()
    assert waiting[0].status == Status.QUEUED
    assert waiting[0].waiting_reason == "waiting for a slot: 1 of 1 running"


def test_overlap_cancel_other_cancels_the_unfinished_run(queue, frozen):
    make(overlap="cancel_other")
    frozen.advance(minutes=1)
    schedules.tick()
    frozen.advance(minutes=1)
    schedules.tick()
    first, second = runs()
    assert first.status == Status.CANCELLED
    assert second.status == Status.QUEUED


def test_a_fire_time_the_clock_skips_runs_once_at_the_next_valid_instant(queue):
    from executions.core.conf import clock

    # Paris, 2026-03-29: 02:00 becomes 03:00; 02:30 does not exist that night.
    with clock.frozen(datetime(2026, 3, 28, 12, tzinfo=UTC)) as now:
        make("nightly", cron="30 2 * * *", timezone="Europe/Paris", overlap="allow")
        for _ in range(48 * 4):
            now.advance(minutes=15)
            schedules.tick()
    local = [r.scheduled_for.astimezone(_paris()).strftime("%m-%d %H:%M") for r in
             runs("nightly")]
    assert local == ["03-29 03:00", "03-30 02:30"]


def test_a_fire_time_the_clock_passes_twice_runs_once(queue):
    from executions.core.conf import clock

    # Paris, 2026-10-25: 03:00 becomes 02:00; 02:30 happens twice that night.
    with clock.frozen(datetime(2026, 10, 24, 12, tzinfo=UTC)) as now:
        make("nightly", cron="30 2 * * *", timezone="Europe/Paris", overlap="allow")
        for _ in range(48 * 4):
            now.advance(minutes=15)
            schedules.tick()
    utc = [r.scheduled_for.strftime("%m-%d %H:%M") for r in runs("nightly")]
    assert utc == ["10-25 00:30", "10-26 01:30"]


def test_backfill_starts_one_run_per_fire_time_once(queue, frozen):
    make("hourly", cron="0 * * * *", paused=True)
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    done = schedules.backfill("hourly", start, end, actor=SYSTEM)
    assert len(done.started) == 25 and not done.existing
    again = schedules.backfill("hourly", start, end, actor=SYSTEM)
    assert not again.started and len(again.existing) == 25
    assert Execution.objects.filter(schedule="hourly").count() == 25


def test_a_backfill_of_a_million_fires_is_refused_and_starts_nothing(queue, frozen):
    make("secondly", cron="* * * * * *")
    with pytest.raises(InvalidInputError, match="more than 1000 fire times"):
        schedules.backfill("secondly", T0 - timedelta(days=12), T0, actor=SYSTEM)
    assert not Execution.objects.exists()


@pytest.mark.parametrize(("fields", "message"), [
    ({"cron": "61 * * * *"}, "Invalid cron expression '61 \\* \\* \\* \\*': Bad minute"),
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "Unknown timezone 'Mars/Olympus'"),
    ({"cron": "", "interval_seconds": -5}, "interval_seconds"),
    ({"overlap": "sometimes"}, "overlap"),
    ({"workflow": "no_such_workflow"}, "Unknown workflow 'no_such_workflow'"),
    ({"catchup_seconds": -1}, "catchup_seconds"),
])
def test_a_bad_schedule_is_refused_with_what_is_wrong_and_nothing_written(db, fields,
                                                                          message):
    with pytest.raises(InvalidInputError, match=message):
        make(**fields)
    assert not Schedule.objects.filter(from_code=False).exists()


def test_a_schedule_declared_in_code_is_synced_as_workflow_auto(db, frozen):
    Schedule.objects.all().delete()  # written by the sync after migrate, at another time
    registry.sync_workflows()
    row = Schedule.objects.get(name="sched_daily_auto")
    assert (row.workflow, row.cron, row.timezone, row.from_code) == (
        "sched_daily", "0 9 * * MON-FRI", "Europe/Paris", True)
    assert row.sentence() == "At 09:00, Monday through Friday (Europe/Paris)"
    # Friday 27 March 08:00 UTC is 09:00 in Paris: the next fires are the weekdays after.
    assert [t.strftime("%a %d %H:%M") for t in row.next_fires(frozen.now, 3)] == [
        "Mon 30 07:00", "Tue 31 07:00", "Wed 01 07:00"]
    six = Schedule.objects.get(name="sched_every6h_auto")
    assert (six.interval_seconds, six.input) == (6 * 3600, {"full": False})
    # A person paused it: a new sync keeps that.
    schedules.pause("sched_daily_auto", actor=SYSTEM, note="holidays")
    registry.sync_workflows()
    row.refresh_from_db()
    assert (row.paused, row.note) == (True, "holidays")


def _paris():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")
