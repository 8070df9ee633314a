"""A bad FLUX_CONCURRENCY is reported by ``manage.py check`` (and so by ``flux worker`` and
``flux up``, which run the checks), not first when a run of its workflow starts."""

from __future__ import annotations

from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from executions.checks import concurrency_messages
from flux.schedule import Concurrency


def check(settings, value) -> str:
    """``manage.py check --tag flux`` with ``FLUX_CONCURRENCY = value``: its report."""
    settings.FLUX_CONCURRENCY = value
    out, err = StringIO(), StringIO()
    call_command("check", tags=["flux"], stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize(("value", "code", "message"), [
    ([("sched_limited", 2)], "executions.E002",
     "FLUX_CONCURRENCY must be a dict of workflow names, not list"),
    ({"sched_limited": -1}, "executions.E003",
     "FLUX_CONCURRENCY['sched_limited']: A concurrency limit must be a whole number, 1 or "
     "more, not -1."),
    ({"sched_limited": "2"}, "executions.E003", "not '2'"),
    ({"sched_limited": {"limit": 2, "per": "input.customer"}}, "executions.E003",
     "A concurrency setting is a number or {'limit': N, 'key': 'input.field'}"),
    ({"sched_limited": {"limit": 1, "key": "input.customer +"}}, "executions.E004",
     "FLUX_CONCURRENCY['sched_limited']: the concurrency key `input.customer +` is not a "
     "CEL expression (at column 16)."),
])
def test_a_bad_setting_fails_the_check_naming_the_entry_and_what_is_wrong(settings, value,
                                                                          code, message):
    with pytest.raises(SystemCheckError) as raised:
        check(settings, value)
    report = str(raised.value)
    assert code in report
    assert message in report


def test_a_limit_for_an_unknown_workflow_is_a_warning(settings):
    report = check(settings, {"sched_limitd": 2})
    assert "executions.W001" in report
    assert "no registered workflow is called 'sched_limitd'" in report
    with pytest.raises(SystemCheckError, match="executions.W001"):
        call_command("check", tags=["flux"], fail_level="WARNING")


def test_good_settings_pass(settings):
    settings.FLUX_CONCURRENCY = {
        "sched_limited": 3,
        "sched_per_customer": {"limit": 2, "key": "input.region + '/' + input.customer"},
        "sched_echo": None,  # no limit, whatever the code says
    }
    call_command("check", tags=["flux"], fail_level="WARNING", stdout=StringIO())
    del settings.FLUX_CONCURRENCY
    call_command("check", tags=["flux"], fail_level="WARNING", stdout=StringIO())


def test_a_bad_key_declared_in_code_is_reported_unless_the_setting_replaces_it():
    declared = SimpleNamespace(concurrency=Concurrency(1, "input.customer)"))
    [error] = concurrency_messages({}, {"billing": declared})
    assert (error.id, error.msg) == (
        "executions.E004", "workflow 'billing' (concurrency=): the concurrency key "
        "`input.customer)` is not a CEL expression (at column 15).")
    assert concurrency_messages({"billing": 4}, {"billing": declared}) == []
