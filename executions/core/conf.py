"""The executions app's settings, read in one place, and the clock it tells time by.

:func:`app_settings` is a frozen :class:`AppSettings` built from Django's settings
(``fluxweb/settings.py`` fills those from the environment, with these defaults); it
is rebuilt when a test changes a setting (Django's ``setting_changed`` signal). Every
default is written once, here (:data:`DEFAULTS`).

:data:`clock` (``flux.clock.clock``) is what leases, deadlines, reapers and short
caches ask for the time. Tests move it instead of sleeping::

    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)) as now:
        ...
        now.advance(seconds=31)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from flux.clock import clock as flux_clock
from flux.config import BUILTIN_DEFAULTS
from flux.schedule import DEFAULT_CATCHUP_SECONDS


@dataclass(frozen=True)
class AppSettings:
    #: How soon a dead worker's executions are noticed (FLUX_LEASE_SECONDS).
    lease_seconds: float = BUILTIN_DEFAULTS["lease_seconds"]
    #: The reaper re-sends a queued execution's message after this long (FLUX_REQUEUE_SECONDS).
    requeue_seconds: float = 30.0
    #: Durable sleeps longer than this end the run; a timer wakes it (FLUX["suspend_sleeps_after"]).
    suspend_sleeps_after: float = 2.0
    #: The largest input, as JSON bytes (FLUX_MAX_INPUT_BYTES).
    max_input_bytes: int = 1_048_576
    #: An event nobody waits for is kept this long for a later wait (FLUX_EVENT_KEEP_SECONDS).
    event_keep_seconds: float = BUILTIN_DEFAULTS["event_keep_seconds"]
    #: The approval inbox's reminders and escalation (FLUX_INBOX; docs/inbox.md).
    inbox: dict[str, Any] = field(default_factory=lambda: {
        # Fractions of the time between the request and the deadline; None: off.
        "remind_at": None,
        "escalate_at": None,
        # The group an escalation adds to the item's deciders and emails.
        "escalate_to": "admin",
        "from_email": None,
        "base_url": "",
    })
    #: The scheduler (FLUX_SCHEDULES; docs/schedules.md): how often each worker looks
    #: for due fires, a new schedule's catch-up window, the most fires one backfill starts.
    schedules: dict[str, Any] = field(default_factory=lambda: {
        "tick_seconds": 0.5,
        "catchup_seconds": DEFAULT_CATCHUP_SECONDS,
        "max_backfill": 1000,
    })
    #: Concurrency limits set without touching a workflow's code (FLUX_CONCURRENCY):
    #: ``{"workflow": N}`` or ``{"workflow": {"limit": N, "key": "input.customer"}}``.
    concurrency: dict[str, Any] = field(default_factory=dict)


#: The defaults, once.
DEFAULTS = AppSettings()

_cached: AppSettings | None = None


def app_settings() -> AppSettings:
    """The settings in force (built once, rebuilt after a setting changes)."""
    global _cached
    if _cached is None:
        _cached = _build()
    return _cached


def _build() -> AppSettings:
    from django.conf import settings

    flux = getattr(settings, "FLUX", {}) or {}
    return replace(
        DEFAULTS,
        lease_seconds=float(getattr(settings, "FLUX_LEASE_SECONDS", DEFAULTS.lease_seconds)),
        requeue_seconds=float(getattr(settings, "FLUX_REQUEUE_SECONDS",
                                      DEFAULTS.requeue_seconds)),
        suspend_sleeps_after=float(flux.get("suspend_sleeps_after",
                                            DEFAULTS.suspend_sleeps_after)),
        max_input_bytes=int(getattr(settings, "FLUX_MAX_INPUT_BYTES",
                                    DEFAULTS.max_input_bytes)),
        event_keep_seconds=float(getattr(settings, "FLUX_EVENT_KEEP_SECONDS",
                                         DEFAULTS.event_keep_seconds)),
        inbox={**DEFAULTS.inbox, **(getattr(settings, "FLUX_INBOX", None) or {})},
        schedules={**DEFAULTS.schedules,
                   **(getattr(settings, "FLUX_SCHEDULES", None) or {})},
        concurrency=dict(getattr(settings, "FLUX_CONCURRENCY", None) or {}),
    )


def forget(**_: Any) -> None:
    """Drop the cached settings (connected to ``setting_changed``)."""
    global _cached
    _cached = None


# the clock: the engine's, so that the runtime and the engine tell the same time ----

clock = flux_clock
