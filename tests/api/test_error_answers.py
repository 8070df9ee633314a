"""``commands.error_answer``: every door's one map from a command's error to an answer.
An error raised without a message still says what was wrong, in its class's words."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from executions.core import approvals, commands, schedules
from executions.core.commands import ERROR_ANSWERS, InputTooLarge, error_answer
from flux.errors import (
    ExecutionNotFoundError,
    InvalidInputError,
    InvalidStateError,
    WorkflowNotFoundError,
)


def bare(cls: type[BaseException]) -> BaseException:
    """An instance of ``cls`` with no message (as ``raise PermissionDenied`` makes, or a
    subclass that sets none), whatever its constructor would add."""
    error = cls.__new__(cls)
    BaseException.__init__(error)
    assert str(error) == ""
    return error


@pytest.mark.parametrize(("cls", "status", "code", "says"), [
    (InputTooLarge, 413, "payload_too_large", "too large"),
    (InvalidInputError, 422, "invalid_input", "input is not valid"),
    (InvalidStateError, 409, "invalid_state", "current state"),
    (ExecutionNotFoundError, 404, "execution_not_found", "No such execution"),
    (WorkflowNotFoundError, 404, "workflow_not_found", "No workflow of that name"),
    (PermissionDenied, 403, "permission_denied", "permission"),
])
def test_an_error_without_a_message_says_what_was_wrong_for_its_class(cls, status, code,
                                                                      says):
    answer_status, answer_code, detail, _ = error_answer(bare(cls))
    assert (answer_status, answer_code) == (status, code)
    assert says in detail


def test_each_class_has_its_own_fallback():
    fallbacks = [fallback for *_, fallback in ERROR_ANSWERS]
    assert len(set(fallbacks)) == len(fallbacks)
    approval_fallbacks = {cls.fallback for cls in (
        approvals.ApprovalError, approvals.ApprovalNotFound, approvals.NotAllowed,
        approvals.AlreadyDecided, approvals.NotPaused, approvals.InvalidApprovalInput)}
    assert len(approval_fallbacks) == 6


@pytest.mark.parametrize(("error", "status", "code", "detail"), [
    (approvals.AlreadyDecided(""), 409, "already_decided",
     "This item was already decided; nothing was changed."),
    (approvals.NotAllowed(" "), 403, "permission_denied", "You may not decide this item."),
    (schedules.ScheduleExists(""), 409, "schedule_exists",
     "A schedule of that name exists already."),
    (ValueError(), 400, "bad_request", "The request was refused (ValueError)."),
])
def test_our_own_errors_and_unknown_ones_fall_back_to_their_words(error, status, code,
                                                                  detail):
    assert error_answer(error)[:3] == (status, code, detail)


def test_a_message_wins_over_the_fallback():
    assert error_answer(PermissionDenied("You need the permission 'run' to start a run."))[2] \
        == "You need the permission 'run' to start a run."
    assert error_answer(approvals.NotPaused("Execution x is cancelled."))[2] == \
        "Execution x is cancelled."


def test_a_bulk_outcome_carries_the_same_answer(db):
    [outcome] = commands.decide_many([987654], actor=commands.SYSTEM, approve=True)
    assert (outcome.status, outcome.code, outcome.detail) == (
        404, "not_found", "No approval 987654.")
