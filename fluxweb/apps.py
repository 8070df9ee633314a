"""The project itself as an app, so that its system checks and commands register."""

from django.apps import AppConfig


class FluxwebConfig(AppConfig):
    name = "fluxweb"
    verbose_name = "Fluxweb"

    def ready(self) -> None:
        from fluxweb import checks  # noqa: F401  (registers the checks)
