"""``{{ value|time_tag }}``: a moment on a page, the one way (DESIGN.md): a ``<time
datetime="ISO 8601 with offset">`` element showing ``2026-03-27 08:00:00`` in the site's
timezone (``TIME_ZONE``, UTC). ``value`` is a datetime or an ISO 8601 string (an
approval's JSON); empty for None. The islands render the same text with
``formatMoment`` (frontend/lib/format.ts), so a live page and a reloaded one agree."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from executions.core import dates

register = template.Library()

#: The clock format of every page (Django's ``date`` format characters).
CLOCK = "Y-m-d H:i:s"


@register.filter
def time_tag(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    moment = dates.readable(value)
    if moment is None:
        return str(value)
    moment = timezone.localtime(moment)
    return format_html('<time datetime="{}">{}</time>', moment.isoformat(),
                       date_format(moment, CLOCK))
