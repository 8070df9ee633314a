"""Make sure someone can log in: create user `admin` with a random password when no
user exists, and print how to log in. `scripts/run` calls it after migrating.

With DJANGO_SUPERUSER_USERNAME set it defers to `createsuperuser --noinput` (which
reads DJANGO_SUPERUSER_PASSWORD and DJANGO_SUPERUSER_EMAIL), the Django way.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a first login (admin, random password) unless one exists."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        if username:
            if not User.objects.filter(username=username).exists():
                call_command("createsuperuser", interactive=False, verbosity=0)
                self.stdout.write(f"Created user {username!r} from DJANGO_SUPERUSER_*.")
            self.stdout.write(f"Log in as {username!r} with DJANGO_SUPERUSER_PASSWORD.")
            return
        if User.objects.exists():
            self.stdout.write(
                "Log in with an existing account "
                "(forgotten? `.venv/bin/python manage.py changepassword admin`)."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", email="", password=password)
        self.stdout.write(f"Created user 'admin'. Log in as admin / {password}")
