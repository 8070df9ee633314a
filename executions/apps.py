"""The executions app: workflows, executions, events; registers workflows on start."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ExecutionsConfig(AppConfig):
    name = "executions"

    def ready(self) -> None:
        # No queries here: import the workflow modules and install engine defaults.
        # The Workflow table is written by sync_workflows (flux up/worker/demo, migrate).
        from django.conf import settings

        from executions.core import registry  # noqa: F401 - registers the checks
        from flux import config

        config.set_runtime_defaults(getattr(settings, "FLUX", {}))
        from executions.core import secrets_store

        secrets_store.install()  # tasks' secret_requests read the Secret table
        registry.load_workflows()
        post_migrate.connect(registry.sync_after_migrate, sender=self,
                             dispatch_uid="executions.sync_workflows")
        from executions.core import live

        live.install()  # committed events reach websockets (executions/core/live.py)
        from executions.access import permissions

        post_migrate.connect(permissions.sync_groups_after_migrate,
                             dispatch_uid="executions.sync_groups")
        from django.core.signals import setting_changed

        from executions.core import approvals, commands, conf, runner, store

        setting_changed.connect(conf.forget, dispatch_uid="executions.conf")
        # The inbox: pauses mirrored inside each append, deadlines and reminders applied
        # by every worker's reaper.
        store.add_append_hook(approvals.MIRROR)
        runner.add_reaper_pass("deadlines", commands.apply_deadlines)
        runner.add_reaper_pass("reminders", approvals.remind)
        # When runs start (docs/schedules.md): schedules declared in code are written by
        # each sync; runs waiting for a concurrency slot are woken by every reaper.
        from executions.core import schedules

        if schedules.sync_declared not in registry.sync_hooks:
            registry.sync_hooks.append(schedules.sync_declared)
        runner.add_reaper_pass("concurrency", runner.wake_all_waiters)
        # Composition: children wake parents, events wake waiters, timeouts, kept events.
        from executions.core import composition

        composition.install()
