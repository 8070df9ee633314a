"""A live Fluxweb for browser tests: ``manage.py flux up`` (daphne and one worker
process) on a temporary SQLite database, and headless Debian Chromium through
Playwright. Screenshots go to tests/output/."""

from __future__ import annotations

import pytest

from tests.live_server import ROOT, live_fluxweb, users_setup

OUTPUT = ROOT / "tests" / "output"
USER, PASSWORD = "admin", "browser-test-password-1"


@pytest.fixture(scope="session")
def fluxweb_server(tmp_path_factory):
    """The base URL of `flux up` on a fresh SQLite database, with a superuser."""
    with live_fluxweb(tmp_path_factory.mktemp("browser"), demo=True,
                      modules="tests.browser.workflows",
                      setup=users_setup(PASSWORD, {USER: None})) as site:
        yield site.base


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
