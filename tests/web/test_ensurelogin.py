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


@pytest.mark.django_db
def test_the_django_variables_need_no_email(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "carl")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another long password")
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    assert "Created user 'carl'" in ensurelogin()
    assert authenticate(username="carl", password="another long password").is_superuser


@pytest.mark.django_db
def test_a_username_without_a_password_is_refused(monkeypatch):
    from django.core.management import CommandError

    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "dora")
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="without DJANGO_SUPERUSER_PASSWORD"):
        ensurelogin()
    assert not User.objects.filter(username="dora").exists()
