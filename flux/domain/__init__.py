"""Domain types of the engine: the event log."""

from flux.domain.events import ExecutionEvent, ExecutionEventType

__all__ = ["ExecutionEvent", "ExecutionEventType"]
