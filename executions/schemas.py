"""The REST API's request and answer shapes for workflows, executions, events, tokens
and secrets (DESIGN.md: "An execution as JSON", "An event").

Answers are built by the models' ``to_dict`` (the same JSON as ``flux … --json``);
these schemas document them in the OpenAPI schema and check them on the way out.
"""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class Error(Schema):
    detail: str
    code: str
    errors: list[Any] | None = None


class Page(Schema):
    next: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class Execution(Schema):
    model_config = ConfigDict(extra="allow")

    id: str
    workflow: str
    workflow_version: str | None = None
    status: str = Field(description="created, queued, running, paused, sleeping, interrupted, "
                                    "completed, failed, cancelling or cancelled")
    input: Any = None
    output: Any = None
    error: Any = None
    created_at: str
    started_at: str | None
    finished_at: str | None
    recovery_attempts: int
    max_recovery_attempts: int
    recover_on_worker_loss: bool
    durable: bool
    parent_id: str | None
    last_seq: int
    cancel_requested: bool
    wake_at: str | None
    worker: str | None
    actor: str | None = Field(description="Who started it (a username).")
    parent_execution_id: str | None = Field(
        None, description="The execution whose call() started this one.")
    continued_from: str | None = Field(
        None, description="The execution this one continues (continue_as_new).")
    continued_as: str | None = Field(
        None, description="The execution that continues this one (continue_as_new).")
    waiting_for: list[dict[str, Any]] | None = Field(
        None, description="What a suspended run waits for: items of kind pause, sleep, "
                          "child or event (docs/workflows.md).")
    deadline: str | None = Field(None, description="When the whole run times out.")
    progress: dict[str, Any] = Field(
        default_factory=dict, description="The last progress() value of each task, by "
                                          "task id: {name, value, time}.")


class ChildSummary(Schema):
    id: str
    workflow: str
    status: str
    created_at: str | None
    finished_at: str | None


class ExecutionDetail(Execution):
    children: list[ChildSummary] = Field(
        default_factory=list, description="The executions this one's call()s started "
                                          "(the first 200; ?parent= lists them all).")


class ExecutionPage(Page):
    items: list[Execution]


class Event(Schema):
    seq: int = Field(description="1, 2, 3… with no gaps.")
    type: str = Field(description="An ExecutionEventType name, e.g. TASK_COMPLETED.")
    name: str
    source_id: str
    parent_id: str | None
    attempt: int
    value: Any = None
    time: str


class EventPage(Page):
    items: list[Event]


class WorkflowSummary(Schema):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    module: str
    version: str
    input_schema: Any = None
    options: dict[str, Any]
    is_active: bool


class WorkflowPage(Page):
    items: list[WorkflowSummary]


class WorkflowStats(Schema):
    window_days: int
    total: int
    by_status: dict[str, int]
    last_run_at: str | None
    median_duration_seconds: float | None


class WorkflowDetail(WorkflowSummary):
    graphs: list[Any]
    stats: WorkflowStats


class RunBody(Schema):
    input: Any = Field(None, description="The workflow's input (JSON).")


class ResumeBody(Schema):
    input: Any = Field(None, description="What the pause returns (JSON).")
    pause: str | None = Field(None, max_length=200,
                              description="Which pause, by name, when several wait.")


class RerunBody(Schema):
    input: Any = Field(None, description="A different input; the original's when absent.")


class TokenOut(Schema):
    id: int
    user: str
    name: str
    prefix: str
    status: str = Field(description="active, expired or revoked")
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class TokenPage(Page):
    items: list[TokenOut]


class TokenCreate(Schema):
    name: str = Field("", max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown this once, never again.")


class SecretOut(Schema):
    name: str
    description: str
    created_at: str
    updated_at: str
    updated_by: str


class SecretPage(Page):
    items: list[SecretOut]


class SecretSet(Schema):
    value: str = Field(min_length=1, max_length=65536)
    description: str = Field("", max_length=300)
