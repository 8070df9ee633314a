"""The graphs API's request and answer shapes (DESIGN.md: "A graph definition as JSON").

A definition comes in as the editor has it, finished or not: :class:`GraphIn`
documents the shape a valid one has, but accepts any JSON in each field, so that
``graphs.compile.problems`` can answer 422 ``invalid_graph`` with ``errors`` naming
each node or edge at fault (a schema error would name only the first bad field).
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict

from executions.api.schemas import (
    Documented,
    Error,
    GraphDefinition,
    GraphEdge,
    GraphNode,
    NodeOptions,
    Point,
    Text,
)


class GraphIn(Schema):
    """A definition to check or save (``PUT`` also carries the ``version`` it edited).
    Any JSON is accepted in each field; what is wrong answers 422 ``invalid_graph``."""

    model_config = ConfigDict(extra="allow")

    name: Annotated[Any, Documented(str)] = None
    description: Annotated[Any, Documented(str)] = ""
    nodes: Annotated[Any, Documented(list[GraphNode])] = []
    edges: Annotated[Any, Documented(list[GraphEdge])] = []
    start: Annotated[Any, Documented(str)] = None
    end: Annotated[Any, Documented(list[str])] = []
    layout: Annotated[Any, Documented(dict[str, Point])] = None
    version: Annotated[Any, Documented(int | None)] = None


class GraphOut(GraphDefinition):
    """A saved graph at one version."""

    model_config = ConfigDict(extra="allow")

    id: int
    version: int
    latest_version: int
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"},
                            description="When this version was saved.")
    updated_by: str | None


class GraphSummary(Schema):
    id: int
    name: str
    description: str
    version: int
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_by: str | None


class VersionSummary(Schema):
    version: int
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    created_by: str | None
    nodes: int = Field(description="How many nodes.")
    edges: int = Field(description="How many edges.")


class EdgeRef(Schema):
    source: Annotated[Any, Documented(str)]
    target: Annotated[Any, Documented(str)]


class Problem(Schema):
    """One thing wrong with a definition: the graph's, a node's (``node``: its id, as
    sent) or an edge's (``edge``: its ends)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    node: Annotated[Any, Documented(str)] = None
    edge: EdgeRef | None = None


class Invalid(Error):
    """422 ``invalid_graph``: every problem, each naming its node or edge."""

    code: str
    valid: bool = False
    errors: list[Problem]  # type: ignore[assignment]
    definition: Annotated[Any, Documented(GraphDefinition | None)] = Field(
        None, description="The definition an import would have saved.")


class Valid(Schema):
    valid: bool


class RunIn(Schema):
    input: Any = Field(None, description="The graph's input (JSON).")
    version: int | None = Field(None, ge=1, description="Which version; the newest when "
                                                        "absent.")


class ImportIn(Schema):
    workflow: Text
    graph: Text | None = Field(None, description="Which of its Graphs; the first when absent.")
    name: Text | None = Field(None, description="The new graph's name.")


class TaskParameter(Schema):
    name: str
    annotation: str | None
    default: Any
    required: bool


class TaskInfo(Schema):
    """A registered task, as the editor's palette shows it."""

    name: str
    doc: str
    parameters: list[TaskParameter]
    options: NodeOptions
    module: str
