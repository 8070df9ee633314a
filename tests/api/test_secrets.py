"""Secrets: encrypted at rest, given to the tasks that ask, and found nowhere else."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from executions.core import secrets_store
from executions.models import Execution, Secret
from tests.api.conftest import client_for, token_client
from tests.cli.conftest import flux

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "sk_live_9f8e7d6c5b4a-PLANTED-SECRET"


def database_dump() -> str:
    """Every row of every table, as text."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            out.append(repr(cursor.fetchall()))
    return "\n".join(out)


def test_values_are_encrypted_at_rest_and_read_back(db):
    secrets_store.set_secret("STRIPE_KEY", PLANTED, actor="ada")
    assert PLANTED not in database_dump()
    assert PLANTED.encode() not in bytes(Secret.objects.get().ciphertext)
    assert secrets_store.DatabaseSecretProvider().get_many(["STRIPE_KEY"]) == {
        "STRIPE_KEY": PLANTED}


def test_a_missing_secret_names_itself(db):
    from flux.errors import SecretNotFoundError

    with pytest.raises(SecretNotFoundError, match="NOPE"):
        secrets_store.DatabaseSecretProvider().get_many(["NOPE"])


def test_keys_rotate_the_old_key_still_decrypts(db, settings):
    settings.FLUX_SECRETS_KEY = "old-key-material-xxxxxxxxxxxxxxxx"
    secrets_store.set_secret("K", "value-1")
    settings.FLUX_SECRETS_KEY = "new-key-material-yyyy,old-key-material-xxxxxxxxxxxxxxxx"
    assert secrets_store.read_secrets(["K"]) == {"K": "value-1"}
    settings.FLUX_SECRETS_KEY = "new-key-material-yyyy"
    from flux.errors import SecretNotFoundError

    with pytest.raises(SecretNotFoundError, match="FLUX_SECRETS_KEY"):
        secrets_store.read_secrets(["K"])


def test_bad_names_are_refused(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        secrets_store.set_secret("not a name", "x")


def test_the_cli_sets_from_stdin_lists_names_and_deletes(db, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(PLANTED + "\n"))
    assert flux("secret", "set", "FROM_STDIN").code == 0
    assert flux("secret", "set", "FROM_OPTION", "--value", "v2").code == 0
    assert secrets_store.read_secrets(["FROM_STDIN"]) == {"FROM_STDIN": PLANTED}
    listed = flux("secret", "list")
    assert "FROM_STDIN" in listed.out and "FROM_OPTION" in listed.out
    assert PLANTED not in listed.out and "v2" not in flux("secret", "list", "--json").out
    assert flux("secret", "delete", "FROM_OPTION").code == 0
    assert flux("secret", "delete", "FROM_OPTION").code == 2
    assert flux("secret", "set", "bad name", "--value", "x").code == 2


def test_the_api_takes_values_and_gives_back_only_names(users):
    admin = client_for(users["admin"])
    put = admin.put("/api/secrets/API_KEY", {"value": PLANTED, "description": "stripe"},
                    content_type="application/json")
    assert put.status_code == 200 and PLANTED not in put.content.decode()
    listed = admin.get("/api/secrets/")
    assert [s["name"] for s in listed.json()["items"]] == ["API_KEY"]
    assert PLANTED not in listed.content.decode()
    assert admin.put("/api/secrets/bad%20name", {"value": "x"},
                     content_type="application/json").status_code == 422


def test_a_planted_secret_reaches_the_task_but_no_event_log_or_answer(users, queue, caplog):
    secrets_store.set_secret("API_TEST_SECRET", PLANTED)
    operator = token_client(users["operator"])
    caplog.set_level(logging.DEBUG)
    started = operator.post("/api/workflows/api_leaky/run").json()
    queue.drain()
    execution = Execution.objects.get(pk=started["id"])
    assert execution.status == "completed", execution.error

    # the task really had it: its outputs refer to it by name, or with *** in its place
    assert "Bearer ***" in str(execution.output)
    assert PLANTED not in database_dump()
    logged = caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records)
    assert PLANTED not in logged

    viewer, admin = token_client(users["viewer"]), token_client(users["admin"])
    pages = client_for(users["admin"])
    answers = [
        viewer.get(f"/api/executions/{execution.pk}"),
        viewer.get(f"/api/executions/{execution.pk}/events"),
        viewer.get("/api/executions/"),
        viewer.get("/api/workflows/api_leaky"),
        admin.get("/api/secrets/"),
        admin.post(f"/api/executions/{execution.pk}/rerun"),
        pages.get(f"/executions/{execution.pk}/"),
        pages.get(f"/executions/{execution.pk}/events.json"),
        pages.get("/executions/"),
        pages.get("/admin/executions/secret/"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201, 302), answer
        body = (b"".join(answer.streaming_content) if answer.streaming else answer.content)
        assert PLANTED not in body.decode(), answer.request


def test_the_scaled_shape_refuses_to_start_without_a_secrets_key():
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLUX_SECRETS_KEY", "DEBUG", "DATABASE_URL")}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1/fluxweb",
               SECRET_KEY="x" * 50)
    result = subprocess.run([sys.executable, "-c", "import fluxweb.settings"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "FLUX_SECRETS_KEY" in result.stderr
