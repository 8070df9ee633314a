"""The Django admin for workflows, executions, events, approvals, tokens and secrets.

Executions and events are written only by the engine: the admin shows them
read-only; its actions (cancel, re-run) go through ``executions.core.runner`` with the
admin user as the actor and the same permissions as the API
(``executions/access/permissions.py``). A secret's value can be set here and never read.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from executions.access import permissions
from executions.core import commands, schedules
from executions.core.commands import Actor, Outcome
from executions.core.secrets_store import encrypt, validate_name
from executions.models import (
    Approval,
    Event,
    EventWait,
    Execution,
    KeptEvent,
    Schedule,
    Secret,
    TaskCache,
    Token,
    Worker,
    Workflow,
)
from flux.text import printable


def json_text(value: Any) -> str:
    """A JSON value as the admin shows it, printable whatever it holds (a lone surrogate
    stored before ``flux.text`` refused them must not break the page)."""
    return "-" if value is None else printable(json.dumps(value, ensure_ascii=False,
                                                            default=str))


class ReadOnlyMixin:
    """Rows the engine writes: viewable, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "version", "module", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "description", "module")
    readonly_fields = ("name", "description", "module", "version", "input_schema", "options",
                       "graphs", "is_active", "updated_at", "source")


class EventValue:
    @admin.display(description="value")
    def value_text(self, obj: Event) -> str:
        return json_text(obj.value)


class EventInline(EventValue, admin.TabularInline):
    model = Event
    fields = ("seq", "type", "name", "source_id", "attempt", "value_text", "time")
    readonly_fields = fields
    ordering = ("seq",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "workflow", "status", "created_at", "duration", "recovery", "actor")
    list_filter = ("status", "workflow", "created_at")
    search_fields = ("id", "workflow", "actor")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    readonly_fields = ("id", "workflow", "workflow_version", "status", "input_text",
                       "output_text", "error_text", "created_at", "started_at", "finished_at",
                       "recovery_attempts", "max_recovery_attempts", "parent", "actor",
                       "cancel_actor", "worker", "last_seq")
    exclude = ("lease_owner", "lease_expires", "fence", "meta", "enqueued_at", "wake_at",
               "cancel_requested", "recover_on_worker_loss", "durable", "input", "output",
               "error")
    inlines = [EventInline]
    actions = ["cancel", "rerun"]
    list_per_page = 50
    show_full_result_count = False  # counting every execution is slow on big tables

    @admin.display(description="input")
    def input_text(self, obj: Execution) -> str:
        return json_text(obj.input)

    @admin.display(description="output")
    def output_text(self, obj: Execution) -> str:
        return json_text(obj.output)

    @admin.display(description="error")
    def error_text(self, obj: Execution) -> str:
        return json_text(obj.error)

    @admin.display(description="duration")
    def duration(self, obj: Execution) -> str:
        if obj.started_at is None or obj.finished_at is None:
            return "-"
        return f"{(obj.finished_at - obj.started_at).total_seconds():.2f} s"

    @admin.display(description="recovery")
    def recovery(self, obj: Execution) -> str:
        return f"{obj.recovery_attempts}/{obj.max_recovery_attempts}"

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return permissions.allowed(request.user, permissions.CANCEL)

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return permissions.allowed(request.user, permissions.RUN)

    @admin.action(description="Cancel the selected executions", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        self._report(request, "Cancelled", commands.cancel_many(
            queryset.values_list("pk", flat=True), actor=Actor.of(request.user)))

    @admin.action(description="Re-run the selected executions (new runs, same input)",
                  permissions=["rerun"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[Execution]) -> None:
        self._report(request, "Re-ran", commands.rerun_many(
            queryset.values_list("pk", flat=True), actor=Actor.of(request.user)))

    def _report(self, request: HttpRequest, verb: str, outcomes: list[Outcome]) -> None:
        done = sum(1 for o in outcomes if o.ok)
        self.message_user(request, f"{verb} {done} execution(s).", messages.SUCCESS)
        for o in outcomes:
            if not o.ok:
                self.message_user(request, f"{o.id}: {o.detail}", messages.WARNING)


@admin.register(Event)
class EventAdmin(ReadOnlyMixin, EventValue, admin.ModelAdmin):
    list_display = ("execution", "seq", "type", "name", "attempt", "time")
    list_filter = ("type",)
    search_fields = ("execution__id", "name", "source_id")
    list_select_related = ("execution",)
    show_full_result_count = False
    readonly_fields = ("execution", "seq", "type", "name", "source_id", "parent_id", "attempt",
                       "value_text", "time")
    exclude = ("value",)


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Decided in the inbox (or the API), which record who decided in the event log."""

    list_display = ("id", "workflow", "pause_name", "status", "requested_at", "deadline",
                    "decided_by", "decided_at")
    list_filter = ("status", "workflow")
    search_fields = ("execution__id", "workflow", "pause_name", "title", "decided_by")
    list_select_related = ("execution",)


@admin.register(Worker)
class WorkerAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Written by the workers themselves (their heartbeat, executions/core/workers.py)."""

    list_display = ("name", "host", "pid", "threads", "started_at", "seen_at")
    search_fields = ("name", "host")


@admin.register(TaskCache)
class TaskCacheAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Results of ``cache=True`` tasks: delete a row to make its task run again."""

    list_display = ("key", "created_at")
    search_fields = ("key",)


@admin.register(EventWait)
class EventWaitAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Executions waiting for an event (``wait_for_event``); send one with ``flux events
    send`` or the API."""

    list_display = ("execution", "name", "match", "delivered", "closed", "created_at",
                    "expires_at")
    list_filter = ("delivered", "closed")
    search_fields = ("name", "execution__id")


@admin.register(KeptEvent)
class KeptEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Events sent while nobody waited, kept for a later wait; delete one to drop it."""

    list_display = ("name", "execution_id", "sent_at", "keep_until")
    search_fields = ("name", "execution_id")


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners (page, API, ``flux token create``); here they can
    be seen (never their value) and revoked."""

    list_display = ("prefix", "name", "user", "status", "created_at", "expires_at",
                    "last_used_at")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at",
                       "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Token]) -> None:
        for token in queryset:
            token.revoke()
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


class SecretForm(forms.ModelForm):
    """The value is written here and never shown: the field always renders empty."""

    value = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                            help_text="Leave empty to keep the current value.")

    class Meta:
        model = Secret
        fields = ("name", "description")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        validate_name(name)
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk is None and not data.get("value"):
            self.add_error("value", "A new secret needs a value.")
        return data


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    form = SecretForm
    list_display = ("name", "description", "updated_at", "updated_by")
    search_fields = ("name", "description")
    readonly_fields = ("updated_at", "updated_by")

    def _may(self, request: HttpRequest) -> bool:
        return permissions.allowed(request.user, permissions.MANAGE_SECRETS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def save_model(self, request: HttpRequest, obj: Secret, form: SecretForm,
                   change: bool) -> None:
        value = form.cleaned_data.get("value")
        if value:
            obj.ciphertext = encrypt(value)
        obj.updated_by = request.user.get_username()
        obj.save()


# Schedules: listed and inspected; paused, resumed and triggered through
# ``executions.core.schedules`` with the admin user as the actor (``manage_schedules``).
# Creating and changing one is done on its page (``/schedules/``), which checks the
# expression, the timezone and the input before saving.
@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "workflow", "cron", "interval_seconds", "timezone", "paused",
                    "next_fire_at", "last_fire_at", "skipped")
    list_filter = ("paused", "from_code", "overlap")
    search_fields = ("name", "workflow", "note")
    actions = ["pause", "resume", "trigger"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Schedule | None = None) -> bool:
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return permissions.allowed(request.user, permissions.MANAGE_SCHEDULES)

    def _each(self, request: HttpRequest, queryset: QuerySet[Schedule], verb: str, act
              ) -> None:
        for name in queryset.values_list("name", flat=True):
            act(name, actor=Actor.of(request.user))
        self.message_user(request, f"{verb} {queryset.count()} schedule(s).", messages.SUCCESS)

    @admin.action(description="Pause the selected schedules", permissions=["manage"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, queryset, "Paused", schedules.pause)

    @admin.action(description="Resume the selected schedules", permissions=["manage"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, queryset, "Resumed", schedules.resume)

    @admin.action(description="Start a run of each selected schedule now",
                  permissions=["manage"])
    def trigger(self, request: HttpRequest, queryset: QuerySet[Schedule]) -> None:
        self._each(request, queryset, "Triggered", schedules.trigger)
