"""What every ``manage.py flux`` verb shares: exit codes, errors, parsing, printing.

Exit codes are a public contract (DESIGN.md): 0 completed or ok, 1 failed
(or cancelled), 2 bad input or a request that makes no sense in the
execution's state, 3 paused, 4 still in progress when ``--wait`` gave up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from executions import dates
from flux import Status

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PAUSED = 3
EXIT_PENDING = 4


class CliError(Exception):
    """A request that cannot be done: one line on stderr, exit 2, nothing written."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(status: str) -> int:
    """The exit code that tells a script how an execution stands."""
    if status == Status.COMPLETED:
        return EXIT_OK
    if status in (Status.FAILED, Status.CANCELLED):
        return EXIT_FAILED
    if status == Status.PAUSED:
        return EXIT_PAUSED
    return EXIT_PENDING


def parse_json(text: str | None, option: str = "--input") -> Any:
    """The value of a JSON option (None when not given)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{option} is not valid JSON ({exc.msg} at line {exc.lineno} "
                       f"column {exc.colno}): {_clip(text)}") from None
    except RecursionError:
        raise CliError(f"{option} is nested too deeply to read as JSON.") from None


_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str, option: str = "--since") -> timedelta:
    """``30s``, ``30m``, ``1h``, ``2d``, ``1w`` as a timedelta."""
    match = _SPAN.match(text or "")
    if not match and (text or "").strip().startswith("-"):
        raise CliError(f"{option} cannot be negative: {text!r} (give a span like 30m, 1h, "
                       "2d or 1w)")
    if not match:
        raise CliError(f"{option} takes a span like 30m, 1h, 2d or 1w, not {text!r}")
    try:
        return dates.span(**{_UNITS[match.group(2)]: float(match.group(1))})
    except dates.BadMoment as exc:
        raise CliError(f"{option} {text}: {exc}") from None


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def when(value: datetime | str | None) -> str:
    """A timestamp for people: ``2025-01-15 10:30:00 UTC``."""
    if value is None:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def summary(value: Any, width: int = 100) -> str:
    """A value on one line, clipped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    return _clip(text, width)


def _clip(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Plain columns, left-aligned, two spaces apart."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [headers, *rows]]
    return "\n".join(lines)


#: A verb's handler: takes the command (for stdout/stderr) and the options; returns a code.
Handler = Callable[[Any, dict[str, Any]], int]
