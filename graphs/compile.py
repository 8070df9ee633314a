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
import keyword
import math
import re
import sys
from typing import Any

from flux.graph import Graph
from flux.taskdef import Task, task_registry
from flux.text import text_problems
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

    for bad in text_problems(d):
        where = "/".join(map(str, bad["path"]))
        errors.append({"code": "bad_text", "path": bad["path"],
                       "message": f"{where}: {bad['message']}"})
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

    # The name is shown, never formatted: braces in it are literal (a task name may be a
    # template of its parameters, and an unknown task has none).
    literal = (name or "missing").replace("{", "{{").replace("}", "}}")
    return Task(missing, name=literal, register=False)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


# Python export ------------------------------------------------------------------------

def python_code(definition: Any) -> str:
    """The equivalent Python: ``Graph(...)`` built from the same tasks, and a workflow.

    Conditions stay CEL (``cel("...")`` compiles them as the editor does), so the
    code builds a Graph whose ``to_dict()`` equals the saved one. The module is built
    as an AST and unparsed: every text from the definition is a literal (escaped by
    ``ast.unparse``) and every name an identifier made here, so no definition can
    add code of its own.
    """
    d = normalize(definition)
    used: set[str] = {"Graph", "cel", "workflow", "ExecutionContext", "graph"}
    aliases: dict[Any, str] = {}
    imports: dict[str, list[ast.alias]] = {}
    missing: list[str] = []
    for node in d["nodes"]:
        if not isinstance(node, dict):
            continue
        name = node.get("task")
        key = name if isinstance(name, str) else repr(name)
        if key in aliases:
            continue
        task = task_registry.get(name) if isinstance(name, str) else None
        module, attr = _task_location(task) if task is not None else ("", "")
        if task is None or not _is_module_path(module) or not attr.isidentifier():
            aliases[key] = _free_identifier(str(key), used)
            missing.append(str(key))
            continue
        aliases[key] = alias = _free_identifier(attr, used)
        imports.setdefault(module, []).append(
            ast.alias(attr, None if alias == attr else alias))

    doc = f"Graph {d['name']!r}, exported from Fluxweb's editor."
    if missing:
        doc += ("\n\nThese tasks are not registered in this process: define them: "
                + ", ".join(repr(m) for m in missing) + ".")
    body: list[ast.stmt] = [
        ast.Expr(ast.Constant(doc)),
        ast.ImportFrom("flux", [ast.alias("ExecutionContext"), ast.alias("workflow")], 0),
        ast.ImportFrom("flux.tasks", [ast.alias("Graph")], 0),
        ast.ImportFrom("graphs.cel", [ast.alias("compile_condition", "cel")], 0),
        *(ast.ImportFrom(module, imports[module], 0) for module in sorted(imports)),
    ]
    imports_end = len(body)
    head = [_literal(d["name"])]
    keywords = [ast.keyword("description", _literal(d["description"]))] \
        if d["description"] else []
    body.append(ast.Assign([_name("graph", ast.Store())],
                           ast.Call(_name("Graph"), head, keywords), lineno=0))

    def step(method: str, *args: ast.expr, **kwargs: ast.expr) -> None:
        call = ast.Call(ast.Attribute(_name("graph"), method, ast.Load()), list(args),
                        [ast.keyword(k, v) for k, v in kwargs.items()])
        body.append(ast.Expr(call))

    for node in d["nodes"]:
        if not isinstance(node, dict):
            continue
        task = node.get("task")
        options = node["options"] if isinstance(node["options"], dict) else {}
        step("add_node", _literal(node["id"]),
             _name(aliases[task if isinstance(task, str) else repr(task)]),
             **{k: _literal(v) for k, v in options.items() if isinstance(k, str)
                and k.isidentifier() and not keyword.iskeyword(k)})
    for edge in d["edges"]:
        if not isinstance(edge, dict):
            continue
        condition = ({"condition": ast.Call(_name("cel"), [_literal(edge["condition"])], [])}
                     if edge["condition"] else {})
        step("add_edge", _literal(edge["source"]), _literal(edge["target"]), **condition)
    if d["start"]:
        step("start_with", _literal(d["start"]))
    for end in d["end"]:
        step("end_with", _literal(end))
    step("validate")

    summary = (d["description"] if isinstance(d["description"], str) else "") or \
        "Runs the graph."
    run = ast.Return(ast.Await(ast.Call(_name("graph"), [ast.Attribute(
        _name("ctx"), "input", ast.Load())], [])))
    body.append(ast.AsyncFunctionDef(
        name=_free_identifier(str(d["name"]), used),
        args=ast.arguments(posonlyargs=[], args=[ast.arg("ctx", _name("ExecutionContext"))],
                           kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[ast.Expr(ast.Constant(summary.splitlines()[0] if summary.strip()
                                    else "Runs the graph.")), run],
        decorator_list=[ast.Call(ast.Attribute(_name("workflow"), "with_options", ast.Load()),
                                 [], [ast.keyword("name", _literal(d["name"]))])],
        returns=None, type_params=[]))
    # the docstring, the imports, the graph, the workflow: separated as PEP 8 says
    parts = [body[:1], body[1:imports_end], body[imports_end:-1], body[-1:]]
    doc, head, graph, function = (
        ast.unparse(ast.fix_missing_locations(ast.Module(part, type_ignores=[]))).strip()
        for part in parts)
    return f"{doc}\n\n{head}\n\n{graph}\n\n\n{function}\n"


def _name(identifier: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(identifier, ctx or ast.Load())


def _literal(value: Any) -> ast.expr:
    """``value`` (JSON-like) as a literal expression; anything else as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return ast.Constant(value)
    if isinstance(value, list | tuple):
        return ast.List([_literal(v) for v in value], ast.Load())
    if isinstance(value, dict):
        return ast.Dict([_literal(str(k)) for k in value], [_literal(v) for v in value.values()])
    return ast.Constant(str(value))


def _is_module_path(module: str) -> bool:
    return bool(module) and all(part.isidentifier() and not keyword.iskeyword(part)
                                for part in module.split("."))


def _task_location(task: Task) -> tuple[str, str]:
    module = getattr(task.func, "__module__", None) or "__main__"
    namespace = vars(sys.modules[module]) if module in sys.modules else {}
    for attr, value in namespace.items():
        if value is task:
            return module, attr
    return module, task.func.__name__


def _identifier(name: str) -> str:
    """``name`` as a Python identifier: ASCII letters, digits and ``_``, no keyword."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not ident or ident[0].isdigit():
        ident = f"_{ident}"
    return f"{ident}_" if keyword.iskeyword(ident) else ident


def _free_identifier(name: str, used: set[str]) -> str:
    """:func:`_identifier`, made unique among ``used`` (and added to it)."""
    base = found = _identifier(name)
    n = 2
    while found in used:
        found, n = f"{base}_{n}", n + 1
    used.add(found)
    return found


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
