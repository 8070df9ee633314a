"""``time_tag``: every time on a page is a ``<time datetime="ISO with offset">`` in one
clock format (DESIGN.md). The same cases as frontend/lib/shared.test.ts (formatMoment),
so a live island and a fresh load agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from executions.templatetags.times import time_tag


@pytest.mark.parametrize(("value", "html"), [
    ("2026-03-27T08:00:00.999999+00:00",
     '<time datetime="2026-03-27T08:00:00.999999+00:00">2026-03-27 08:00:00</time>'),
    (datetime(2026, 3, 27, 10, 0, tzinfo=timezone(timedelta(hours=2))),
     '<time datetime="2026-03-27T08:00:00+00:00">2026-03-27 08:00:00</time>'),
    (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
     '<time datetime="2026-12-31T23:59:59+00:00">2026-12-31 23:59:59</time>'),
    ("soon", "soon"),
    (None, ""),
])
def test_a_moment_renders_as_a_time_element_in_the_clock_format(value, html):
    assert time_tag(value) == html
