"""The admin's schedules: listed and inspected; paused, resumed and triggered through
``executions.schedules`` with the admin user as the actor (``manage_schedules``).
Creating and changing one is done on its page (``/schedules/``), which checks the
expression, the timezone and the input before saving."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from executions import permissions, schedules
from executions.commands import Actor
from executions.models import Schedule


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
