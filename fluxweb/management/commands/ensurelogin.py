"""Make sure someone can log in: create user `admin` with a random password when no
user exists, and print how to log in. `scripts/run` calls it after migrating.

With DJANGO_SUPERUSER_USERNAME set it creates that superuser from the Django variables
(DJANGO_SUPERUSER_PASSWORD, and DJANGO_SUPERUSER_EMAIL when given: unlike
`createsuperuser --noinput`, a login needs no email address).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a first login (admin, random password) unless one exists."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        if username:
            if not User.objects.filter(username=username).exists():
                password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
                if not password:
                    raise CommandError("DJANGO_SUPERUSER_USERNAME is set without "
                                       "DJANGO_SUPERUSER_PASSWORD: set both, or neither.")
                User.objects.create_superuser(
                    username, email=os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip(),
                    password=password)
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
