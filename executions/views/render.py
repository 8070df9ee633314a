"""HTML for the execution page's long lists, built in Python.

Django's template loop costs about 20 µs a cell; the event log (500 rows), the
timeline (400 bars) and the task menu (one option per task) would take hundreds
of milliseconds on a 10,000-event log that way. These produce the same markup
(escaped with ``django.utils.html.escape``) in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from executions.views.timeline import Bar

#: Tasks offered in the log's task menu at most (the URL takes any ``?task=``).
MAX_TASK_OPTIONS = 300


def event_rows(rows: Iterable, error_types: Iterable[str]) -> SafeString:
    errors = frozenset(error_types)
    out = []
    for ev in rows:
        css = "live-event live-event--error" if ev.type in errors else "live-event"
        iso = ev.time.isoformat()
        out.append(
            f'<tr data-seq="{ev.seq}" data-type="{escape(ev.type)}" '
            f'data-source="{escape(ev.source_id)}" class="{css}"><td>{ev.seq}</td>'
            f'<td><time datetime="{iso}">{ev.time.strftime("%H:%M:%S.%f")[:12]}</time></td>'
            f"<td>{escape(ev.type)}</td><td>{escape(ev.name)}</td>"
            f'<td><code class="value">{escape(ev.value_text)}</code></td></tr>')
    return mark_safe("".join(out))


def gantt_rows(bars: Iterable[Bar]) -> SafeString:
    out = []
    for b in bars:
        retries = f' <span class="muted small">↻{b.retries}</span>' if b.retries else ""
        out.append(
            f'<div class="gantt-row" data-task="{escape(b.id)}" data-state="{b.state}">'
            f'<span class="gantt-name" style="padding-left: {b.depth}rem" '
            f'title="{escape(b.id)}">{escape(b.name)}{retries}</span>'
            f'<span class="gantt-track"><span class="gantt-bar" style="left: {b.left}%; '
            f'width: {b.width}%"></span></span>'
            f'<span class="gantt-time muted small">{escape(b.took)}</span></div>')
    return mark_safe("".join(out))


def task_options(tasks: list[tuple[str, str]], selected: str) -> SafeString:
    out = []
    for source, name in tasks[:MAX_TASK_OPTIONS]:
        mark = " selected" if source == selected else ""
        short = source if len(source) <= 14 else source[:13] + "…"
        out.append(f'<option value="{escape(source)}"{mark}>{escape(name)} '
                   f"({escape(short)})</option>")
    if selected and selected not in {s for s, _ in tasks[:MAX_TASK_OPTIONS]}:
        out.append(f'<option value="{escape(selected)}" selected>{escape(selected)}</option>')
    return mark_safe("".join(out))
