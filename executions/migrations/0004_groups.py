"""The groups viewer, operator, approver, editor and admin, with their permissions.

Permissions are normally created after ``migrate`` (post_migrate); they are
created here first so that the groups get them on a fresh database. Graph
permissions join later, when the graphs app's model exists
(``executions.access.permissions.sync_groups`` runs after every migrate).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def make_groups(apps, schema_editor):
    from executions.access.permissions import sync_groups

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0,
                           using=schema_editor.connection.alias)
        app_config.models_module = None
    sync_groups(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0003_tokens_secrets_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(make_groups, migrations.RunPython.noop),
    ]
