"""The dashboard's pages: each renders for a viewer, sends anonymous visitors to the
login, answers 404 for unknown ids and a message (never a 500) for bad filters, and
its actions go through the runner with the user as the actor."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from executions.core import commands, registry, runner
from executions.core.commands import SYSTEM, Actor
from executions.core.conf import clock
from executions.models import Event, Execution
from flux import Status
from flux.errors import InvalidInputError
from flux.serialization import decode
from tests.runtime import workflows  # noqa: F401 - registers the rt_* workflows

PASSWORD = "correct horse battery staple"
PAGES = ["/", "/workflows/", "/workflows/rt_hello/", "/executions/"]


def person(name: str, group: str | None) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def sent(monkeypatch, transactional_db):
    """Queue messages that would have been sent (the tests run them with runner.run)."""
    messages: list[str] = []
    monkeypatch.setattr(runner, "send", lambda execution_id, delay=None:
                        messages.append(execution_id))
    registry.sync_workflows()
    yield messages
    runner.close_thread_store()


@pytest.fixture
def viewer(sent) -> Client:
    """Vera may look at everything and change nothing."""
    client = Client()
    client.force_login(person("vera", "viewer"))
    return client


@pytest.fixture
def operator(sent) -> Client:
    """Olga runs and cancels workflows."""
    client = Client()
    client.force_login(person("olga", "operator"))
    return client


def finished_run(value: dict | None = None, *, actor: str = "olga") -> Execution:
    ex = commands.start("rt_hello", value or {"a": 1, "b": 2}, actor=Actor.system(actor))
    runner.run(ex.pk)
    ex.refresh_from_db()
    return ex


@pytest.mark.parametrize("path", [*PAGES, "/executions/abc/"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_every_page_renders_for_a_viewer(viewer):
    ex = finished_run()
    for path in [*PAGES, f"/executions/{ex.pk}/"]:
        response = viewer.get(path)
        assert response.status_code == 200, path
        assert b"<main>" in response.content


def test_a_user_without_the_view_permission_gets_403(sent):
    client = Client()
    client.force_login(person("nobody", None))
    assert client.get("/executions/").status_code == 403


def test_the_overview_counts_runs_by_status_and_lists_failures(viewer):
    finished_run()
    failed = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    Execution.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, error={"type": "ValueError", "message": "boom at step 3"})
    page = viewer.get("/").content.decode()
    assert 'data-count-status="completed"><span class="n">1</span>' in page
    assert 'data-count-status="failed"><span class="n">1</span>' in page
    assert "boom at step 3" in page and "<svg" in page
    assert viewer.get("/?range=7d").status_code == 200
    bad = viewer.get("/?range=forever")
    assert bad.status_code == 200 and "Unknown range" in bad.content.decode()


def test_the_overview_counts_once_per_moment_whatever_the_viewers(viewer):
    """Open overviews re-render after every change; counting all runs by status is a
    scan, so it is reused for OVERVIEW_REUSE_SECONDS."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from executions.views import pages

    finished_run()
    counting = lambda ctx: [q for q in ctx.captured_queries  # noqa: E731
                            if "COUNT(" in q["sql"].upper() and "GROUP BY" in q["sql"].upper()]
    with clock.frozen() as now:
        with CaptureQueriesContext(connection) as first:
            assert 'data-count-status="completed"><span class="n">1</span>' in viewer.get(
                "/").content.decode()
        assert counting(first)
        finished_run()
        now.advance(seconds=pages.OVERVIEW_REUSE_SECONDS - 0.1)
        with CaptureQueriesContext(connection) as again:
            page = viewer.get("/?fragment=1").content.decode()
        assert counting(again) == []  # a moment later: the same counts
        assert 'data-count-status="completed"><span class="n">1</span>' in page
        now.advance(seconds=0.2)  # the period is over
        page = viewer.get("/").content.decode()
        assert 'data-count-status="completed"><span class="n">2</span>' in page


def test_the_overview_says_when_no_worker_is_there_for_queued_runs(viewer):
    from executions.core import workers

    page = viewer.get("/").content.decode()
    assert 'data-testid="no-workers"' not in page  # nothing waits: no alarm
    assert "No worker has reported in the last 10 s." in page
    commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    page = viewer.get("/").content.decode()
    assert 'data-testid="no-workers"' in page and "1 run waiting for one" in page
    workers.beat("box-a:101", "box-a", 101, 4, datetime.now(UTC) - timedelta(minutes=3))
    page = viewer.get("/").content.decode()
    assert 'data-testid="no-workers"' not in page
    assert "<code>box-a:101</code>" in page and "4 threads, up 3" in page


def test_the_workflow_page_shows_source_stats_and_recent_runs(viewer):
    finished_run()
    page = viewer.get("/workflows/rt_hello/").content.decode()
    assert "async def rt_hello" in page
    assert 'data-stat="success-rate">100 %' in page
    assert 'data-status="completed"' in page
    assert "You may view this workflow but not run it" in page


def test_an_unknown_workflow_or_execution_is_a_404_page(viewer):
    for path in ("/workflows/nope/", "/executions/nope/", "/executions/nope/events.json"):
        response = viewer.get(path)
        assert response.status_code == 404, path
        assert b"Not found" in response.content or path.endswith(".json")
    ex = finished_run()
    assert viewer.post(f"/executions/{ex.pk}/explode/").status_code == 404


def test_the_run_form_starts_an_execution_as_the_user(operator, sent):
    response = operator.post("/workflows/rt_hello/", {"input": '{"a": 2, "b": 5}'})
    ex = Execution.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/executions/{ex.pk}/"
    assert (ex.actor, ex.input, sent) == ("olga", {"a": 2, "b": 5}, [ex.pk])


def test_the_run_form_shows_json_and_schema_errors_inline(operator, sent):
    bad_json = operator.post("/workflows/rt_hello/", {"input": '{"a": 2,'})
    assert bad_json.status_code == 422
    assert "not valid JSON" in bad_json.content.decode()
    bad_schema = operator.post("/workflows/rt_hello/", {"input": '{"a": "two"}'})
    page = bad_schema.content.decode()
    assert bad_schema.status_code == 422
    assert "<code>a</code>: &#x27;two&#x27; is not of type &#x27;integer&#x27;" in page
    assert "&#x27;b&#x27; is a required property" in page
    assert Execution.objects.count() == 0 and sent == []


def test_a_viewer_may_not_run_or_cancel(viewer):
    assert viewer.post("/workflows/rt_hello/", {"input": '{"a": 1, "b": 1}'}).status_code == 403
    ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    assert viewer.post(f"/executions/{ex.pk}/cancel/").status_code == 403
    assert Execution.objects.get(pk=ex.pk).status == Status.QUEUED


def test_the_execution_page_shows_everything_about_a_run(viewer):
    ex = finished_run()
    page = viewer.get(f"/executions/{ex.pk}/").content.decode()
    assert f'data-status="completed" data-execution-id="{ex.pk}"' in page
    assert "Recovery: 0/3 attempts" in page
    seqs = [e.seq for e in Event.objects.filter(execution=ex)]
    for seq in seqs:
        assert f'data-seq="{seq}"' in page
    assert 'data-task="' in page and "1 of 1 task done" in page
    assert 'id="graph-slot"' not in page  # no graph in this workflow
    props = json.loads(page.split('id="execution-props" type="application/json">')[1]
                       .split("</script>")[0])
    assert props["after"] == max(seqs) and props["executionId"] == ex.pk


def test_the_event_log_filters_and_downloads_as_json(viewer):
    ex = finished_run()
    started = Event.objects.get(execution=ex, type="TASK_STARTED")
    only_task = viewer.get(f"/executions/{ex.pk}/?task={started.source_id}").content.decode()
    assert only_task.count("data-seq=") == 2  # TASK_STARTED, TASK_COMPLETED
    errors = viewer.get(f"/executions/{ex.pk}/?errors=1").content.decode()
    assert errors.count("data-seq=") == 0
    unknown = viewer.get(f"/executions/{ex.pk}/?task=nope")
    assert unknown.status_code == 200 and "has no task" in unknown.content.decode()
    download = viewer.get(f"/executions/{ex.pk}/events.json")
    events = json.loads(b"".join(download.streaming_content))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "WORKFLOW_STARTED" and "attachment" in download[
        "Content-Disposition"]


def test_the_task_menu_lists_tasks_by_name_then_in_the_order_they_started(viewer, tmp_path):
    """The live page adds each task where a fresh load puts it: ties keep start order."""
    ex = commands.start("rt_crash", {"path": str(tmp_path / "log"), "tag": "t",
                                             "tasks": 6, "delay": 0}, actor=Actor.system("olga"))
    runner.run(ex.pk)
    started = [e.source_id for e in Event.objects.filter(execution=ex, type="TASK_STARTED")
               .order_by("seq")]
    page = viewer.get(f"/executions/{ex.pk}/").content.decode()
    menu = page.split('<select name="task"')[1].split("</select>")[0]
    offered = [part.split('"')[0] for part in menu.split('<option value="')[2:]]
    assert len(started) == 6 and offered == started


def test_the_error_and_its_cause_chain_are_shown(viewer):
    ex = finished_run()
    Execution.objects.filter(pk=ex.pk).update(status=Status.FAILED, error={
        "type": "ExecutionError", "message": "charge failed",
        "cause": {"type": "ConnectionError", "message": "card service down"}})
    page = viewer.get(f"/executions/{ex.pk}/").content.decode()
    assert "<b>ExecutionError</b>: charge failed" in page
    assert "<b>ConnectionError</b>: card service down" in page


def test_a_dead_worker_shows_as_such_not_as_running(viewer):
    ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    Execution.objects.filter(pk=ex.pk).update(status=Status.RUNNING, worker="w1",
                                              lease_owner="w1:1", lease_expires=time.time() - 5)
    page = viewer.get(f"/executions/{ex.pk}/").content.decode()
    assert 'data-worker-lost="1"' in page and ">worker lost</span>" in page
    assert 'data-testid="worker-lost"' in page
    listing = viewer.get("/executions/").content.decode()
    assert ">worker lost</span>" in listing
    Execution.objects.filter(pk=ex.pk).update(lease_expires=time.time() + 30)
    assert ">worker lost</span>" not in viewer.get(f"/executions/{ex.pk}/").content.decode()


def test_actions_go_through_the_runner_and_record_the_actor(operator, sent):
    queued = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    response = operator.post(f"/executions/{queued.pk}/cancel/")
    assert response.status_code == 302
    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED
    cancelled = Event.objects.get(execution=queued, type="WORKFLOW_CANCELLED")
    assert cancelled.value["actor"] == "olga"
    # cancelling again is a message on the page, not an error page
    again = operator.post(f"/executions/{queued.pk}/cancel/", follow=True)
    assert again.status_code == 200 and "nothing to cancel" in again.content.decode()

    done = finished_run()
    rerun = operator.post(f"/executions/{done.pk}/rerun/")
    new = Execution.objects.exclude(pk__in=[queued.pk, done.pk]).get()
    assert rerun["Location"] == f"/executions/{new.pk}/"
    assert (new.parent_id, new.input, new.actor) == (done.pk, done.input, "olga")
    edited = operator.post(f"/executions/{done.pk}/rerun/", {"input": '{"a": 5, "b": 5}'})
    newer = Execution.objects.get(pk=edited["Location"].split("/")[2])
    assert newer.input == {"a": 5, "b": 5} and newer.parent_id == done.pk

    Execution.objects.filter(pk=done.pk).update(status=Status.FAILED)
    assert operator.post(f"/executions/{done.pk}/retry/").status_code == 302
    assert Event.objects.filter(execution=done, type="WORKFLOW_QUEUED",
                                value__actor="olga").exists()


def test_the_list_filters_are_kept_in_the_url_and_bad_values_are_messages(viewer):
    done = finished_run()
    queued = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    page = viewer.get("/executions/?status=queued").content.decode()
    assert queued.pk in page and done.pk not in page
    assert viewer.get(f"/executions/?id={done.pk[:6]}").content.decode().count(
        'data-row-id="') == 1
    assert done.pk in viewer.get("/executions/?workflow=rt_hello&since=1h").content.decode()
    assert 'data-row-id="' not in viewer.get("/executions/?until=2000-01-01").content.decode()
    for query, message in [("status=bogus", "Unknown status"),
                           ("since=yesterday-ish", "is not a time for since"),
                           ("sort=sideways", "Unknown sort"),
                           ("cursor=%%%garbage", "page link is broken"),
                           ("limit=many", "is not a number"),
                           ("since=2h&until=2000-01-01", "after")]:
        response = viewer.get(f"/executions/?{query}")
        assert response.status_code == 200, query
        assert message in response.content.decode(), query


def test_the_list_pages_by_keyset_in_both_sort_orders(viewer):
    base = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    for i in range(7):
        ex = commands.start("rt_hello", {"a": i, "b": 0}, actor=SYSTEM)
        Execution.objects.filter(pk=ex.pk).update(
            created_at=base + timedelta(minutes=i), started_at=base + timedelta(minutes=i),
            finished_at=base + timedelta(minutes=i, seconds=10 * (7 - i)),
            status=Status.COMPLETED)
        ids.append(ex.pk)

    def walk(query: str) -> list[str]:
        seen, url = [], f"/executions/?limit=3&{query}"
        while url:
            page = viewer.get(url).content.decode()
            seen += [chunk.split('"')[0] for chunk in page.split('data-row-id="')[1:]]
            url = None
            if 'rel="next"' in page:
                href = page.split('data-testid="next-page"')[0].rsplit('href="', 1)[1]
                url = "/executions/" + href.split('"')[0].replace("&amp;", "&")
        return seen

    assert walk("") == ids[::-1]
    assert walk("sort=started") == ids
    assert walk("sort=-duration") == ids  # the first ran longest
    assert walk("sort=duration") == ids[::-1]


def test_bulk_cancel_and_rerun_of_a_selection_or_of_the_filter(operator):
    runs = [commands.start("rt_hello", {"a": i, "b": 0}, actor=SYSTEM) for i in range(4)]
    done = finished_run()
    response = operator.post("/executions/bulk/", {
        "action": "cancel", "scope": "selected", "ids": [runs[0].pk, runs[1].pk, done.pk],
        "query": "status=queued"})
    assert response.status_code == 302 and response["Location"] == "/executions/?status=queued"
    statuses = dict(Execution.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in runs] == ["cancelled", "cancelled", "queued", "queued"]
    page = operator.get(response["Location"]).content.decode()
    assert "Cancelled 2 runs." in page and "1 refused" in page

    operator.post("/executions/bulk/", {"action": "cancel", "scope": "filter",
                                        "query": "status=queued&workflow=rt_hello"})
    assert not Execution.objects.filter(status=Status.QUEUED).exists()

    before = Execution.objects.count()
    operator.post("/executions/bulk/", {"action": "rerun", "scope": "filter",
                                        "query": "status=completed"})
    assert Execution.objects.count() == before + 1
    assert Execution.objects.filter(parent_id=done.pk, actor="olga").exists()
    nothing = operator.post("/executions/bulk/", {"action": "cancel", "scope": "selected"},
                            follow=True)
    assert "Nothing selected" in nothing.content.decode()


def test_the_vite_tag_loads_the_entry_with_the_css_of_its_imports():
    from executions.templatetags.vite import entry_files

    manifest = {
        "frontend/graph-view.tsx": {"file": "assets/gv.js", "imports": ["_a.js"],
                                    "css": ["assets/gv.css"]},
        "_a.js": {"file": "assets/a.js", "imports": ["_b.js"], "css": ["assets/a.css"]},
        "_b.js": {"file": "assets/b.js", "imports": ["_a.js"], "css": ["assets/b.css"]},
    }
    assert entry_files("frontend/graph-view.tsx", manifest) == (
        "assets/gv.js", ["assets/gv.css", "assets/a.css", "assets/b.css"],
        ["assets/a.js", "assets/b.js"])
    assert entry_files("frontend/nope.ts", manifest) is None


# the forms go through the same commands as the API: the same input checks (size,
# depth, schema), and re-runs get the original input as Python values

VALUE = {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "pair": (1, 2)}


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_rerun_from_the_page_keeps_a_datetime_and_a_tuple(operator, sent):
    original = commands.start("rt_approval", VALUE, actor=SYSTEM)
    response = operator.post(f"/executions/{original.pk}/rerun/")
    new = Execution.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302
    assert decode(new.input) == VALUE and new.parent_id == original.pk


def test_bulk_rerun_keeps_a_datetime_and_a_tuple(operator, sent):
    original = commands.start("rt_approval", VALUE, actor=SYSTEM)
    operator.post("/executions/bulk/", {"action": "rerun", "ids": [original.pk]})
    new = Execution.objects.exclude(pk=original.pk).get()
    assert decode(new.input) == VALUE


def test_the_run_form_refuses_deeply_nested_json_with_a_message(operator, sent):
    response = operator.post("/workflows/rt_approval/", {"input": deep(10_000)})
    assert response.status_code == 422
    assert "nested too deeply" in response.content.decode()
    assert Execution.objects.count() == 0


def test_the_run_form_refuses_an_input_over_the_limit(operator, sent, settings):
    settings.FLUX_MAX_INPUT_BYTES = 1000
    response = operator.post("/workflows/rt_approval/", {"input": json.dumps("x" * 2000)})
    assert response.status_code == 422
    assert "FLUX_MAX_INPUT_BYTES" in response.content.decode()
    assert Execution.objects.count() == 0


def test_rerun_with_an_edited_input_is_checked_like_a_run(operator, sent, settings):
    original = commands.start("rt_approval", 1, actor=SYSTEM)
    settings.FLUX_MAX_INPUT_BYTES = 1000
    for text, why in ((json.dumps("x" * 2000), "FLUX_MAX_INPUT_BYTES"),
                      (deep(10_000), "nested too deeply"), ("{", "not valid JSON")):
        response = operator.post(f"/executions/{original.pk}/rerun/", {"input": text},
                                 follow=True)
        assert response.status_code == 200 and why in response.content.decode()
    assert Execution.objects.count() == 1


def test_bulk_rerun_of_an_input_over_todays_limit_is_refused_with_the_reason(
        operator, sent, settings):
    original = commands.start("rt_approval", "x" * 2000, actor=SYSTEM)
    settings.FLUX_MAX_INPUT_BYTES = 1000
    response = operator.post("/executions/bulk/", {"action": "rerun", "ids": [original.pk]},
                             follow=True)
    assert "FLUX_MAX_INPUT_BYTES" in response.content.decode()
    assert Execution.objects.count() == 1


def test_inputs_nested_up_to_the_limit_run_and_deeper_ones_are_refused(sent):
    limit = commands.MAX_DEPTH
    assert commands.start("rt_approval", json.loads(deep(limit)), actor=SYSTEM)
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        commands.start("rt_approval", json.loads(deep(limit + 1)), actor=SYSTEM)
    assert Execution.objects.count() == 1
