"""User-supplied dates: naive ones are UTC; ones outside the calendar once in UTC are
refused with the documented error shape, never a 500 (issue 17, item 4).

Every door that takes a moment: the API's filters and cursors, the executions
page's filters and cursors, bulk cancel by filter, the inbox API's cursors and the
CLI's ``--since``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from executions.core import commands, dates
from executions.core.commands import Actor
from executions.models import Execution
from tests.cli.conftest import flux

EARLY = "0001-01-01T00:00:00+14:00"  # before year 1 in UTC
LATE = "9999-12-31T23:59:59-14:00"  # after year 9999 in UTC


def cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.fixture
def one_run(admin) -> Execution:
    import tests.api.workflows  # noqa: F401 - registers api_hello

    return commands.start("api_hello", {"name": "Ada"}, actor=Actor.system("setup"))


def test_the_helper_reads_naive_times_as_utc_and_refuses_what_overflows():
    assert dates.parse("2024-01-01") == datetime(2024, 1, 1, tzinfo=UTC)
    assert dates.parse("2024-01-01", end_of_day=True) == datetime(2024, 1, 2, tzinfo=UTC)
    assert dates.parse("2024-01-01T10:00") == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert dates.parse("2024-01-01T10:00+02:00") == datetime(2024, 1, 1, 8, tzinfo=UTC)
    for bad in (EARLY, LATE, "9999-12-31", "yesterday", 42, None):
        with pytest.raises(dates.BadMoment):
            dates.parse(bad, end_of_day=True)


def test_api_filters_take_naive_times_as_utc(admin, one_run):
    for query in ("since=2024-01-01", "since=2024-01-01T00:00:00", "until=2999-01-01T10:00"):
        answer = admin.get(f"/api/executions/?{query}")
        assert answer.status_code == 200, (query, answer.content)
        assert [e["id"] for e in answer.json()["items"]] == [one_run.pk]
    assert admin.get("/api/executions/?until=2024-01-01").json()["items"] == []


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize("moment", [EARLY, LATE])
def test_api_filters_outside_the_calendar_are_a_422_naming_the_field(admin, one_run, field,
                                                                      moment):
    answer = admin.get("/api/executions/", {field: moment})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid" and field in json.dumps(body["errors"])
    assert "out of range" in json.dumps(body["errors"])


@pytest.mark.parametrize("moment", [EARLY, LATE, "not a time", "2024-13-01T00:00"])
def test_an_api_cursor_outside_the_calendar_is_a_bad_cursor(admin, one_run, moment):
    answer = admin.get("/api/executions/", {"cursor": cursor(moment, "x")})
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_cursor")


@pytest.mark.parametrize("bad", [[EARLY, 1], [LATE, 1], [7, 1], ["2024-01-01T00:00", "x"],
                                 [None, "x"], {"a": 1}])
@pytest.mark.parametrize("order", ["newest", "due"])
def test_an_inbox_api_cursor_that_is_not_ours_is_a_bad_cursor(admin, bad, order):
    answer = admin.get("/api/approvals/", {"cursor": cursor(*bad) if isinstance(bad, list)
                                           else "e30", "order": order})
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_cursor"), answer.content


@pytest.mark.parametrize("query", [f"since={EARLY}", f"until={LATE}", "until=9999-12-31"])
def test_the_executions_page_explains_a_time_outside_the_calendar(admin, one_run, query):
    answer = admin.get("/executions/?" + query.replace("+", "%2B"))
    assert answer.status_code == 200
    assert "is out of range" in answer.content.decode()


@pytest.mark.parametrize("query", ["since=9999-12-31", "since=99999w", "until=0001-01-01"])
def test_the_executions_page_takes_times_at_the_ends_of_the_calendar(admin, one_run, query):
    answer = admin.get("/executions/?" + query)
    assert answer.status_code == 200 and "is not a time" not in answer.content.decode()


@pytest.mark.parametrize("moment", [EARLY, LATE])
def test_the_executions_page_ignores_a_cursor_outside_the_calendar(admin, one_run, moment):
    answer = admin.get("/executions/", {"cursor": cursor(moment, "x")})
    assert answer.status_code == 200 and "broken or outdated" in answer.content.decode()


def test_bulk_cancel_by_a_filter_outside_the_calendar_cancels_nothing(admin, one_run):
    answer = admin.post("/executions/bulk/", {"action": "cancel", "scope": "filter",
                                              "query": f"until={LATE}".replace("+", "%2B")})
    assert answer.status_code == 302
    # the bad filter is ignored: with no filter left, "all matching" is every run
    assert Execution.objects.get(pk=one_run.pk).status in ("cancelled", "cancelling")
    answer = admin.post("/executions/bulk/", {"action": "cancel", "scope": "filter",
                                              "query": f"since={EARLY}".replace("+", "%2B")})
    assert answer.status_code == 302


def test_the_cli_refuses_a_span_outside_the_calendar(transactional_db):
    result = flux("runs", "list", "--since", "99999999999w")
    assert result.code == 2 and "Traceback" not in result.err, result
    assert "--since" in result.err
