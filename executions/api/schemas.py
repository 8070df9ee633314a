"""The REST API's request and answer shapes for workflows, executions, events, tokens,
secrets and approvals, and the graph definition's (DESIGN.md: "An execution as JSON",
"An event", "An approval as JSON", "A graph definition as JSON").

Answers are built by the models' ``to_dict`` (the same JSON as ``flux … --json``);
these schemas document them in the OpenAPI schema (and through it the front-end's
generated types, ``scripts/api-types``) and check them on the way out. The execution's
schema is derived from flux's ``ExecutionRecord`` (its public fields), not written here.
Lists are ``Paged<Item>`` schemas made by ``executions/api/pagination.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, TypeAdapter, create_model

from flux import store as flux_store
from flux.text import text_problem


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(f"The text {problem}.")
    return value


#: A text field of a request body: any Unicode text a store keeps (no NUL, no lone
#: surrogate: ``flux.text``); anything else is a 422 naming the field.
Text = Annotated[str, AfterValidator(_storable)]


class Error(Schema):
    detail: str
    code: str
    errors: list[Any] | None = None


ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}
MUTATION_ERRORS = {**ERRORS, 409: Error, 413: Error}


class Documented:
    """``Annotated[Any, Documented(T)]``: any JSON is accepted, the schema shows ``T``."""

    def __init__(self, shape: Any) -> None:
        self.shape = shape

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        return handler(TypeAdapter(self.shape).core_schema)


class NodeOptions(Schema):
    model_config = ConfigDict(extra="allow")

    retry_max_attempts: int | None = None
    retry_delay: float | None = None
    retry_backoff: float | None = None
    timeout: float | None = None


class GraphNode(Schema):
    model_config = ConfigDict(extra="allow")

    id: str
    task: str
    options: NodeOptions


class GraphEdge(Schema):
    source: str
    target: str
    condition: str | None = Field(description="A CEL expression over the upstream output, "
                                              "bound as `result`.")


class Point(Schema):
    x: float
    y: float


class GraphDefinition(Schema):
    """A graph definition: what the view draws and the editor edits."""

    name: str
    description: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    start: str
    end: list[str]
    layout: dict[str, Point] | None = Field(None, description="Where the editor draws "
                                                              "each node.")


class Failure(Schema):
    """Why an execution (or a task) failed: ``flux.serialization.encode_error``'s shape."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="The exception's class name, e.g. ValueError.")
    module: str | None = None
    message: str
    args: list[str | int | float | bool | None] | None = None
    attrs: dict[str, str | int | float | bool | None] | None = None
    traceback: str | None = None
    cause: Failure | None = Field(None, description="The error that caused it.")


#: What the public fields mean, where their names do not say it.
_DESCRIPTIONS = {
    "status": "created, queued, running, paused, sleeping, interrupted, completed, failed, "
              "cancelling or cancelled",
    "input": "The workflow's input (encoded JSON).",
    "output": "The workflow's result once completed (encoded JSON).",
    "error": "Why it failed: {type, message, ...}, or null.",
    "parent_id": "The execution this one re-runs.",
    "actor": "Who started it (a username).",
    "worker": "The worker running it (host:pid).",
    "wake_at": "When a sleeping execution wakes.",
    "parent_execution_id": "The execution whose call() started this one.",
    "continued_from": "The execution this one continues (continue_as_new).",
    "continued_as": "The execution that continues this one (continue_as_new).",
    "waiting_for": "What a suspended run waits for: items of kind pause, sleep, child or "
                   "event (docs/workflows.md).",
    "deadline": "When the whole run times out.",
    "progress": "The last progress() value of each task, by task id: {name, value, time}.",
}


def _api_type(name: str) -> Any:
    """A record field's type in the JSON: times are ISO 8601 strings."""
    hint = flux_store.field_type(name)
    if flux_store.field_kind(name) == "time":
        optional = type(None) in getattr(hint, "__args__", ())
        return str | None if optional else str
    return hint


def _record_field(name: str) -> tuple[Any, Any]:
    extra = {"format": "date-time"} if flux_store.field_kind(name) == "time" else None
    return (_api_type(name), Field(..., description=_DESCRIPTIONS.get(name),
                                   json_schema_extra=extra))


#: An execution as JSON (DESIGN.md): the public fields of flux's ExecutionRecord (the one
#: definition, ``flux/store.py``), each always present, plus what the web app adds.
_ExecutionFields = create_model(
    "ExecutionFields", __base__=Schema,
    **{name: _record_field(name) for name in flux_store.PUBLIC_FIELDS})


class Waiting(Schema):
    """One thing a suspended execution waits for (``waiting_for``; docs/workflows.md)."""

    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="pause, sleep, child or event")
    name: str | None = Field(None, description="The pause's or the event's name.")
    title: str | None = Field(None, description="The pause's title.")
    task_id: str | None = Field(None, description="The pause's task id.")
    until: str | None = Field(None, description="When a sleep ends, or an event wait times "
                                                "out.", json_schema_extra={"format": "date-time"})
    match: dict[str, Any] | None = Field(
        None, description="The fields an event's payload must hold (any JSON values).")
    execution_id: str | None = Field(None, description="The child execution's id.")
    workflow: str | None = Field(None, description="The child's workflow.")
    status: str | None = Field(None, description="The child's status.")


class TaskProgress(Schema):
    name: str = Field(description="The task's name.")
    value: Any = Field(description="The last value it passed to progress().")
    time: str = Field(json_schema_extra={"format": "date-time"})


class Execution(_ExecutionFields):
    model_config = ConfigDict(extra="allow")

    waiting_for: list[Waiting] | None = Field(description=_DESCRIPTIONS["waiting_for"])
    progress: dict[str, TaskProgress] = Field(description=_DESCRIPTIONS["progress"])

    error: Annotated[Any, Documented(Failure | None)] = Field(
        description=_DESCRIPTIONS["error"])

    workflow_version: str | None = Field(None, description="Short sha of the workflow's "
                                                           "source it started with.")
    # How it came to start (Execution.start_fields: the web app's, not the engine's).
    schedule: str | None = Field(None, description="The schedule that started it.")
    scheduled_for: str | None = Field(None, description="The fire time it ran for.",
                                      json_schema_extra={"format": "date-time"})
    idempotency_key: str | None = Field(None, description="A repeated start with this key "
                                                          "returns this execution.")
    priority: int = Field(0, description="Higher runs first.")
    tags: dict[str, str] = Field(default_factory=dict, description="Business data to "
                                                                   "search by.")
    waiting_reason: str | None = Field(None, description="Why a queued run has not started "
                                                         "(a concurrency slot).")


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


class Event(Schema):
    seq: int = Field(description="1, 2, 3… with no gaps.")
    type: str = Field(description="An ExecutionEventType name, e.g. TASK_COMPLETED.")
    name: str
    source_id: str
    parent_id: str | None
    attempt: int
    value: Any = None
    time: str


class WorkflowOptions(Schema):
    model_config = ConfigDict(extra="allow")

    durable: bool | None = None
    recover_on_worker_loss: bool | None = None
    max_recovery_attempts: int | None = None
    secret_requests: list[str] | None = None
    output_storage: str | None = None


class WorkflowSummary(Schema):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    module: str
    version: str
    input_schema: Any = None
    options: Annotated[Any, Documented(WorkflowOptions)]
    is_active: bool


class WorkflowStats(Schema):
    window_days: int
    total: int
    by_status: dict[str, int]
    last_run_at: str | None
    median_duration_seconds: float | None


class WorkflowDetail(WorkflowSummary):
    graphs: Annotated[Any, Documented(list[GraphDefinition])] = Field(
        description="The Graphs its code uses, as the dashboard draws them.")
    stats: WorkflowStats


class RunBody(Schema):
    input: Any = Field(None, description="The workflow's input (JSON).")
    idempotency_key: str | None = Field(
        None, max_length=200, description="A run of this workflow with this key already: "
                                          "answered 200 with it, nothing started.")
    priority: int = Field(0, ge=-1000, le=1000, description="Higher runs first.")
    tags: dict[str, str] | None = Field(None, description="An object of strings.")


class ResumeBody(Schema):
    input: Any = Field(None, description="What the pause returns (JSON).")
    pause: Text | None = Field(None, max_length=200,
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


class TokenCreate(Schema):
    name: Text = Field("", max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown this once, never again.")


class SecretOut(Schema):
    name: str
    description: str
    created_at: str
    updated_at: str
    updated_by: str


class SecretSet(Schema):
    value: Text = Field(min_length=1, max_length=65536)
    description: Text = Field("", max_length=300)


class ApprovalOut(Schema):
    """An approval as JSON (DESIGN.md), plus what the inbox shows."""

    model_config = ConfigDict(extra="allow")

    id: int
    execution_id: str
    workflow: str
    pause_name: str
    status: str = Field(description="pending, approved, rejected, expired or cancelled")
    title: str
    requested_at: str = Field(json_schema_extra={"format": "date-time"})
    deadline: str | None = Field(json_schema_extra={"format": "date-time"})
    decided_by: str | None
    decided_at: str | None = Field(json_schema_extra={"format": "date-time"})
    comment: str | None
    input: Any = Field(description="What the decision answered the pause with.")
    source_id: str = Field(description="The pause task's id (what a resume names).")
    description: str = Field(description="Markdown.")
    description_html: str = Field(description="The description rendered and sanitized.")
    schema_: Any = Field(alias="schema", description="The JSON schema the input must match.")
    approvers: list[str]
    groups: list[str]
    forbid_self_approval: bool
    on_deadline: str
    default: Any
    output: Any
    started_by: str | None
    url: str
    execution_url: str


class ApprovalDetail(ApprovalOut):
    may_decide: bool = Field(description="Whether the caller may decide it now.")


class BulkResult(Schema):
    id: int
    ok: bool
    approval: ApprovalOut | None = None
    status: int | None = Field(None, description="The error's HTTP status when not ok.")
    code: str | None = None
    detail: str | None = None


class BulkOut(Schema):
    items: list[BulkResult]
