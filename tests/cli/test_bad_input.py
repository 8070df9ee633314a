"""Requests that cannot be done: exit 2, one line on stderr, nothing written."""

from __future__ import annotations

import pytest

from executions.models import Event, Execution
from tests.cli.conftest import flux


def snapshot() -> tuple:
    return (list(Execution.objects.order_by("id").values_list("id", "status", "last_seq")),
            Event.objects.count())


def assert_refused(result, *fragments: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def runs(run_inline):
    return {
        "completed": run_inline("demo_hello", "Ada"),
        "failed": run_inline("demo_failure", {}),
        "paused": run_inline("demo_approval", {"employee": "Bob", "amount": 80}),
    }


@pytest.mark.parametrize(("args", "fragments"), [
    (["run", "no_such_workflow"], ["Unknown workflow 'no_such_workflow'", "demo_hello"]),
    (["run", "demo_hello", "--input", "{not json"], ["--input is not valid JSON"]),
    (["run", "demo_hello", "--input", "42"],
     ["Input for workflow 'demo_hello' does not match its schema", "not of type 'string'"]),
    (["run", "demo_hello"], ["None is not of type 'string'"]),
    (["run", "demo_approval", "--input", '{"employee": "Bob", "amount": -5}'],
     ["amount: -5 is less than or equal to the minimum of 0"]),
])
def test_run_refuses_bad_requests(transactional_db, args, fragments):
    before = snapshot()
    assert_refused(flux(*args), f"flux {args[0]}:", *fragments)
    assert snapshot() == before


def test_resuming_something_not_paused_is_refused(runs):
    before = snapshot()
    assert_refused(flux("runs", "resume", runs["completed"].id, "--input", "{}"),
                   "flux runs resume:", "is completed, not paused")
    assert snapshot() == before


def test_resuming_with_input_that_fails_the_pause_schema_is_refused(runs):
    before = snapshot()
    assert_refused(flux("runs", "resume", runs["paused"].id, "--input",
                        '{"approved_amount": "lots"}'),
                   "pause 'manager_approval' does not match its schema", "approved_amount")
    assert_refused(flux("runs", "resume", runs["paused"].id),
                   "None is not of type 'object'")
    assert_refused(flux("runs", "resume", runs["paused"].id, "--input", "nope"),
                   "--input is not valid JSON")
    assert_refused(flux("runs", "resume", runs["paused"].id, "--pause", "other", "--input",
                        '{"approved_amount": 1}'),
                   "not paused at 'other'", "manager_approval")
    assert snapshot() == before


def test_cancelling_something_finished_is_refused(runs):
    before = snapshot()
    for name in ("completed", "failed"):
        assert_refused(flux("runs", "cancel", runs[name].id), "flux runs cancel:",
                       f"already {name}")
    assert snapshot() == before


def test_retrying_something_not_failed_is_refused(runs):
    before = snapshot()
    for name in ("completed", "paused"):
        assert_refused(flux("runs", "retry", runs[name].id), "flux runs retry:",
                       "only a failed execution can be retried")
    assert snapshot() == before


def test_rerun_with_bad_input_is_refused(runs):
    before = snapshot()
    assert_refused(flux("runs", "rerun", runs["completed"].id, "--input", "7"),
                   "does not match its schema")
    assert snapshot() == before


def test_missing_arguments_are_usage_errors(transactional_db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="the following arguments are required"):
        flux("runs", "status")


@pytest.mark.parametrize(("args", "fragments"), [
    (["token", "revoke", "abc"], ["flux token revoke:", "No token with id abc."]),
    (["token", "revoke", "99999999999999999999999"], ["flux token revoke:", "No token"]),
    (["token", "create", "nobody"], ["flux token create:", "No user named 'nobody'"]),
    (["secret", "delete", "NOPE"], ["flux secret delete:", "No secret named 'NOPE'"]),
    (["events", "send", "paid", "--payload", "{"], ["flux events send:",
                                                     "--payload is not valid JSON"]),
    (["schedules", "show", "nope"], ["flux schedules show:", "No schedule named 'nope'"]),
    (["runs", "list", "--limit", "0"], ["flux runs list:", "--limit must be at least 1"]),
    (["worker", "--workers", "0"], ["flux worker:", "--workers must be at least 1"]),
])
def test_every_verb_names_itself_in_its_one_line_refusal(transactional_db, args, fragments):
    before = snapshot()
    assert_refused(flux(*args), *fragments)
    assert snapshot() == before


def test_times_for_people_are_in_utc_as_labelled():
    from executions.cli.common import when

    assert when("2026-01-01T10:00:00+02:00") == "2026-01-01 08:00:00 UTC"
