"""Default limits for plans that existed before limits did."""

from django.db import migrations

from billing.dimensions import DIMENSIONS


def forward(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    PlanLimit = apps.get_model("billing", "PlanLimit")
    have = set(PlanLimit.objects.values_list("plan_id", "dimension"))
    PlanLimit.objects.bulk_create(
        PlanLimit(
            organization_id=plan.organization_id,
            plan=plan,
            dimension=key,
            value=dimension.defaults.get(plan.name),
        )
        for plan in Plan.objects.all()
        for key, dimension in DIMENSIONS.items()
        if (plan.pk, key) not in have
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_limits_and_usage")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
