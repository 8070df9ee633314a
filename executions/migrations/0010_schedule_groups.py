"""The ``manage_schedules`` permission joins the operator and admin groups (and
``view_schedule`` every group): the groups migration's step, run again now that the
Schedule model exists."""

from importlib import import_module

from django.db import migrations

make_groups = import_module("executions.migrations.0004_groups").make_groups


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0009_schedules_idempotency_priority"),
    ]

    operations = [
        migrations.RunPython(make_groups, migrations.RunPython.noop),
    ]
