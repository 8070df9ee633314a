"""``manage.py flux ... --wait`` end to end: real processes, a real worker, a temp SQLite.

One database and one ``flux worker`` process serve the whole module; each
test drives the command line as a script would and reads exit codes and JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("executions.core.runner", reason="the runtime is not here")
pytest.importorskip("executions.tasks", reason="the Huey task (executions.tasks) is not here")

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flux-e2e")
    environ = dict(os.environ)
    for name in ("REDIS_URL", "PYTEST_CURRENT_TEST"):
        environ.pop(name, None)
    environ.update(DATABASE_URL=f"sqlite:///{folder}/db.sqlite3", FLUX_DEMO="1",
                   FLUX_HOME=str(folder / "flux"), DJANGO_SETTINGS_MODULE="fluxweb.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=ROOT, env=environ, check=True, timeout=TIMEOUT)
    return environ


@pytest.fixture(scope="module")
def worker(env):
    proc = subprocess.Popen([sys.executable, "manage.py", "flux", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    yield proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def flux(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "flux", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_run_wait_json_completes_with_exit_0(env, worker):
    done = flux(env, "run", "demo_hello", "--input", '"Ada"', "--wait", "--json")
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert execution["status"] == "completed" and execution["output"] == "Hello, Ada!"

    status = flux(env, "runs", "status", execution["id"])
    assert "Status: completed" in status.stdout
    assert "Recovery: 0/3 attempts (recover_on_worker_loss: true)" in status.stdout
    events = json.loads(flux(env, "runs", "logs", execution["id"], "--json").stdout)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"


def test_run_wait_human_output_and_retries(env, worker):
    done = flux(env, "run", "demo_retries", "--input", "{}", "--wait")
    assert done.returncode == 0, done.stderr
    assert "Status: completed" in done.stdout
    assert 'Output: "answered on attempt 3"' in done.stdout


def test_a_failed_run_exits_1_and_retry_resumes_it_from_the_failed_task(env, worker):
    failed = flux(env, "run", "demo_failure", "--input", "{}", "--wait", "--json")
    assert failed.returncode == 1, failed.stderr
    execution = json.loads(failed.stdout)
    assert execution["status"] == "failed"
    assert "record 42 has no customer id" in execution["error"]["message"]

    retried = flux(env, "runs", "retry", execution["id"], "--wait", "--json")
    assert retried.returncode == 1, retried.stderr
    assert json.loads(retried.stdout)["id"] == execution["id"]
    events = json.loads(flux(env, "runs", "logs", execution["id"], "--json").stdout)
    types = [e["type"] for e in events]
    assert types.count("WORKFLOW_FAILED") == 2
    loads = [e for e in events if e["type"] == "TASK_STARTED" and e["name"] == "load_records"]
    assert len(loads) == 1  # the first task is replayed, not run again


def test_a_pause_exits_3_and_resume_wait_completes_it(env, worker):
    claim = '{"employee": "Ada", "amount": 120}'
    paused = flux(env, "run", "demo_approval", "--input", claim, "--wait", "--json")
    assert paused.returncode == 3, paused.stderr
    execution = json.loads(paused.stdout)
    assert execution["status"] == "paused"

    bad = flux(env, "runs", "resume", execution["id"], "--input", '{"approved_amount": "x"}')
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1

    resumed = flux(env, "runs", "resume", execution["id"], "--input",
                   '{"approved_amount": 100}', "--wait", "--json")
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["id"] == execution["id"]
    assert data["output"] == {"paid": True, "receipt": "Paid 100.00 EUR to Ada"}
    events = json.loads(flux(env, "runs", "logs", execution["id"], "--json").stdout)
    assert "WORKFLOW_RESUMED" in [e["type"] for e in events]


def test_rerun_starts_a_new_execution_naming_the_original(env, worker):
    first = json.loads(flux(env, "run", "demo_graph", "--input", "3", "--wait",
                            "--json").stdout)
    assert first["output"] == "fulfilled (score 3)"
    again = flux(env, "runs", "rerun", first["id"], "--wait", "--json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert rerun["id"] != first["id"] and rerun["parent_id"] == first["id"]
    assert rerun["input"] == 3 and rerun["output"] == "fulfilled (score 3)"
    other = json.loads(flux(env, "runs", "rerun", first["id"], "--input", "-1", "--wait",
                            "--json").stdout)
    assert other["output"] == "sent to manual review (score -1)"


def test_a_durable_sleep_is_waited_out(env, worker):
    started = time.monotonic()
    done = flux(env, "run", "demo_sleep", "--input", '{"seconds": 2}', "--wait", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
    assert time.monotonic() - started >= 2


def test_wait_gives_up_with_exit_4_then_cancel_stops_it(env, worker):
    pending = flux(env, "run", "demo_sleep", "--input", '{"seconds": 600}', "--wait",
                   "--timeout", "3", "--json")
    assert pending.returncode == 4, pending.stderr
    execution = json.loads(pending.stdout)
    assert execution["status"] in ("sleeping", "running")

    cancelled = flux(env, "runs", "cancel", execution["id"], "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = json.loads(flux(env, "runs", "status", execution["id"], "--json").stdout)
        if status["status"] == "cancelled":
            break
        time.sleep(0.2)
    assert status["status"] == "cancelled"
    again = flux(env, "runs", "cancel", execution["id"])
    assert again.returncode == 2 and "already cancelled" in again.stderr


def test_runs_list_json_sees_every_run(env, worker):
    items = json.loads(flux(env, "runs", "list", "--json", "--limit", "100").stdout)
    assert {"demo_hello", "demo_failure", "demo_approval"} <= {i["workflow"] for i in items}
    failed = json.loads(flux(env, "runs", "list", "--status", "failed", "--json").stdout)
    assert failed and all(i["status"] == "failed" for i in failed)
