"""The admin: every model registered, read-only logs, actions through the runner, and
secrets that can be written but never read."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client

from executions.core.secrets_store import read_secrets
from executions.models import Event, Execution, Secret

PLANTED = "admin-planted-secret-value-123"


@pytest.fixture
def staff(users) -> Client:
    """The admin persona, with access to the admin site."""
    user = users["admin"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_every_model_of_the_app_is_in_the_admin():
    from django.apps import apps

    missing = [m.__name__ for m in apps.get_app_config("executions").get_models()
               if m not in admin.site._registry]
    assert not missing


def test_execution_list_and_detail_with_its_events(staff, world):
    execution = world.completed
    listed = staff.get("/admin/executions/execution/")
    assert listed.status_code == 200 and execution.pk in listed.content.decode()
    filtered = staff.get("/admin/executions/execution/?status__exact=completed&q=api")
    assert filtered.status_code == 200
    detail = staff.get(f"/admin/executions/execution/{execution.pk}/change/")
    assert detail.status_code == 200
    assert "WORKFLOW_COMPLETED" in detail.content.decode()
    assert staff.get("/admin/executions/event/").status_code == 200


def test_the_cancel_action_goes_through_the_runner_as_the_admin(staff, world):
    queued = world.queued
    answer = staff.post("/admin/executions/execution/", {
        "action": "cancel", "_selected_action": [queued.pk]})
    assert answer.status_code == 302
    assert Execution.objects.get(pk=queued.pk).status == "cancelled"
    cancelled = Event.objects.get(execution=queued, type="WORKFLOW_CANCELLED")
    assert cancelled.value["actor"] == "admin"


def test_the_rerun_action_makes_a_child(staff, world):
    original = world.completed
    staff.post("/admin/executions/execution/", {
        "action": "rerun", "_selected_action": [original.pk]})
    child = Execution.objects.get(parent=original)
    assert child.actor == "admin" and child.input == original.input


def test_a_staff_member_without_the_permission_has_no_actions(users, world):
    user: User = users["viewer"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    page = client.get("/admin/executions/execution/")
    assert page.status_code == 200
    assert 'value="cancel"' not in page.content.decode()
    client.post("/admin/executions/execution/", {
        "action": "cancel", "_selected_action": [world.queued.pk]})
    assert Execution.objects.get(pk=world.queued.pk).status == "queued"
    assert client.get("/admin/executions/secret/").status_code == 403


def test_secrets_are_written_in_the_admin_and_never_shown(staff):
    added = staff.post("/admin/executions/secret/add/", {
        "name": "PARTNER_KEY", "description": "the partner", "value": PLANTED})
    assert added.status_code == 302, added.content.decode()[:2000]
    assert read_secrets(["PARTNER_KEY"]) == {"PARTNER_KEY": PLANTED}
    secret = Secret.objects.get(name="PARTNER_KEY")
    for url in ("/admin/executions/secret/",
                f"/admin/executions/secret/{secret.pk}/change/"):
        page = staff.get(url)
        assert page.status_code == 200 and PLANTED not in page.content.decode()
    staff.post(f"/admin/executions/secret/{secret.pk}/change/", {
        "name": "PARTNER_KEY", "description": "renamed desc", "value": ""})
    assert read_secrets(["PARTNER_KEY"]) == {"PARTNER_KEY": PLANTED}  # kept
