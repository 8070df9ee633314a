"""Settings come from environment variables; bad values stop start-up, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from fluxweb.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    redact_url,
    redis_with_timeouts,
)

ROOT = Path(__file__).resolve().parents[2]


def import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import fluxweb.settings in a fresh interpreter with only these variables set."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", "import fluxweb.settings"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


CONFIG_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "FLUX_SECRETS_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "FLUX_LEASE_SECONDS",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
}


def test_booleans_accept_the_usual_spellings():
    for word in ["1", "true", "TRUE", "yes", "on"]:
        assert env_bool("DEBUG", False, env={"DEBUG": word}) is True
    for word in ["0", "false", "No", "off"]:
        assert env_bool("DEBUG", True, env={"DEBUG": word}) is False
    assert env_bool("DEBUG", True, env={}) is True


def test_a_bad_boolean_names_the_variable_and_value():
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe'"):
        env_bool("DEBUG", False, env={"DEBUG": "maybe"})


def test_a_bad_lease_names_the_variable_and_value():
    with pytest.raises(ImproperlyConfigured, match=r"FLUX_LEASE_SECONDS='soon'"):
        env_int("FLUX_LEASE_SECONDS", 30, minimum=1, env={"FLUX_LEASE_SECONDS": "soon"})
    with pytest.raises(ImproperlyConfigured, match=r"FLUX_LEASE_SECONDS='0'.*at least 1"):
        env_int("FLUX_LEASE_SECONDS", 30, minimum=1, env={"FLUX_LEASE_SECONDS": "0"})
    assert env_int("FLUX_LEASE_SECONDS", 30, env={}) == 30


def test_lists_are_comma_separated():
    assert env_list("ALLOWED_HOSTS", [], env={"ALLOWED_HOSTS": "a.example, b.example,"}) == [
        "a.example",
        "b.example",
    ]
    assert env_list("ALLOWED_HOSTS", ["localhost"], env={}) == ["localhost"]


def test_an_unsupported_database_url_names_the_variable_and_hides_the_password():
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_URL='mysql://u:\*\*\*@h/db'") as e:
        database_from_url("DATABASE_URL", "mysql://u:hunter2@h/db")
    assert "hunter2" not in str(e.value)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL='nonsense'"):
        database_from_url("DATABASE_URL", "nonsense")


def test_database_urls_for_postgres_and_sqlite():
    for scheme in ["postgres", "postgresql"]:
        config = database_from_url("DATABASE_URL", f"{scheme}://bob:pw@db.example:5433/flux")
        assert config["ENGINE"] == "django.db.backends.postgresql"
        assert (config["NAME"], config["HOST"], config["PORT"]) == ("flux", "db.example", 5433)
        assert config["OPTIONS"]["pool"]
    config = database_from_url("DATABASE_URL", "sqlite:////tmp/flux.sqlite3")
    assert config["NAME"] == "/tmp/flux.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_the_pool_checks_connections_and_its_sizes_and_timeouts_come_from_the_environment():
    from fluxweb.env import check_pooled_connection

    config = database_from_url("DATABASE_URL", "postgres://bob@db.example/flux", env={})
    pool = config["OPTIONS"]["pool"]
    assert pool["check"] is check_pooled_connection
    assert (pool["max_size"], pool["timeout"], config["OPTIONS"]["connect_timeout"]) == (10, 5, 5)
    config = database_from_url("DATABASE_URL", "postgres://bob@db.example/flux", env={
        "DATABASE_POOL_SIZE": "30", "DATABASE_POOL_TIMEOUT": "2",
        "DATABASE_CONNECT_TIMEOUT": "3"})
    pool = config["OPTIONS"]["pool"]
    assert (pool["max_size"], pool["timeout"], config["OPTIONS"]["connect_timeout"]) == (30, 2, 3)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_SIZE='0' must be at least 1"):
        database_from_url("DATABASE_URL", "postgres://bob@db.example/flux",
                          env={"DATABASE_POOL_SIZE": "0"})


def test_the_queue_gets_redis_timeouts_unless_the_url_sets_them():
    assert redis_with_timeouts("redis://h:6379/3") == (
        "redis://h:6379/3?socket_connect_timeout=5&socket_timeout=10")
    assert redis_with_timeouts("redis://h/3?socket_timeout=1") == (
        "redis://h/3?socket_timeout=1&socket_connect_timeout=5")


def test_redact_url_keeps_urls_without_passwords():
    assert redact_url("postgres://postgres@127.0.0.1/fluxweb") == (
        "postgres://postgres@127.0.0.1/fluxweb"
    )


def test_settings_import_fails_loudly_on_bad_values():
    cases = {
        "DEBUG": ("perhaps", "DEBUG='perhaps'"),
        "DATABASE_URL": ("mongodb://x/y", "DATABASE_URL='mongodb://x/y'"),
        "FLUX_LEASE_SECONDS": ("-5", "FLUX_LEASE_SECONDS='-5'"),
    }
    for name, (value, message) in cases.items():
        result = import_settings(**{name: value})
        assert result.returncode != 0, name
        assert "ImproperlyConfigured" in result.stderr and message in result.stderr, result.stderr


def test_the_scaled_shape_requires_a_secret_key():
    result = import_settings(DATABASE_URL="postgres://postgres@127.0.0.1/fluxweb")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_the_embedded_shape_starts_with_no_configuration():
    assert import_settings().returncode == 0


def test_check_deploy_is_clean_in_the_scaled_shape():
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env = {
        **clean,
        # An existing database: model checks ask the server for its features
        # (Execution.duration is a generated column).
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "SECRET_KEY": "kq3v-8Zp2Lr1Xw9Nf4Tg7Hy6Bm5Jc0Ds3Ae8Ui2Op1Ql4Rk7Wz9Xv6Ct5Yb0Nm3",
        "FLUX_SECRETS_KEY": "Vb7-Qs2Lm9Xr4Tn8Kw1Hz6Jd3Fc5Gp0Ay",
        "ALLOWED_HOSTS": "flux.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
