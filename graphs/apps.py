"""Graphs: graph definitions drawn in the editor, compiled into flux Graphs."""

from django.apps import AppConfig


class GraphsConfig(AppConfig):
    name = "graphs"

    def ready(self) -> None:
        # No queries here: hook saved graphs into the engine and the workflow sync.
        from executions.core import registry
        from flux.workflowdef import resolvers
        from graphs import resolver

        if resolver.resolve not in resolvers:
            resolvers.append(resolver.resolve)
        if resolver.saved_graph_names not in registry.kept_workflows:
            registry.kept_workflows.append(resolver.saved_graph_names)
