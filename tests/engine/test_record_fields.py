"""An execution's fields are defined once, by flux's ExecutionRecord: the SQLite store's
columns and the JSON shape follow from it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flux.sqlite_store import SCHEMA
from flux.store import PUBLIC_FIELDS, RECORD_FIELDS, ExecutionRecord


def test_the_sqlite_table_has_a_column_per_record_field():
    table = re.search(r"CREATE TABLE IF NOT EXISTS executions \((.*?)\);", SCHEMA, re.S)
    columns = [line.split()[0] for line in table.group(1).strip().splitlines()]
    assert columns == list(RECORD_FIELDS)


def test_the_json_shows_the_public_fields_and_no_bookkeeping():
    record = ExecutionRecord(id="x", workflow="w", created_at=datetime(2026, 1, 2, 3, 4, 5),
                             lease_owner="host:1", fence=3, meta={"k": 1})
    data = record.to_json()
    assert list(data) == list(PUBLIC_FIELDS)
    assert {"lease_owner", "lease_expires", "fence", "cancel_actor", "meta"}.isdisjoint(data)
    assert {"id", "workflow", "status", "input", "output", "error", "created_at", "started_at",
            "finished_at", "recovery_attempts", "max_recovery_attempts"} <= set(data)
    assert data["created_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()
