"""The store's part for composition (docs/workflows.md, "Composing workflows"): a run's
children, events from the world and the waits for them, progress. Mixed into
:class:`executions.core.store.DjangoStore`, whose connection helpers (``_call``,
``_conn``, ``using``) it uses; :mod:`executions.core.composition` holds the rules
around them (who wakes whom, timeouts, kept events' expiry).

Lock order (as in composition): a wait and a send of one event name are serialised by
``_lock_event_name``; a send then updates its waiters' rows.
"""

from __future__ import annotations

import zlib
from typing import Any

from django.db import transaction
from django.db.models import Q

from executions.core.signals import progress_saved
from executions.models import EventWait, Execution, KeptEvent
from flux.clock import clock
from flux.projection import Status
from flux.store import ExecutionRecord, match_holds

#: The first key of the advisory locks that serialise one event name's waits and sends.
_EVENT_LOCK = 0x464C5545  # "FLUE"


class CompositionStore:
    """Children, events, waits and progress on Django's database."""

    using: str
    _conn: Any
    _call: Any

    def children(self, execution_id: str) -> list[ExecutionRecord]:
        return self._call(lambda: [
            row.record() for row in Execution.objects.using(self.using)
            .filter(parent_execution_id=execution_id).order_by("created_at", "id")])

    def set_progress(self, execution_id: str, progress: dict) -> None:
        self._call(self._set_progress, execution_id, progress)

    def _set_progress(self, execution_id: str, progress: dict) -> None:
        Execution.objects.using(self.using).filter(pk=execution_id).update(progress=progress)
        if progress_saved.has_listeners():
            progress_saved.send(sender=type(self), execution_id=execution_id,
                                progress=progress)

    def _lock_event_name(self, name: str) -> None:
        """Serialise waits and sends of one event name (PostgreSQL: an advisory lock
        until the transaction ends; SQLite's IMMEDIATE transactions already are)."""
        if self._conn.vendor == "postgresql":
            with self._conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                            [_EVENT_LOCK, zlib.crc32(name.encode()) - 2**31])

    def wait_event(self, execution_id, wait_id, name, match, expires_at=None):
        return self._call(self._wait_event, execution_id, wait_id, name, match, expires_at)

    def _wait_event(self, execution_id, wait_id, name, match, expires_at):
        waits = EventWait.objects.using(self.using)
        with transaction.atomic(using=self.using):
            self._lock_event_name(name)
            found = waits.filter(execution_id=execution_id, wait_id=wait_id).first()
            if found is not None:
                return found.delivered, found.payload
            now = clock.now()
            kept = (KeptEvent.objects.using(self.using).filter(name=name)
                    .filter(Q(execution_id__isnull=True) | Q(execution_id=execution_id))
                    .filter(Q(keep_until__isnull=True) | Q(keep_until__gt=now)))
            if match and self._conn.vendor == "postgresql":
                kept = kept.filter(payload__contains=match)
            taken = next((k for k in kept.order_by("id").iterator()
                          if match_holds(match, k.payload)), None)
            if taken is not None:
                taken.delete()
            waits.create(execution_id=execution_id, wait_id=wait_id, name=name, match=match,
                         delivered=taken is not None,
                         payload=taken.payload if taken is not None else None,
                         created_at=now, expires_at=expires_at)
            return (True, taken.payload) if taken is not None else (False, None)

    def send_event(self, name, payload, *, execution_id=None, keep_until=None, now=None):
        return self._call(self._send_event, name, payload, execution_id, keep_until,
                          now or clock.now())

    def _send_event(self, name, payload, execution_id, keep_until, now):
        with transaction.atomic(using=self.using):
            self._lock_event_name(name)
            open_waits = (EventWait.objects.using(self.using)
                          .filter(name=name, delivered=False, closed=False)
                          .exclude(execution__status__in=Status.FINISHED))
            if execution_id is not None:
                open_waits = open_waits.filter(execution_id=execution_id)
            if self._conn.vendor == "postgresql":
                fits = Q(match__isnull=True)
                if isinstance(payload, dict):
                    fits |= Q(match__contained_by=payload)
                open_waits = open_waits.filter(fits)
            chosen: dict[str, int] = {}
            for pk, eid, match in open_waits.order_by("id").values_list(
                    "pk", "execution_id", "match"):
                if eid not in chosen and match_holds(match, payload):
                    chosen[eid] = pk
            if chosen:
                (EventWait.objects.using(self.using)
                 .filter(pk__in=list(chosen.values()), delivered=False)
                 .update(delivered=True, payload=payload))
            else:
                KeptEvent.objects.using(self.using).create(
                    name=name, execution_id=execution_id, payload=payload, sent_at=now,
                    keep_until=keep_until)
            return list(chosen), not chosen

    def close_wait(self, execution_id, wait_id):
        return self._call(self._close_wait, execution_id, wait_id)

    def _close_wait(self, execution_id, wait_id):
        with transaction.atomic(using=self.using):
            found = (EventWait.objects.using(self.using).select_for_update()
                     .filter(execution_id=execution_id, wait_id=wait_id).first())
            if found is None:
                return False, None
            if not found.delivered:
                EventWait.objects.using(self.using).filter(pk=found.pk).update(closed=True)
            return found.delivered, found.payload

    def forget_waits(self, execution_id, wait_id=None):
        rows = EventWait.objects.using(self.using).filter(execution_id=execution_id)
        if wait_id is not None:
            rows = rows.filter(wait_id=wait_id)
        self._call(rows.delete)

    def drop_expired_events(self, now):
        return self._call(lambda: KeptEvent.objects.using(self.using)
                          .filter(keep_until__lte=now).delete()[0])

