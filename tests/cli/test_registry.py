"""Finding workflow modules, reporting broken ones, and syncing the Workflow table."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

import tests.cli
from executions import checks
from executions.core import registry
from executions.models import Workflow as WorkflowRow
from flux import ExecutionContext, Workflow, workflow


@pytest.fixture
def reload_after(settings):
    """Whatever a test does to the module list, load the real one again after it."""
    original = list(settings.FLUX_WORKFLOW_MODULES)
    yield settings
    settings.FLUX_WORKFLOW_MODULES = original
    registry.load_workflows()


def test_it_imports_the_modules_named_in_settings(reload_after):
    reload_after.FLUX_WORKFLOW_MODULES = ["tests.cli.workflows", "executions.demo"]
    assert registry.load_workflows() == []
    assert "tests.cli.workflows" in registry.loaded_modules
    assert {"cli_sample", "demo_hello"} <= set(registry.registered())


def test_it_finds_the_workflows_module_of_an_installed_app(reload_after, monkeypatch):
    reload_after.FLUX_WORKFLOW_MODULES = []
    fake_app = SimpleNamespace(name="tests.cli", module=tests.cli)
    monkeypatch.setattr(registry.apps, "get_app_configs", lambda: [fake_app])
    assert registry.workflow_modules() == ["tests.cli.workflows"]
    assert registry.load_workflows() == []


def test_a_broken_module_is_reported_by_a_system_check_not_raised(reload_after):
    reload_after.FLUX_WORKFLOW_MODULES = ["tests.cli.broken_workflows", "no_such_module_x"]
    failures = registry.load_workflows()  # does not raise
    assert [f.module for f in failures] == ["tests.cli.broken_workflows", "no_such_module_x"]
    messages = checks.check_workflow_modules()
    assert [m.id for m in messages] == ["executions.E001", "executions.E001"]
    assert "tests.cli.broken_workflows" in messages[0].msg
    assert "RuntimeError: this module is broken on purpose" in messages[0].msg
    assert "ModuleNotFoundError" in messages[1].msg
    with pytest.raises(SystemCheckError, match="executions.E001"):
        call_command("check", tags=["flux"])


def test_the_check_is_quiet_when_every_module_imports(reload_after):
    registry.load_workflows()
    assert checks.check_workflow_modules() == []


def test_describe_records_source_version_schema_options_and_graphs():
    from tests.cli.workflows import cli_sample, cli_sample_graph_workflow

    fields = registry.describe(cli_sample)
    assert "async def cli_sample" in fields["source"]
    assert len(fields["version"]) == 12
    assert fields["input_schema"] == {"type": "integer"}
    assert fields["module"] == "tests.cli.workflows"
    assert fields["description"] == "Double the input."
    assert fields["options"]["max_recovery_attempts"] == 3
    assert fields["graphs"] == []
    graphs = registry.describe(cli_sample_graph_workflow)["graphs"]
    assert [g["name"] for g in graphs] == ["cli_sample_graph"]
    assert graphs[0]["edges"] == [{"source": "double", "target": "describe",
                                   "condition": None}]


@pytest.mark.django_db
def test_sync_creates_updates_and_deactivates_rows():
    from tests.cli.workflows import cli_sample

    result = registry.sync_workflows(workflows={"cli_sample": cli_sample})
    assert result.created == ["cli_sample"]
    row = WorkflowRow.objects.get(name="cli_sample")
    assert row.is_active and row.version == registry.describe(cli_sample)["version"]

    async def changed(ctx: ExecutionContext[str]) -> str:
        return "changed"

    other = workflow.with_options(name="cli_sample_v2")(changed)
    result = registry.sync_workflows(workflows={"cli_sample": other})
    assert result.updated == ["cli_sample"]
    row.refresh_from_db()
    assert row.input_schema == {"type": "string"} and "changed" in row.source

    result = registry.sync_workflows(workflows={})
    assert result.deactivated == ["cli_sample"]
    row.refresh_from_db()
    assert not row.is_active
    again = registry.sync_workflows(workflows={})
    assert again.deactivated == []


@pytest.mark.django_db
def test_sync_of_the_real_registry_is_idempotent():
    registry.sync_workflows()
    second = registry.sync_workflows()
    assert second.created == second.updated == []
    assert WorkflowRow.objects.filter(name="demo_graph", is_active=True).exists()
    graph = WorkflowRow.objects.get(name="demo_graph").graphs[0]
    assert graph["name"] == "order_routing"
    assert {e["condition"] for e in graph["edges"]} == {"lambda result: result > 0",
                                                       "lambda result: result <= 0"}


def test_describe_reads_a_workflows_code_once(monkeypatch):
    """The workflow list describes every workflow on each request: the source (a file
    read and tokenized), its version and graphs are read once per workflow object."""
    reads = []
    monkeypatch.setattr(registry, "workflow_source",
                        lambda wf: reads.append(wf.name) or f"# source of {wf.name}")

    async def fresh(ctx: ExecutionContext[int]) -> int:
        return ctx.input

    once = Workflow(fresh, name="cli_fresh", register=False)
    first = registry.describe(once)
    first.pop("source")
    again = registry.describe(once)
    assert reads == ["cli_fresh"]
    assert again["source"] == "# source of cli_fresh" and again["version"] == first["version"]
    assert again["input_schema"] == {"type": "integer"}
    other = Workflow(fresh, name="cli_fresh", register=False)  # reloaded code: read anew
    assert registry.describe(other)["source"] == "# source of cli_fresh"
    assert reads == ["cli_fresh", "cli_fresh"]
