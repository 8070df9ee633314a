"""What changed between two versions of a graph, for the versions page's drawing."""

from __future__ import annotations

from typing import Any


def diff_graphs(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(a graph holding both versions' nodes and edges, the diff the graph-view draws).

    The diff maps node ids and ``"source->target"`` edge keys to ``added``,
    ``removed`` or ``changed`` (a node's task, options, start or end; an edge's
    condition). Removed nodes and edges are drawn too, after the new ones.
    """
    old_nodes = {n["id"]: n for n in old.get("nodes") or []}
    new_nodes = {n["id"]: n for n in new.get("nodes") or []}
    old_edges = {_key(e): e for e in old.get("edges") or []}
    new_edges = {_key(e): e for e in new.get("edges") or []}
    nodes: dict[str, str] = {}
    for nid, node in new_nodes.items():
        before = old_nodes.get(nid)
        if before is None:
            nodes[nid] = "added"
        elif (before.get("task"), before.get("options") or {}, _role(old, nid)) != (
                node.get("task"), node.get("options") or {}, _role(new, nid)):
            nodes[nid] = "changed"
    for nid in old_nodes.keys() - new_nodes.keys():
        nodes[nid] = "removed"
    edges: dict[str, str] = {}
    for key, edge in new_edges.items():
        before = old_edges.get(key)
        if before is None:
            edges[key] = "added"
        elif (before.get("condition") or None) != (edge.get("condition") or None):
            edges[key] = "changed"
    for key in old_edges.keys() - new_edges.keys():
        edges[key] = "removed"
    merged = {
        **new,
        "nodes": list(new_nodes.values()) + [old_nodes[n] for n in old_nodes
                                              if n not in new_nodes],
        "edges": list(new_edges.values()) + [old_edges[k] for k in old_edges
                                              if k not in new_edges],
    }
    return merged, {"nodes": nodes, "edges": edges}


def _key(edge: dict[str, Any]) -> str:
    return f"{edge.get('source')}->{edge.get('target')}"


def _role(graph: dict[str, Any], nid: str) -> tuple[bool, bool]:
    return graph.get("start") == nid, nid in (graph.get("end") or [])
