"""``manage.py flux schedules ...``: what an operator types, what it prints, its exit code.

Exit codes as every verb (README, DESIGN.md): 0 done, 2 a request that cannot be done
(one line on stderr, nothing written). The clock is frozen at T0 (Friday 27 March 2026,
08:00 UTC); the queue is in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from executions.models import Execution, Schedule
from tests.cli.conftest import flux

ROOT = Path(__file__).resolve().parents[2]


def snapshot() -> tuple:
    """Everything a refused request must leave as it was."""
    return (list(Schedule.objects.order_by("name").values()),
            list(Execution.objects.order_by("id").values_list("id", "status")))


def assert_refused(result, verb: str, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"flux schedules {verb}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def create(name="weekday", *extra: str):
    return flux("schedules", "create", name, "--workflow", "sched_echo", *extra)


def test_a_schedule_is_made_shown_paused_resumed_and_deleted(queue, frozen):
    made = create("weekday", "--cron", "0 9 * * MON-FRI", "--timezone", "Europe/Paris",
                  "--input", '{"kind": "daily"}', "--overlap", "allow", "--catchup", "10m",
                  "--priority", "5", "--note", "for the board", "--json")
    assert made.code == 0, made.err
    body = made.json()
    assert {k: body[k] for k in ("name", "workflow", "cron", "interval_seconds", "timezone",
                                 "input", "overlap", "catchup_seconds", "priority",
                                 "paused", "note")} == {
        "name": "weekday", "workflow": "sched_echo", "cron": "0 9 * * MON-FRI",
        "interval_seconds": None, "timezone": "Europe/Paris", "input": {"kind": "daily"},
        "overlap": "allow", "catchup_seconds": 600, "priority": 5, "paused": False,
        "note": "for the board"}
    # Friday 08:00 UTC is 09:00 in Paris: the next fire is Monday's.
    assert body["next_fires"] == ["2026-03-30T07:00:00+00:00", "2026-03-31T07:00:00+00:00",
                                  "2026-04-01T07:00:00+00:00", "2026-04-02T07:00:00+00:00",
                                  "2026-04-03T07:00:00+00:00"]

    shown = flux("schedules", "show", "weekday")
    assert shown.code == 0
    assert "At 09:00, Monday through Friday (Europe/Paris)" in shown.out
    assert ("next fires: 2026-03-30 07:00:00 UTC, 2026-03-31 07:00:00 UTC, "
            "2026-04-01 07:00:00 UTC, 2026-04-02 07:00:00 UTC, 2026-04-03 07:00:00 UTC"
            in shown.out)
    assert flux("schedules", "show", "weekday", "--json").json()["next_fires"] == \
        body["next_fires"]

    create("often", "--every", "15m")
    listed = flux("schedules", "list")
    assert listed.code == 0
    rows = [line.split()[:3] for line in listed.out.splitlines()[1:]]
    assert ["often", "sched_echo", "active"] in rows
    assert ["weekday", "sched_echo", "active"] in rows
    names = [s["name"] for s in flux("schedules", "list", "--json").json()]
    assert {"often", "weekday"} <= set(names) and names == sorted(names)

    paused = flux("schedules", "pause", "weekday", "--note", "audit", "--json")
    assert paused.code == 0
    assert (paused.json()["paused"], paused.json()["note"], paused.json()["next_fires"]) == (
        True, "audit", [])
    assert flux("schedules", "resume", "weekday").out.strip() == "Resumed schedule weekday."
    assert Schedule.objects.get(name="weekday").paused is False

    deleted = flux("schedules", "delete", "weekday")
    assert (deleted.code, deleted.out.strip()) == (0, "Deleted schedule weekday.")
    assert not Schedule.objects.filter(name="weekday").exists()
    assert_refused(flux("schedules", "show", "weekday"), "show", "No schedule named 'weekday'")


def test_trigger_starts_one_run_now(queue, frozen):
    create("often", "--every", "1h", "--input", '{"n": 1}')
    triggered = flux("schedules", "trigger", "often", "--json")
    assert triggered.code == 0, triggered.err
    run = triggered.json()
    assert (run["workflow"], run["status"], run["schedule"], run["scheduled_for"]) == (
        "sched_echo", "queued", "often", None)
    queue.drain()
    assert Execution.objects.get(pk=run["id"]).output == {"n": 1}
    text = flux("schedules", "trigger", "often")
    assert text.code == 0 and text.out.startswith("Started sched_echo ")


def test_backfill_starts_one_run_per_fire_time_once(queue, frozen):
    create("hourly", "--cron", "0 * * * *", "--paused")
    span = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-03-02T00:00:00+00:00")
    first = flux("schedules", "backfill", "hourly", *span)
    assert (first.code, first.out.strip()) == (
        0, "Started 25 run(s); 0 fire time(s) had one already.")
    again = flux("schedules", "backfill", "hourly", *span, "--json")
    assert again.code == 0
    assert len(again.json()) == 25
    assert {e["scheduled_for"][:13] for e in again.json()} == (
        {f"2026-03-01T{h:02}" for h in range(24)} | {"2026-03-02T00"})
    assert Execution.objects.filter(schedule="hourly").count() == 25


@pytest.mark.parametrize(("args", "fragments"), [
    (["--cron", "61 * * * *"], ["Invalid cron expression '61 * * * *': Bad minute"]),
    (["--cron", "0 9 * * *", "--timezone", "Mars/Olympus"],
     ["Unknown timezone 'Mars/Olympus'", "IANA"]),
    (["--cron", "0 9 * * *", "--catchup=-5m"], ["--catchup", "cannot be negative", "-5m"]),
    (["--cron", "0 9 * * *", "--catchup", "soon"], ["--catchup takes a span like 30m"]),
    (["--cron", "0 9 * * *", "--catchup", "100000d"], ["catch-up window", "about 68 years"]),
    (["--every", "0s"], ["interval must be", "from 1 to", "not 0"]),
    (["--every", "1.5s"], ["--every must be whole seconds, not '1.5s'"]),
    (["--every", "10000000d"], ["interval must be", "about 68 years", "not 864000000000"]),
    (["--every", "1h", "--input", "{x"], ["--input is not valid JSON"]),
    (["--every", "1h", "--priority", "5000"], ["priority must be a whole number from -1000"]),
    (["--every", "1h", "--workflow", "no_such_workflow"],
     ["Unknown workflow 'no_such_workflow'"]),
    (["--every", "1h", "--workflow", "demo_hello", "--input", "42"],
     ["does not match its schema"]),
])
def test_a_bad_schedule_is_refused_with_what_is_wrong_and_nothing_written(queue, args,
                                                                           fragments):
    before = snapshot()
    assert_refused(create("bad", *args), "create", *fragments)
    assert snapshot() == before


def test_a_bad_name_or_a_taken_one_is_refused(queue):
    before = snapshot()
    assert_refused(create("no spaces", "--every", "1h"), "create", "name: Use letters")
    assert snapshot() == before
    assert create("taken", "--every", "1h").code == 0
    before = snapshot()
    assert_refused(create("taken", "--cron", "* * * * *"), "create",
                   "A schedule named 'taken' exists already")
    assert snapshot() == before


@pytest.mark.parametrize(("start", "end", "fragments"), [
    # Every second for twelve days: about a million fire times.
    ("2026-03-15T00:00:00Z", "2026-03-27T00:00:00Z",
     ["more than 1000 fire times", "FLUX_SCHEDULES['max_backfill']"]),
    ("2026-03-02", "2026-03-03T00:00:00Z", ["--start needs its offset"]),
    ("2026-03-02T00:00Z", "yesterday", ["--end takes an ISO 8601 time", "'yesterday'"]),
    ("2026-03-03T00:00Z", "2026-03-02T00:00Z", ["end is before its start"]),
    ("0001-01-01T00:00:00Z", "2026-03-02T00:00Z", ["more than 1000 fire times"]),
    ("0001-01-01T00:00:00+14:00", "2026-03-02T00:00Z", ["out of range"]),
    ("2026-03-02T00:00Z", "9999-12-31T23:59:59-14:00", ["out of range"]),
])
def test_a_bad_backfill_is_refused_and_starts_nothing(queue, frozen, start, end, fragments):
    create("secondly", "--cron", "* * * * * *", "--paused")
    before = snapshot()
    assert_refused(flux("schedules", "backfill", "secondly", "--start", start, "--end", end),
                   "backfill", *fragments)
    assert snapshot() == before


def test_a_backfill_up_to_the_end_of_the_calendar_starts_what_fits(queue, frozen):
    create("yearly", "--cron", "0 0 1 1 *", "--paused")
    done = flux("schedules", "backfill", "yearly", "--start", "9990-06-01T00:00Z",
                "--end", "9999-12-31T23:59:59Z", "--json")
    assert done.code == 0, done.err
    assert [e["scheduled_for"][:4] for e in done.json()] == [str(y) for y in
                                                              range(9991, 10000)]


@pytest.mark.parametrize("verb", ["show", "pause", "resume", "delete", "trigger"])
def test_an_unknown_schedule_is_refused(queue, verb):
    before = snapshot()
    assert_refused(flux("schedules", verb, "nope"), verb, "No schedule named 'nope'")
    assert snapshot() == before


@pytest.mark.parametrize(("args", "message"), [
    (["create", "x", "--workflow", "sched_echo"], "one of the arguments --cron --every"),
    (["create", "x", "--workflow", "sched_echo", "--cron", "* * * * *", "--every", "1h"],
     "not allowed with argument"),
    (["create", "x", "--workflow", "sched_echo", "--every", "1h", "--overlap", "sometimes"],
     "invalid choice: 'sometimes'"),
    (["backfill", "x", "--start", "2026-01-01T00:00Z"], "the following arguments are "
                                                         "required: --end"),
])
def test_malformed_commands_are_usage_errors(queue, args, message):
    before = snapshot()
    with pytest.raises(CommandError, match=message):
        flux("schedules", *args)
    assert snapshot() == before


def test_a_usage_error_exits_2_from_the_shell(tmp_path):
    """argparse's errors (here a negative span read as an option) exit 2 like the
    verbs' own."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    done = subprocess.run([sys.executable, "manage.py", "flux", "schedules", "create", "x",
                           "--workflow", "sched_echo", "--every", "1h", "--catchup", "-5m"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "argument --catchup: expected one argument" in done.stderr
    assert "Traceback" not in done.stderr
