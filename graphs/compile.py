"""Graph definitions (the editor's JSON) checked and compiled into flux Graphs and Workflows.

A definition is ``{"name", "description", "nodes": [{"id", "task", "options"}],
"edges": [{"source", "target", "condition"}], "start", "end": [ids]}``
(DESIGN.md), plus the editor's ``"layout": {node id: {"x", "y"}}`` (where each
node is drawn: saved with the version, no effect on running). Nodes run
registered tasks (``flux.taskdef.task_registry``) with per-node options; a
condition is CEL over the upstream output (``graphs.cel``).

* :func:`problems` lists everything wrong, each naming the node (``{"node": id}``)
  or edge (``{"edge": {"source", "target"}}``) at fault, with a ``code`` and a
  ``message``: the definition's shape, unknown tasks, bad options, bad CEL, and
  the engine's own structural checks (``Graph.problems()``: start, end,
  unreachable nodes, cycles).
* :func:`compile_graph` builds the flux ``Graph`` (or raises
  :class:`GraphDefinitionError` with those problems); :func:`build_workflow`
  wraps it as a ``Workflow`` of the same name that is *not* put in the registry
  (``graphs.resolver`` hands it to the engine, pinned to a version).
* :func:`python_code` writes the equivalent Python; :func:`from_code_graph`
  turns a code-defined Graph's ``to_dict()`` into an editable definition.
"""

from __future__ import annotations

import ast
import json
import math
import re
import sys
from typing import Any

from flux.graph import Graph
from flux.taskdef import Task, task_registry
from flux.workflowdef import Workflow, registry
from graphs.cel import ConditionError, compile_condition

#: Per-node options: name -> (kind, check, what the check means).
OPTIONS: dict[str, tuple[type, Any, str]] = {
    "retry_max_attempts": (int, lambda v: v >= 0, "a whole number, 0 or more"),
    "retry_delay": (float, lambda v: v >= 0, "a number of seconds, 0 or more"),
    "retry_backoff": (float, lambda v: v > 0, "a number greater than 0"),
    "timeout": (float, lambda v: v is None or v > 0, "a number of seconds greater than 0"),
}
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$")
NODE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
NAME_HELP = "letters, digits, '_', '-' and '.', starting with a letter or '_'"


class GraphDefinitionError(ValueError):
    """A definition that cannot be compiled; ``errors`` lists each problem."""

    def __init__(self, name: str, errors: list[dict[str, Any]]) -> None:
        self.name = name
        self.errors = errors
        lines = "; ".join(e["message"] for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"Graph '{name}' is not valid: {lines}{more}")


def normalize(definition: Any) -> dict[str, Any]:
    """The definition's known keys with their default values (no checking)."""
    d = definition if isinstance(definition, dict) else {}
    end = d.get("end")
    return {
        "name": d.get("name").strip() if isinstance(d.get("name"), str) else d.get("name"),
        "description": d.get("description") or "",
        "nodes": [{"id": n.get("id"), "task": n.get("task"),
                   "options": n.get("options") if n.get("options") is not None else {}}
                  if isinstance(n, dict) else n for n in _list(d.get("nodes"))],
        "edges": [{"source": e.get("source"), "target": e.get("target"),
                   "condition": (e.get("condition") or None)
                   if not isinstance(e.get("condition"), str)
                   else (e["condition"].strip() or None)}
                  if isinstance(e, dict) else e for e in _list(d.get("edges"))],
        "start": d.get("start") or None,
        "end": [end] if isinstance(end, str) else _list(end),
        "layout": _layout(d.get("layout"), d.get("nodes")),
    }


def _layout(layout: Any, nodes: Any) -> Any:
    """Where the editor drew each node: ``{node id: {"x", "y"}}`` (positions of ids that
    are not nodes are dropped; a malformed layout is kept for ``_build`` to report)."""
    if layout is None:
        return {}
    if not isinstance(layout, dict):
        return layout
    ids = {n.get("id") for n in _list(nodes)
           if isinstance(n, dict) and isinstance(n.get("id"), str)}
    return {k: v for k, v in layout.items() if k in ids}


def problems(definition: Any, *, tasks: dict[str, Task] | None = None) -> list[dict[str, Any]]:
    """Everything wrong with ``definition`` (an empty list when it compiles)."""
    _, errors = _build(normalize(definition), task_registry if tasks is None else tasks)
    return errors


def compile_graph(definition: Any, *, tasks: dict[str, Task] | None = None) -> Graph:
    """The flux Graph for ``definition``; raises GraphDefinitionError listing its problems."""
    d = normalize(definition)
    graph, errors = _build(d, task_registry if tasks is None else tasks)
    if errors:
        raise GraphDefinitionError(str(d.get("name") or "?"), errors)
    return graph


def build_workflow(definition: Any, *, name: str | None = None) -> Workflow:
    """A Workflow named ``name`` (default: the graph's) that runs the compiled graph.

    It is kept out of ``flux.workflowdef.registry``: the registry is for
    code-defined workflows, and saved graphs reach the engine through the
    resolver, version by version.
    """
    graph = compile_graph(definition)

    async def run_saved_graph(ctx: Any) -> Any:
        return await graph(ctx.input)

    wf_name = name or graph.name
    previous = registry.get(wf_name)
    wf = Workflow(run_saved_graph, name=wf_name,
                  description=graph.description or f"Graph '{graph.name}' drawn in the editor")
    if previous is not None:
        registry[wf_name] = previous  # Workflow() registers itself; undo that
    elif registry.get(wf_name) is wf:
        del registry[wf_name]
    wf.graph = graph  # type: ignore[attr-defined]
    return wf


# building and checking ------------------------------------------------------------------

def _build(d: dict[str, Any], tasks: dict[str, Task]) -> tuple[Graph, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []

    def graph_error(code: str, message: str) -> None:
        errors.append({"code": code, "message": message})

    def node_error(node: str, code: str, message: str) -> None:
        errors.append({"code": code, "node": node, "message": message})

    def edge_error(edge: dict, code: str, message: str) -> None:
        errors.append({"code": code, "edge": {"source": edge["source"],
                                              "target": edge["target"]}, "message": message})

    name = d["name"]
    if not isinstance(name, str) or not name:
        graph_error("missing_name", "The graph needs a name (it is also the workflow's name).")
        name = "unnamed"
    elif not NAME_PATTERN.match(name):
        graph_error("bad_name", f"The name '{name}' is not allowed: use {NAME_HELP} "
                                "(at most 200).")
    if not isinstance(d["description"], str):
        graph_error("invalid_definition", "The description must be text.")
    graph = Graph(name, d["description"] if isinstance(d["description"], str) else "")
    layout = d.get("layout", {})
    if not isinstance(layout, dict):
        graph_error("bad_layout", "The layout must map node ids to {\"x\": number, "
                                  "\"y\": number}.")
    else:
        for nid, xy in layout.items():
            if not (isinstance(xy, dict) and set(xy) == {"x", "y"}
                    and all(isinstance(xy[k], int | float) and not isinstance(xy[k], bool)
                            and math.isfinite(xy[k]) for k in ("x", "y"))):
                node_error(nid, "bad_layout", f"The position of '{nid}' must be "
                                              "{\"x\": number, \"y\": number}.")

    for i, node in enumerate(d["nodes"]):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node["id"]:
            graph_error("invalid_definition", f"nodes[{i}] needs an 'id' (text).")
            continue
        nid = node["id"]
        if nid in graph.nodes:
            node_error(nid, "duplicate_node", f"Two nodes are named '{nid}'.")
            continue
        if not NODE_PATTERN.match(nid):
            node_error(nid, "bad_node_id", f"The node id '{nid}' is not allowed: use "
                                           f"{NAME_HELP} (at most 100).")
        options, option_errors = _options(node.get("options"))
        for message in option_errors:
            node_error(nid, "bad_option", message)
        task_name = node.get("task")
        task = tasks.get(task_name) if isinstance(task_name, str) else None
        if not task_name or not isinstance(task_name, str):
            node_error(nid, "missing_task", f"Node '{nid}' has no task: choose one.")
        elif task is None:
            node_error(nid, "unknown_task", f"Node '{nid}' runs '{task_name}', which is not a "
                                            "registered task.")
        try:
            graph.add_node(nid, task if task is not None else _placeholder(str(task_name)),
                           **(options if task is not None else {}))
        except (TypeError, ValueError) as exc:
            node_error(nid, "bad_option", f"Node '{nid}': {exc}")
            graph.add_node(nid, task if task is not None else _placeholder(str(task_name)))

    seen: set[tuple[str, str]] = set()
    for i, edge in enumerate(d["edges"]):
        if (not isinstance(edge, dict) or not isinstance(edge.get("source"), str)
                or not isinstance(edge.get("target"), str)):
            graph_error("invalid_definition", f"edges[{i}] needs a 'source' and a 'target' "
                                              "(node ids).")
            continue
        key = (edge["source"], edge["target"])
        if key in seen:
            edge_error(edge, "duplicate_edge", f"Edge {key[0]} -> {key[1]} is there twice.")
            continue
        seen.add(key)
        condition = None
        text = edge.get("condition")
        if text is not None and not isinstance(text, str):
            edge_error(edge, "bad_condition", "A condition must be text (a CEL expression).")
        elif text:
            try:
                condition = compile_condition(text, f"edge {key[0]} -> {key[1]}")
            except ConditionError as exc:
                edge_error(edge, "bad_condition", f"Edge {key[0]} -> {key[1]}: {exc}")
        graph.add_edge(key[0], key[1], condition)

    if d["start"] is not None and not isinstance(d["start"], str):
        graph_error("invalid_definition", "'start' must be a node id.")
    else:
        graph.start = d["start"]
    for end in d["end"]:
        if isinstance(end, str):
            graph.end_with(end)
        else:
            graph_error("invalid_definition", "'end' must list node ids.")
    errors.extend(graph.problems())  # the engine's own checks and messages
    return graph, errors


def _options(raw: Any) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(raw, dict):
        return {}, ["Options must be an object like {\"retry_max_attempts\": 3}."]
    out: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in raw.items():
        spec = OPTIONS.get(key)
        if spec is None:
            errors.append(f"Unknown option '{key}': use {', '.join(OPTIONS)}.")
            continue
        kind, check, meaning = spec
        if value is None and key == "timeout":
            out[key] = None
            continue
        ok = (isinstance(value, int | float) and not isinstance(value, bool)
              and (kind is float or float(value).is_integer()) and check(value)
              and value == value and value not in (float("inf"), float("-inf")))
        if not ok:
            errors.append(f"Option '{key}' must be {meaning}, not {json.dumps(value)}.")
            continue
        out[key] = int(value) if kind is int else value
    return out, errors


def _placeholder(name: str) -> Task:
    """A stand-in for an unknown task so the structural checks still run."""

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise LookupError(f"Task '{name}' is not registered")

    return Task(missing, name=name or "missing", register=False)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# Python export ------------------------------------------------------------------------

def python_code(definition: Any) -> str:
    """The equivalent Python: ``Graph(...)`` built from the same tasks, and a workflow.

    Conditions stay CEL (``cel("...")`` compiles them as the editor does), so the
    code builds a Graph whose ``to_dict()`` equals the saved one.
    """
    d = normalize(definition)
    imports: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    used: set[str] = {"Graph", "cel", "workflow", "ExecutionContext", "graph"}
    notes: list[str] = []
    for node in d["nodes"]:
        name = node["task"]
        if name in aliases:
            continue
        task = task_registry.get(name)
        if task is None:
            alias = _identifier(name)
            notes.append(f"# Task '{name}' is not registered in this process: define it.")
        else:
            module, attr = _task_location(task)
            alias = attr
            n = 2
            while alias in used:
                alias, n = f"{attr}_{n}", n + 1
            imports.setdefault(module, []).append(attr if alias == attr else f"{attr} as {alias}")
        used.add(alias)
        aliases[name] = alias
    lines = ['"""Graph ' + repr(d["name"]) + ', exported from Fluxweb\'s editor."""', "",
             "from flux import ExecutionContext, workflow",
             "from flux.tasks import Graph",
             "from graphs.cel import compile_condition as cel"]
    for module in sorted(imports):
        lines.append(f"from {module} import {', '.join(imports[module])}")
    lines += [""] + notes + ([""] if notes else [])
    head = f"Graph({d['name']!r}"
    if d["description"]:
        head += f", description={d['description']!r}"
    lines += ["graph = (", f"    {head})"]
    for node in d["nodes"]:
        opts = "".join(f", {k}={v!r}" for k, v in (node["options"] or {}).items())
        lines.append(f"    .add_node({node['id']!r}, {aliases[node['task']]}{opts})")
    for edge in d["edges"]:
        cond = f", condition=cel({edge['condition']!r})" if edge["condition"] else ""
        lines.append(f"    .add_edge({edge['source']!r}, {edge['target']!r}{cond})")
    if d["start"]:
        lines.append(f"    .start_with({d['start']!r})")
    for end in d["end"]:
        lines.append(f"    .end_with({end!r})")
    lines += ["    .validate()", ")", "", "",
              f"@workflow.with_options(name={d['name']!r})",
              f"async def {_identifier(str(d['name']))}(ctx: ExecutionContext):",
              f"    \"\"\"{(d['description'] or 'Runs the graph.').splitlines()[0]}\"\"\"",
              "    return await graph(ctx.input)", ""]
    return "\n".join(lines)


def _task_location(task: Task) -> tuple[str, str]:
    module = getattr(task.func, "__module__", None) or "__main__"
    namespace = vars(sys.modules[module]) if module in sys.modules else {}
    for attr, value in namespace.items():
        if value is task:
            return module, attr
    return module, task.func.__name__


def _identifier(name: str) -> str:
    ident = re.sub(r"\W", "_", name)
    return ident if ident and not ident[0].isdigit() else f"_{ident}"


# importing a code-defined Graph ---------------------------------------------------------

def from_code_graph(graph: dict[str, Any], name: str) -> dict[str, Any]:
    """An editable definition from a code-defined Graph's ``to_dict()``, named ``name``.

    Lambda conditions are translated to CEL where they are simple expressions
    (comparisons, ``and``/``or``/``not``, indexing, ``len``); any other keeps its
    text, which the editor then marks as a condition to rewrite.
    """
    return {
        "name": name,
        "description": graph.get("description") or "",
        "nodes": [{"id": n["id"], "task": n["task"],
                   "options": {k: v for k, v in (n.get("options") or {}).items()
                               if k in OPTIONS}}
                  for n in graph.get("nodes") or []],
        "edges": [{"source": e["source"], "target": e["target"],
                   "condition": lambda_to_cel(e["condition"]) if e.get("condition") else None}
                  for e in graph.get("edges") or []],
        "start": graph.get("start"),
        "end": list(graph.get("end") or []),
    }


def lambda_to_cel(text: str) -> str:
    """``lambda r: r > 0 and not r == 3`` -> ``result > 0 && !(result == 3)``, else ``text``."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return text
    if not isinstance(tree, ast.Lambda) or len(tree.args.args) != 1:
        return text
    try:
        out = _Cel(tree.args.args[0].arg).visit(tree.body)
    except _Untranslatable:
        return text
    if isinstance(tree.body, ast.BoolOp | ast.BinOp | ast.IfExp):
        out = out[1:-1]  # the outermost parentheses
    return out


class _Untranslatable(Exception):
    pass


class _Cel(ast.NodeVisitor):
    OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
           ast.GtE: ">=", ast.In: "in", ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
           ast.Div: "/", ast.Mod: "%"}

    def __init__(self, param: str) -> None:
        self.param = param

    def generic_visit(self, node: ast.AST) -> str:
        raise _Untranslatable(type(node).__name__)

    def visit_Name(self, node: ast.Name) -> str:
        if node.id == self.param:
            return "result"
        raise _Untranslatable(node.id)

    def visit_Constant(self, node: ast.Constant) -> str:
        if node.value is None or isinstance(node.value, bool):
            return {None: "null", True: "true", False: "false"}[node.value]
        if isinstance(node.value, str):
            return json.dumps(node.value)
        if isinstance(node.value, int | float):
            return repr(node.value)
        raise _Untranslatable(repr(node.value))

    def visit_BoolOp(self, node: ast.BoolOp) -> str:
        op = " && " if isinstance(node.op, ast.And) else " || "
        return "(" + op.join(self.visit(v) for v in node.values) + ")"

    def visit_UnaryOp(self, node: ast.UnaryOp) -> str:
        if isinstance(node.op, ast.Not):
            return f"!({self.visit(node.operand)})"
        if isinstance(node.op, ast.USub):
            return f"-{self.visit(node.operand)}"
        raise _Untranslatable("unary")

    def visit_BinOp(self, node: ast.BinOp) -> str:
        op = self.OPS.get(type(node.op))
        if op is None:
            raise _Untranslatable("binop")
        return f"({self.visit(node.left)} {op} {self.visit(node.right)})"

    def visit_Compare(self, node: ast.Compare) -> str:
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.NotIn):
                parts.append(f"!({self.visit(left)} in {self.visit(right)})")
            elif type(op) in self.OPS:
                parts.append(f"{self.visit(left)} {self.OPS[type(op)]} {self.visit(right)}")
            else:
                raise _Untranslatable("compare")
            left = right
        return parts[0] if len(parts) == 1 else "(" + " && ".join(parts) + ")"

    def visit_Subscript(self, node: ast.Subscript) -> str:
        return f"{self.visit(node.value)}[{self.visit(node.slice)}]"

    def visit_Attribute(self, node: ast.Attribute) -> str:
        return f"{self.visit(node.value)}.{node.attr}"

    def visit_Call(self, node: ast.Call) -> str:
        if node.keywords:
            raise _Untranslatable("keywords")
        args = [self.visit(a) for a in node.args]
        if isinstance(node.func, ast.Name) and node.func.id == "len" and len(args) == 1:
            return f"size({args[0]})"
        methods = {"startswith": "startsWith", "endswith": "endsWith"}
        if isinstance(node.func, ast.Attribute) and node.func.attr in methods:
            return f"{self.visit(node.func.value)}.{methods[node.func.attr]}({', '.join(args)})"
        raise _Untranslatable("call")

    def visit_IfExp(self, node: ast.IfExp) -> str:
        return f"({self.visit(node.test)} ? {self.visit(node.body)} : {self.visit(node.orelse)})"

    def visit_List(self, node: ast.List) -> str:
        return "[" + ", ".join(self.visit(e) for e in node.elts) + "]"

    visit_Tuple = visit_List
