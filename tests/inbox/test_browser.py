"""The inbox in real Chromium against `manage.py flux up` (daphne + a worker) on a
temporary SQLite database: a run pauses and its item appears without reloading; the
approver fills the generated form (the browser refuses bad input first) and the run
completes on the worker with that input; another is rejected with the keyboard and
the workflow handles the RejectedError; a viewer sees nothing to decide and gets 403
from the API."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
SETUP = f"""
from django.contrib.auth.models import Group, User
for name, group in (("alice", "approver"), ("carol", "viewer")):
    user = User.objects.create_user(name, password={PASSWORD!r})
    user.groups.add(Group.objects.get(name=group))
"""
SCHEMA = {"type": "object", "required": ["carrier", "note"],
          "properties": {"carrier": {"type": "string", "enum": ["ups", "dhl"]},
                         "express": {"type": "boolean"},
                         "note": {"type": "string", "minLength": 3}}}


class Server:
    def __init__(self, base: str, env: dict, db: Path) -> None:
        self.base, self.env, self.db = base, env, db

    def start(self, pause: dict) -> str:
        code = ("from executions import runner\n"
                f"ex = runner.start_execution('inbox_order', {{'items': ['a', 'b'], "
                f"'pause': {pause!r}}}, actor='olive')\nprint('@@' + ex.id)\n")
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
                              env=self.env, cwd=ROOT, capture_output=True, text=True, check=True)
        return [x for x in done.stdout.splitlines() if x.startswith("@@")][-1][2:]

    def execution(self, execution_id: str, timeout: float = 20) -> dict:
        """Wait until the execution finished; its status and output."""
        deadline = time.monotonic() + timeout
        with sqlite3.connect(self.db, timeout=30) as conn:
            while True:
                status, output = conn.execute(
                    "SELECT status, output FROM executions_execution WHERE id = ?",
                    (execution_id,)).fetchone()
                if status in ("completed", "failed", "cancelled"):
                    return {"status": status, "output": json.loads(output or "null")}
                assert time.monotonic() < deadline, f"still {status}"
                time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    if not (ROOT / "static" / "dist" / ".vite" / "manifest.json").exists():
        pytest.fail("The front-end bundle is not built: run `npm ci && npm run build`.")
    home = tmp_path_factory.mktemp("inbox-browser")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{home}/db.sqlite3",
           "FLUX_WORKFLOW_MODULES": "tests.inbox.workflows", "FLUX_DEMO": "0",
           "FLUX_HOME": str(home / "flux"), "DJANGO_SETTINGS_MODULE": "fluxweb.settings",
           "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "shell", "-c", SETUP], env=env, cwd=ROOT, check=True)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(home / "up.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*manage, "flux", "up", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("flux up did not start:\n" + (home / "up.log").read_text()[-3000:])
        time.sleep(0.2)
    try:
        yield Server(base, env, home / "db.sqlite3")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def log_in(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def new_item(page, before: set[str]) -> str:
    """Wait for an approval card that was not on the page; its id."""
    page.wait_for_function("ids => [...document.querySelectorAll('.approval')]"
                           ".some(a => !ids.includes(a.dataset.approvalId))", arg=sorted(before))
    now = page.eval_on_selector_all(".approval", "els => els.map(e => e.dataset.approvalId)")
    return next(i for i in now if i not in before)


def test_approve_and_reject_from_the_inbox(server, browser):
    page = log_in(browser, server.base, "alice")
    page.goto(f"{server.base}/inbox/")
    page.wait_for_selector("#inbox[data-live-status=live], #inbox[data-live-status=polling]")
    assert page.get_by_test_id("inbox-empty").is_visible()

    # A run pauses: its item appears without a reload, with what the run produced.
    execution_id = server.start({"title": "Ship the order?", "description": "Total **20**",
                                 "schema": SCHEMA})
    item = new_item(page, set())
    card = page.get_by_test_id(f"approval-{item}")
    assert "Ship the order?" in card.inner_text()
    assert card.locator(".approval-description strong").inner_text() == "20"
    assert '"total": 20' in page.get_by_test_id(f"output-{item}").inner_text()
    assert page.get_by_test_id("inbox-count").inner_text() == "1"

    # The generated form: the browser refuses a note that is too short.
    page.get_by_test_id(f"field-{item}-carrier").select_option(label="dhl")
    page.get_by_test_id(f"field-{item}-express").check()
    page.get_by_test_id(f"field-{item}-note").fill("ok")
    page.get_by_test_id(f"approve-{item}").click()
    error = page.get_by_test_id(f"error-{item}")
    page.wait_for_function("el => el.textContent.includes('note')", arg=error.element_handle())
    assert page.get_by_test_id(f"field-{item}-note").get_attribute("aria-invalid") == "true"
    page.get_by_test_id(f"field-{item}-note").fill("fragile")
    page.get_by_test_id(f"comment-{item}").fill("ship it")
    page.get_by_test_id(f"approve-{item}").click()
    card.wait_for(state="detached")
    done = server.execution(execution_id)
    assert done == {"status": "completed", "output": {
        "shipped": {"carrier": "dhl", "express": True, "note": "fragile"}, "total": 20}}

    # Another one, rejected with the keyboard: the workflow handles RejectedError.
    execution_id = server.start({"title": "Refund?"})
    item = new_item(page, set())
    page.get_by_test_id(f"approval-{item}").locator("p.muted").first.click()
    page.keyboard.press("r")
    page.get_by_test_id(f"approval-{item}").wait_for(state="detached")
    assert server.execution(execution_id)["output"] == {"rejected": True, "comment": None,
                                                        "by": "alice"}
    assert page.get_by_test_id("inbox-empty").is_visible()
    page.close()


def test_a_viewer_sees_nothing_to_decide_and_gets_403(server, browser):
    server.start({"title": "Not for Carol"})
    page = log_in(browser, server.base, "carol")
    page.goto(f"{server.base}/inbox/")
    assert page.get_by_test_id("inbox-no-permission").is_visible()
    assert page.locator(".approval").count() == 0 and page.locator(".decide-form").count() == 0
    assert page.get_by_test_id("inbox-count").is_hidden()
    answer = page.request.get(f"{server.base}/api/approvals/?status=pending")
    assert answer.status == 403 and answer.json()["code"] == "permission_denied"
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(f"{server.base}/api/approvals/1/approve", data={"input": None},
                               headers={"X-CSRFToken": csrf})
    assert answer.status == 403
    page.close()
