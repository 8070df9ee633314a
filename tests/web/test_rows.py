"""The hot reads in SQL built once (``executions.models.rows``) make the instances the ORM
makes, field by field and type by type, in both shapes: an execution with every kind
of column filled (JSON, dates, the generated duration, booleans), a token and its
user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

import tests.api.workflows  # noqa: F401 - registers api_hello
from executions.core import commands
from executions.core.commands import SYSTEM
from executions.models import Execution, Token
from executions.models.rows import Rows

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in Rows(type(instance)).fields}


def same(read, orm) -> None:
    assert type(read) is type(orm)
    for name, value in fields(orm).items():
        got = getattr(read, name)
        assert (got, type(got)) == (value, type(value)), name
    assert not read._state.adding and read._state.db == orm._state.db


def test_an_execution_reads_as_the_orm_reads_it():
    parent = commands.start("api_hello", {"name": "Ada", "n": [1, 2.5, None]}, actor=SYSTEM)
    child = commands.start("api_hello", {"name": "Bo"}, actor=SYSTEM)
    now = timezone.now()
    Execution.objects.filter(pk=parent.pk).update(
        status="failed", started_at=now - timedelta(seconds=3), finished_at=now,
        error={"type": "ValueError", "message": "no"}, tags={"team": "x"}, priority=-2,
        cancel_requested=True, lease_expires=12.5, waiting_for={"event": "go"},
        progress={"t1": 0.5})
    Execution.objects.filter(pk=child.pk).update(parent_execution_id=parent.pk)

    read = Execution.read(parent.pk, knowing_children=True)
    orm = Execution.objects.get(pk=parent.pk)
    same(read, orm)
    assert read.duration == timedelta(seconds=3)
    assert read.has_children is True and read.to_dict() == orm.to_dict()
    assert Execution.read(child.pk, knowing_children=True).has_children is False
    assert not hasattr(Execution.read(child.pk), "has_children")
    assert Execution.read("no-such-execution") is None


def test_a_token_and_its_user_read_as_the_orm_reads_them():
    user = User.objects.create_user("tess", email="t@example.com", first_name="Tess")
    user.last_login = timezone.now()
    user.save()
    token, raw = Token.issue(user, name="ci", expires_in=timedelta(days=1))
    found = Token.authenticate(raw)
    orm = Token.objects.select_related("user").get(pk=token.pk)
    found.last_used_at = orm.last_used_at  # authenticate marked it used
    same(found, orm)
    same(found.user, orm.user)
    token.revoke()
    assert Token.authenticate(raw) is None
