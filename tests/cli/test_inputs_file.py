"""``flux run WORKFLOW --inputs-file F.jsonl``: one run per line, in one transaction."""

from __future__ import annotations

import json

import tests.api.workflows  # noqa: F401 - registers api_hello (the demo is off when scaled)
from executions.models import Execution
from tests.cli.conftest import flux


def write(tmp_path, *lines: str):
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_every_line_starts_a_run_in_order(queue, tmp_path):
    path = write(tmp_path, '{"input": {"name": "Ada"}}', "",
                 '{"input": {"name": "Bob"}, "idempotency_key": "b"}',
                 '{"input": {"name": "Cy"}, "tags": {"team": "x"}}')
    result = flux("run", "api_hello", "--inputs-file", path, "--priority", "4",
                  "--tag", "batch=1")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    runs = [Execution.objects.get(pk=line.split()[-1]) for line in lines[:3]]
    assert [r.input["name"] for r in runs] == ["Ada", "Bob", "Cy"]
    assert lines[0] == f"Started api_hello {runs[0].id}"
    assert lines[-1] == "3 started, 0 already started."
    assert [r.priority for r in runs] == [4, 4, 4]
    assert runs[2].tags == {"batch": "1", "team": "x"} and runs[1].idempotency_key == "b"
    assert sorted(queue.sent) == sorted(r.id for r in runs)
    # The same file again: the keyed line has its run, the others start anew.
    again = flux("run", "api_hello", "--inputs-file", path, "--json")
    assert [i["created"] for i in again.json()] == [True, False, True]
    assert again.json()[1]["execution"]["id"] == runs[1].id
    queue.drain()
    assert Execution.objects.get(pk=runs[0].id).output == "Hello, Ada"


def test_a_bad_line_is_reported_by_its_number_and_nothing_starts(queue, tmp_path):
    path = write(tmp_path, '{"input": {"name": "Ada"}}', "",
                 '{"input": {"name": "Bob"}, "priority": "high"}')
    result = flux("run", "api_hello", "--inputs-file", path)
    assert result.code == 2
    assert f"{path} line 3 (priority): The priority must be" in result.err
    assert "Nothing was started" in result.err
    schema = flux("run", "api_hello", "--inputs-file", write(tmp_path, '{"input": 5}'))
    assert schema.code == 2 and "line 1 (input): Input for workflow" in schema.err
    broken = flux("run", "api_hello", "--inputs-file",
                  write(tmp_path, '{"input": {"name": "Ada"}}', '{"input": '))
    assert broken.code == 2 and "line 2: not valid JSON" in broken.err
    assert Execution.objects.count() == 0 and queue.sent == []


def test_inputs_file_refuses_options_of_a_single_run(queue, tmp_path):
    path = write(tmp_path, json.dumps({"input": {"name": "Ada"}}))
    for extra in (["--input", '"x"'], ["--idempotency-key", "k"], ["--wait"]):
        result = flux("run", "api_hello", "--inputs-file", path, *extra)
        assert result.code == 2 and "--inputs-file" in result.err
    missing = flux("run", "api_hello", "--inputs-file", str(tmp_path / "none.jsonl"))
    assert missing.code == 2 and "No such file" in missing.err
    assert Execution.objects.count() == 0
