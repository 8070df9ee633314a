"""`manage.py ensurelogin` (run by scripts/run) makes sure someone can log in."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command


def ensurelogin() -> str:
    out = StringIO()
    call_command("ensurelogin", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_admin_with_a_printed_password(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    output = ensurelogin()
    password = output.strip().rsplit(" ", 1)[-1]
    assert authenticate(username="admin", password=password).is_superuser


def test_it_leaves_existing_users_alone(alice, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    assert "existing account" in ensurelogin()
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


@pytest.mark.django_db
def test_it_honours_django_superuser_variables(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "bob")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough password")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "bob@example.com")
    ensurelogin()
    ensurelogin()  # a second run changes nothing
    assert authenticate(username="bob", password="a long enough password").is_superuser
