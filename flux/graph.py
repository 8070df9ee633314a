"""``Graph``: tasks wired as a DAG, run as one task whose nodes are its children.

A node runs once every node with an edge into it has finished (run or been
skipped) and at least one of those edges is *active*: its source ran and its
condition (if any: a function or an async function) holds for the source's
output. A node with incoming edges but none active is skipped. The start node
receives the graph's input; a node with one active incoming edge receives
that upstream output; a node with several receives their outputs as
positional arguments in the order its edges were added (``join(left,
right)`` after ``add_edge("l", "join")``, ``add_edge("r", "join")``), or, when
its task takes exactly one parameter, the dict ``{upstream node: output}``.
Independent branches run concurrently.

The result: the output of the one end node that ran, or a dict ``{end node:
output}`` when several ran, or None when none did.

The graph's structure is recorded (``GRAPH_STARTED``) so a dashboard can
draw it; each node task's ``TASK_STARTED`` names its node; skipped nodes get
``GRAPH_NODE_SKIPPED``.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from flux.batch import merge_suspensions
from flux.errors import (
    ExecutionCancelled,
    ExecutionError,
    ExecutionSuspended,
    GraphValidationError,
    LeaseLostError,
)


@dataclass
class Node:
    name: str
    action: Any  # a flux Task
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Edge:
    source: str
    target: str
    condition: Callable[[Any], bool | Awaitable[bool]] | None = None

    @property
    def condition_text(self) -> str | None:
        return describe_condition(self.condition)


class Graph:
    """Build with ``add_node``/``add_edge``/``start_with``/``end_with``; ``await graph(input)``."""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = name
        self.description = description
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.start: str | None = None
        self.end: list[str] = []
        self._task: Any = None

    # building ----------------------------------------------------------------
    def add_node(self, name: str, action: Callable[..., Any], **options: Any) -> Graph:
        from flux.taskdef import Task

        if name in self.nodes:
            raise ValueError(f"Graph '{self.name}' already has a node named '{name}'")
        if not isinstance(action, Task):
            action = Task(action, register=False)
        if options:
            action = action.with_options(**options)
        self.nodes[name] = Node(name, action, options)
        self._task = None
        return self

    def add_edge(self, source: str, target: str,
                 condition: Callable[[Any], bool | Awaitable[bool]] | None = None) -> Graph:
        self.edges.append(Edge(source, target, condition))
        return self

    def start_with(self, name: str) -> Graph:
        self.start = name
        return self

    def end_with(self, name: str) -> Graph:
        if name not in self.end:
            self.end.append(name)
        return self

    # checking ------------------------------------------------------------------
    def problems(self) -> list[dict[str, Any]]:
        """Every structural problem, each naming the node or edge at fault."""
        out: list[dict[str, Any]] = []
        if not self.nodes:
            out.append({"code": "empty", "message": "Graph has no nodes"})
        if self.start is None:
            out.append({"code": "no_start",
                        "message": "Graph has no start node",
                        "hint": "mark one node as the start (in code: start_with(node))"})
        elif self.start not in self.nodes:
            out.append({"code": "unknown_node", "node": self.start,
                        "message": f"Start node '{self.start}' is not a node of the graph"})
        if not self.end:
            out.append({"code": "no_end",
                        "message": "Graph has no end node",
                        "hint": "mark at least one node as an end (in code: end_with(node))"})
        for name in self.end:
            if name not in self.nodes:
                out.append({"code": "unknown_node", "node": name,
                            "message": f"End node '{name}' is not a node of the graph"})
        for e in self.edges:
            for end in (e.source, e.target):
                if end not in self.nodes:
                    out.append({"code": "unknown_node",
                                "edge": {"source": e.source, "target": e.target},
                                "message": f"Edge {e.source} -> {e.target} refers to unknown "
                                           f"node '{end}'"})
        if self.start in self.nodes:
            for e in self.edges:
                if e.target == self.start:
                    out.append({"code": "edge_into_start",
                                "edge": {"source": e.source, "target": e.target},
                                "message": f"Edge {e.source} -> {e.target} points into the "
                                           "start node"})
            reachable = self._reachable(self.start)
            for name in self.nodes:
                if name not in reachable:
                    out.append({"code": "unreachable", "node": name,
                                "message": f"Node '{name}' is not reachable from the start "
                                           f"node '{self.start}'"})
        cycle = self._find_cycle()
        if cycle:
            out.append({"code": "cycle", "node": cycle[0], "cycle": cycle,
                        "message": "Graph has a cycle: " + " -> ".join(cycle + [cycle[0]])})
        return out

    def validate(self) -> Graph:
        """Raise GraphValidationError listing every problem; return self when sound."""
        errors = self.problems()
        if errors:
            raise GraphValidationError(self.name, errors)
        return self

    def _outgoing(self) -> dict[str, list[Edge]]:
        out: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        for e in self.edges:
            if e.source in out and e.target in self.nodes:
                out[e.source].append(e)
        return out

    def _reachable(self, start: str) -> set[str]:
        out, seen, todo = self._outgoing(), {start}, [start]
        while todo:
            for e in out.get(todo.pop(), ()):
                if e.target not in seen:
                    seen.add(e.target)
                    todo.append(e.target)
        return seen

    def _find_cycle(self) -> list[str] | None:
        out = self._outgoing()
        color: dict[str, int] = {}
        stack: list[str] = []

        def visit(n: str) -> list[str] | None:
            color[n] = 1
            stack.append(n)
            for e in out.get(n, ()):
                c = color.get(e.target, 0)
                if c == 1:
                    return stack[stack.index(e.target):]
                if c == 0:
                    found = visit(e.target)
                    if found:
                        return found
            stack.pop()
            color[n] = 2
            return None

        for n in self.nodes:
            if color.get(n, 0) == 0:
                found = visit(n)
                if found:
                    return found
        return None

    # describing ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The graph as the JSON the dashboard draws (and the editor edits)."""
        return {
            "name": self.name,
            "description": self.description,
            "nodes": [{"id": n.name, "task": n.action.name, "options": _jsonable(n.options)}
                      for n in self.nodes.values()],
            "edges": [{"source": e.source, "target": e.target, "condition": e.condition_text}
                      for e in self.edges],
            "start": self.start,
            "end": list(self.end),
        }

    # running ------------------------------------------------------------------
    def __call__(self, input: Any = None) -> Any:
        self.validate()
        if self._task is None:
            from flux.taskdef import Task

            graph = self

            async def run_graph(input: Any = None) -> Any:
                return await graph._run(input)

            literal = self.name.replace("{", "{{").replace("}", "}}")  # not a template
            self._task = Task(run_graph, name=f"graph_{literal}", register=False)
        return self._task(input)

    async def _run(self, input: Any) -> Any:
        from flux.domain.events import ExecutionEventType as T
        from flux.run import current_node, current_run, current_task

        run = current_run.get()
        graph_id = current_task.get()
        if run is not None and graph_id is not None and graph_id not in run.index.graphs:
            run.emit(T.GRAPH_STARTED, self.name, graph_id, {"graph": self.to_dict()},
                       run.index.tasks[graph_id].parent_id if graph_id in run.index.tasks
                       else None)
        incoming: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        for e in self.edges:
            incoming[e.target].append(e)
        outputs: dict[str, Any] = {}
        state: dict[str, str] = {}  # node -> "running" | "done" | "skipped" | "stopped"
        running: dict[asyncio.Future[Any], str] = {}
        error: BaseException | None = None
        suspended: ExecutionSuspended | None = None

        def ready(n: str) -> bool:
            return n not in state and all(state.get(e.source) in ("done", "skipped")
                                          for e in incoming[n])

        async def schedule() -> None:
            progress = True
            while progress and error is None:
                progress = False
                for n in self.nodes:
                    if not ready(n):
                        continue
                    progress = True
                    if n == self.start:
                        upstream, active = {n: input}, True
                    else:
                        upstream = {e.source: outputs[e.source] for e in incoming[n]
                                    if state[e.source] == "done"
                                    and await self._holds(e, outputs)}
                        active = bool(upstream)
                    if not active:
                        state[n] = "skipped"
                        if (run is not None and graph_id is not None
                                and (graph_id, n) not in run.index.skipped):
                            run.emit(T.GRAPH_NODE_SKIPPED, n, graph_id, {"node": n},
                                       None)
                        continue
                    state[n] = "running"
                    token = current_node.set(n)
                    try:
                        call = _call_node(self.nodes[n].action, upstream)
                    finally:
                        current_node.reset(token)
                    running[asyncio.ensure_future(call)] = n

        try:
            await schedule()
            while running:
                done, _ = await asyncio.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
                for f in done:
                    n = running.pop(f)
                    exc = f.exception() if not f.cancelled() else asyncio.CancelledError()
                    if exc is None:
                        outputs[n] = f.result()
                        state[n] = "done"
                    elif isinstance(exc, ExecutionCancelled | LeaseLostError |
                                    asyncio.CancelledError):
                        raise exc
                    elif isinstance(exc, ExecutionSuspended):
                        state[n] = "stopped"
                        suspended = merge_suspensions(suspended, exc)
                    else:
                        state[n] = "stopped"
                        error = error or exc
                await schedule()
        except BaseException:
            for f in running:
                f.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            raise
        if suspended is not None:
            raise suspended
        if error is not None:
            raise error
        reached = [n for n in self.end if state.get(n) == "done"]
        if not reached:
            return None
        if len(reached) == 1:
            return outputs[reached[0]]
        return {n: outputs[n] for n in reached}

    async def _holds(self, edge: Edge, outputs: dict[str, Any]) -> bool:
        """Whether ``edge``'s condition holds; a sync or an async condition (awaited)."""
        if edge.condition is None:
            return True
        try:
            verdict = edge.condition(outputs[edge.source])
            if inspect.isawaitable(verdict):
                verdict = await verdict
            return bool(verdict)
        except Exception as exc:
            raise ExecutionError(
                exc, f"Condition on edge {edge.source} -> {edge.target} of graph "
                     f"'{self.name}' failed: {type(exc).__name__}: {exc}") from exc


def _call_node(action: Any, upstream: dict[str, Any]) -> Any:
    """Call a node's task with its active upstream outputs (``upstream``, in the order the
    edges were added): none to a task without parameters; one as its argument; several
    as positional arguments (flux-core's rule), or as the dict ``{upstream node:
    output}`` to a task that takes exactly one parameter."""
    params = [p for p in action.signature.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
              and p.name != "secrets"]
    if not params:
        return action()
    if len(upstream) == 1:
        return action(next(iter(upstream.values())))
    if len(params) == 1 and params[0].kind is not params[0].VAR_POSITIONAL:
        return action(upstream)
    return action(*upstream.values())


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, str | int | float | bool | type(None) | list)
                else getattr(v, "__qualname__", repr(v))) for k, v in options.items()}


def describe_condition(fn: Callable[..., Any] | None) -> str | None:
    """A condition's source text for people: a CEL expression, a lambda, or a name."""
    if fn is None:
        return None
    text = getattr(fn, "__flux_source__", None)
    if text:
        return str(text)
    name = getattr(fn, "__name__", "")
    if name != "<lambda>":
        return getattr(fn, "__qualname__", name) or repr(fn)
    try:
        source = textwrap.dedent(inspect.getsource(fn)).strip()
    except (OSError, TypeError):
        return "lambda"
    return _lambda_text(source, fn) or "lambda"


def _lambda_text(source: str, fn: Callable[..., Any]) -> str | None:
    candidates = [source, source.lstrip("."), f"f({source.lstrip('.')}"]
    for text in candidates:
        for attempt in (text, text.rstrip(",)") + ")"):
            try:
                tree = ast.parse(attempt)
            except SyntaxError:
                continue
            lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
            code = getattr(fn, "__code__", None)
            for lam in lambdas:
                segment = ast.get_source_segment(attempt, lam)
                if segment and (code is None or len(lambdas) == 1
                                or _same_args(lam, code)):
                    return segment
            if lambdas:
                return ast.get_source_segment(attempt, lambdas[0])
    return None


def _same_args(lam: ast.Lambda, code: Any) -> bool:
    return [a.arg for a in lam.args.args] == list(code.co_varnames[: code.co_argcount])
