"""Graph definitions drawn in the editor, and their versions.

A :class:`GraphDefinition` is a workflow of the same name (so its name must
not be a code-defined workflow's). Every save writes a new, immutable
:class:`GraphVersion`; ``GraphDefinition.version`` is the newest. An
execution records the version it started with (``Execution.meta["graph"]``),
so editing a graph never changes a run that already began.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction


class GraphDefinition(models.Model):
    """A graph saved from the editor: the workflow ``name``, at its newest ``version``."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(default=0, help_text="The newest version's number.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def current(self) -> GraphVersion:
        return self.versions.get(version=self.version)

    def save_version(self, definition: dict[str, Any], user: Any = None) -> GraphVersion:
        """Store ``definition`` as the next version (the caller checked it)."""
        with transaction.atomic():
            if self.pk is None:
                self.created_by = user
            self.name = definition["name"]
            self.description = definition.get("description") or ""
            self.version += 1
            self.updated_by = user
            self.save()
            return GraphVersion.objects.create(
                definition=self, version=self.version, created_by=user,
                graph={k: definition.get(k) for k in GRAPH_KEYS})

    def to_dict(self, graph_version: GraphVersion | None = None) -> dict[str, Any]:
        """The graph as JSON (DESIGN.md's shape), with ``id`` and who saved it when."""
        graph_version = graph_version or self.current()
        return {
            **graph_version.graph,
            "name": graph_version.graph.get("name") or self.name,
            "version": graph_version.version,
            "id": self.pk,
            "latest_version": self.version,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(graph_version.created_at),
            "updated_by": _username(graph_version.created_by),
        }


#: The keys of a graph definition that a version stores.
GRAPH_KEYS = ("name", "description", "nodes", "edges", "start", "end", "layout")


class GraphVersion(models.Model):
    """One saved state of a graph definition; never changed once written."""

    definition = models.ForeignKey(GraphDefinition, on_delete=models.CASCADE,
                                   related_name="versions")
    version = models.PositiveIntegerField()
    graph = models.JSONField(help_text="name, description, nodes, edges, start, end")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["definition", "-version"]
        constraints = [models.UniqueConstraint(fields=["definition", "version"],
                                               name="graph_version_unique")]

    def __str__(self) -> str:
        return f"{self.definition_id} v{self.version}"

    def summary(self) -> dict[str, Any]:
        return {"version": self.version, "created_at": _iso(self.created_at),
                "created_by": _username(self.created_by),
                "nodes": len(self.graph.get("nodes") or []),
                "edges": len(self.graph.get("edges") or [])}


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None
