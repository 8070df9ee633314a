"""The dashboard's view of composition: what a suspended run waits for (one
``data-waiting`` element), parent and child links both ways, the list filtered by
parent, the overview's waiting counts, task progress."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from executions.core import commands, runner
from executions.core.commands import SYSTEM
from executions.models import Execution
from tests.runtime import workflows  # noqa: F401 - registers the rt_* workflows


@pytest.fixture
def viewer(queue) -> Client:
    user = User.objects.create_user("vic", password="pw")
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    return client


def waiting_hooks(html: str) -> list[str]:
    return re.findall(r'data-waiting="([^"]*)"', html)


def test_a_run_waiting_for_an_event_says_which_and_its_match(viewer, queue):
    w = commands.start("rt_waiter", {"order": 7, "timeout": 3600}, actor=SYSTEM)
    queue.drain()
    html = viewer.get(f"/executions/{w.id}/").content.decode()
    [hook] = waiting_hooks(html)
    assert hook == "event payment matching {&quot;order&quot;: 7}"
    assert re.search(r'until <time datetime="[^"]+\+00:00">', html)
    assert viewer.get("/").content.decode().count('data-testid="waiting-on-events"') == 1
    assert re.search(r'<span class="n">1</span><span class="label">waiting for an event',
                     viewer.get("/").content.decode())


def test_a_paused_run_says_which_approval(viewer, queue):
    p = commands.start("rt_approval", None, actor=SYSTEM)
    queue.drain()
    assert waiting_hooks(viewer.get(f"/executions/{p.id}/").content.decode()) == [
        "approval: approve"]


def test_parent_and_children_link_both_ways_and_the_list_filters_by_parent(viewer, queue):
    parent = commands.start("rt_fanout", 2, actor=SYSTEM)
    queue.sent.clear()
    runner.run(parent.id)
    kids = list(Execution.objects.filter(parent_execution=parent))
    html = viewer.get(f"/executions/{parent.id}/").content.decode()
    [hook] = waiting_hooks(html)
    assert hook.count("child rt_child") == 2
    for kid in kids:
        assert f'data-child="{kid.pk}"' in html and f'href="/executions/{kid.pk}/"' in html
    kid_page = viewer.get(f"/executions/{kids[0].pk}/").content.decode()
    assert f'href="/executions/{parent.id}/" data-testid="parent-execution"' in kid_page
    listed = viewer.get(f"/executions/?parent={parent.id}").content.decode()
    assert all(k.pk in listed for k in kids) and f'/executions/{parent.id}/"' not in listed
    queue.drain()
    assert waiting_hooks(viewer.get(f"/executions/{parent.id}/").content.decode()) == []


def test_task_progress_shows_a_bar(viewer, queue):
    ex = commands.start("rt_progress", 40, actor=SYSTEM)
    queue.drain()
    html = viewer.get(f"/executions/{ex.id}/").content.decode()
    assert "<span class=\"name\">crunch</span>" in html
    assert 'aria-valuenow="100"' in html and "40 of 40" in html
