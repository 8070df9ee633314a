"""``{% fire_time execution %}``: the fire time a scheduled run was for, as a
``<time datetime="ISO with offset">`` showing the hour in the schedule's timezone."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from executions.models import Execution, Schedule

register = template.Library()


@register.simple_tag
def fire_time(execution: Execution) -> str:
    moment = execution.scheduled_for
    if moment is None:
        return ""
    zone = Schedule.objects.filter(name=execution.schedule).values_list(
        "timezone", flat=True).first() or "UTC"
    try:
        from flux.schedule import zone as tz

        local = moment.astimezone(tz(zone))
    except ValueError:
        local, zone = moment, "UTC"
    return format_html('<time datetime="{}">{} {}</time>', moment.isoformat(),
                       local.strftime("%Y-%m-%d %H:%M"), zone)
