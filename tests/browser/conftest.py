"""A live Fluxweb for browser tests: ``manage.py flux up`` (daphne and one worker
process) on a temporary SQLite database, and headless Debian Chromium through
Playwright. Screenshots go to tests/output/."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"
CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "admin", "browser-test-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def fluxweb_server(tmp_path_factory):
    """The base URL of `flux up` on a fresh SQLite database, with a superuser."""
    folder = tmp_path_factory.mktemp("browser")
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", FLUX_DEMO="1",
               FLUX_WORKFLOW_MODULES="tests.browser.workflows", PYTHONPATH=str(ROOT),
               DJANGO_SUPERUSER_USERNAME=USER, DJANGO_SUPERUSER_PASSWORD=PASSWORD,
               DJANGO_SUPERUSER_EMAIL="admin@example.com", FLUX_HOME=str(folder / "flux"))
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "createsuperuser", "--noinput"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(folder / "up.log", "w")
    up = subprocess.Popen([*manage, "flux", "up", "--port", str(port), "--workers", "1"],
                          cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                          start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if up.poll() is not None or time.monotonic() > deadline:
                up.kill()
                pytest.fail("flux up did not start:\n" + (folder / "up.log").read_text())
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    up.send_signal(signal.SIGTERM)
    try:
        up.wait(20)
    except subprocess.TimeoutExpired:
        up.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, fluxweb_server):
    ctx = browser.new_context(base_url=fluxweb_server, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def log_in(page, username: str = USER, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def page(context):
    page = context.new_page()
    log_in(page)
    return page


def screenshot(page, name: str, **kwargs) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), **kwargs)
