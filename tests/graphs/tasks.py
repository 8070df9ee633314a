"""Tasks the graph tests draw as nodes (registered on import; names start with gt_)."""

from __future__ import annotations

import asyncio

from flux import task


@task
async def gt_double(value: int) -> int:
    """Twice the input."""
    return value * 2


@task
async def gt_label(value: int, prefix: str = "n=") -> str:
    """The input as text, after a prefix."""
    return f"{prefix}{value}"


@task
async def gt_negate(value: int) -> int:
    """Minus the input."""
    return -value


@task
async def gt_slow(value: int, seconds: float = 0.4) -> int:
    """The input, after a pause (so a browser can watch it run)."""
    await asyncio.sleep(seconds)
    return value


@task
async def gt_fail(value: int) -> int:
    """Always fails."""
    raise RuntimeError(f"gt_fail got {value}")


def three_nodes(name: str = "doubler", condition: str | None = "result > 10") -> dict:
    """double -> label when the doubled value is over 10, double -> negate otherwise."""
    return {
        "name": name,
        "description": "A small test graph",
        "nodes": [{"id": "double", "task": "gt_double", "options": {}},
                  {"id": "label", "task": "gt_label", "options": {"retry_max_attempts": 2}},
                  {"id": "negate", "task": "gt_negate", "options": {"timeout": 5}}],
        "edges": [{"source": "double", "target": "label", "condition": condition},
                  {"source": "double", "target": "negate",
                   "condition": f"!({condition})" if condition else None}],
        "start": "double",
        "end": ["label", "negate"],
    }
