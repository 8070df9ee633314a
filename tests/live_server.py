"""A live Fluxweb for browser tests, and the browser that drives it.

``live_fluxweb`` migrates a fresh SQLite database in a folder, runs a setup script
in ``manage.py shell`` (users, groups), starts ``manage.py flux up`` (daphne and a
worker process) on a free port, waits for ``/api/health``, and stops it all after.
``chromium`` launches Debian's Chromium through Playwright with the flags this
machine needs. Every browser test module builds its fixtures from these two.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]


@dataclass
class LiveFluxweb:
    base: str
    env: dict[str, str]
    folder: Path

    @property
    def db(self) -> Path:
        return self.folder / "db.sqlite3"

    def manage(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self.env,
                              cwd=ROOT, check=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_fluxweb(folder: Path, *, modules: str, demo: bool = False, setup: str = "",
                 workers: int = 1) -> Iterator[LiveFluxweb]:
    if not (ROOT / "static" / "dist" / ".vite" / "manifest.json").exists():
        pytest.fail("The front-end bundle is not built: run `npm ci && npm run build`.")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", FLUX_WORKFLOW_MODULES=modules,
               FLUX_DEMO="1" if demo else "0", FLUX_HOME=str(folder / "flux"),
               DJANGO_SETTINGS_MODULE="fluxweb.settings", PYTHONPATH=str(ROOT))
    site = LiveFluxweb("", env, folder)
    site.manage("migrate", "--noinput", "-v", "0")
    if setup:
        site.manage("shell", "-c", setup, stdout=subprocess.DEVNULL)
    port = free_port()
    site.base = f"http://127.0.0.1:{port}"
    log_path = folder / "up.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "flux", "up", "--port", str(port),
             "--workers", str(workers)],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_healthy(site.base, proc, log_path)
            yield site
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _wait_until_healthy(base: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("flux up did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.1)


@contextmanager
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def users_setup(password: str, users: dict[str, str | None]) -> str:
    """A shell script creating ``{username: group}`` (group None: a superuser)."""
    lines = ["from django.contrib.auth.models import Group, User"]
    for name, group in users.items():
        if group is None:
            lines.append(f"User.objects.create_superuser({name!r}, {name + '@example.com'!r},"
                         f" {password!r})")
        else:
            lines.append(f"User.objects.create_user({name!r}, password={password!r})"
                         f".groups.add(Group.objects.get(name={group!r}))")
    return "\n".join(lines) + "\n"
