"""The "Support" group for support staff: read everything, fix customer records.

No delete permission anywhere (customers are soft-deleted through an action that needs
"change"), no permission on audit entries beyond viewing them.
"""

from django.db import migrations

VIEW_ONLY = [
    ("customers", "user"),
    ("customers", "organization"),
    ("customers", "membership"),
    ("customers", "apitoken"),
    ("billing", "plan"),
    ("audit", "auditentry"),
    ("audit", "workflow"),
    ("audit", "execution"),
    ("audit", "event"),
]
VIEW_AND_CHANGE = [
    ("customers", "customer"),
    ("customers", "customeruser"),
    ("customers", "invitation"),
    ("customers", "connection"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Support")
    wanted = [(app, "view", model) for app, model in VIEW_ONLY + VIEW_AND_CHANGE]
    wanted += [(app, "change", model) for app, model in VIEW_AND_CHANGE]
    permissions = [
        Permission.objects.get(content_type__app_label=app, codename=f"{verb}_{model}")
        for app, verb, model in wanted
    ]
    group.permissions.set(permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Support").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_search_indexes"),
        ("billing", "0002_initial"),
        ("audit", "0003_append_only_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
