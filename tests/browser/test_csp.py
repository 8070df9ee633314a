"""The Content-Security-Policy in real Chromium: every page, the graph editor, the
live DAG, the API docs and the admin run with nothing blocked (no
``securitypolicyviolation`` event), and what used inline handlers still works."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def watched(page):
    page.context.add_init_script(WATCH)
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__csp")


def start(page, workflow: str, value) -> str:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(f"/api/workflows/{workflow}/run", data={"input": value},
                               headers={"X-CSRFToken": token})
    assert answer.status == 201, answer.text()
    return answer.json()["id"]


def test_every_page_keeps_to_the_policy(watched):
    page = watched
    graph_run = start(page, "demo_graph", 3.0)
    pages = {
        "/": '[data-live-status="live"]',
        "/workflows/": "main",
        "/workflows/demo_hello/": '[data-live-status="live"]',
        "/executions/": '[data-live-status="live"]',
        f"/executions/{graph_run}/": '[data-testid="execution-graph"] .react-flow__node',
        "/inbox/": "main",
        "/graphs/": "main",
        "/graphs/new/?from=demo_graph": ".react-flow__node",
        "/graphs/code/demo_graph/": ".react-flow__node",
        "/tokens/": "main",
        "/api/docs": ".swagger-ui .info",
        "/admin/": "#content",
        "/admin/executions/execution/": "#result_list",
    }
    for path, ready in pages.items():
        response = page.goto(path)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_selector(ready)
        page.wait_for_timeout(0)  # let queued violation events fire
        assert violations(page) == [], path
    screenshot(page, "csp-admin")


def test_the_log_filter_submits_on_change_without_inline_handlers(watched):
    page = watched
    execution_id = start(page, "demo_hello", "CSP")
    page.goto(f"/executions/{execution_id}/")
    page.check('input[name="errors"]')
    page.wait_for_url(re.compile(r"errors=1"))
    assert violations(page) == []
