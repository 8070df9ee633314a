"""``{% execution_graphs e as graphs %}``: each Graph an execution ran, as
``{"id": <json_script id>, "props": <graph-view props>}``."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def execution_graphs(execution: Any) -> list[dict[str, Any]]:
    from graphs.views import execution_graph_props

    return [{"id": f"graph-slot-props-{i}", "props": props}
            for i, props in enumerate(execution_graph_props(execution), 1)]
