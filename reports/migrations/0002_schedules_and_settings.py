from decimal import Decimal

from django.db import migrations

from config.schedules import schedules_install


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    from reports.supervision import DEFAULTS, RULE_HELP

    schedules_install(apps.get_model("django_celery_beat", "CrontabSchedule"),
                      apps.get_model("django_celery_beat", "PeriodicTask"), app="reports")
    setting = apps.get_model("reports", "SupervisionSetting")
    for rule, spec in DEFAULTS.items():
        setting.objects.get_or_create(rule=str(rule), defaults={
            "min_count": spec["min_count"], "ratio": Decimal(str(spec["ratio"])),
            "amount": Decimal(str(spec["amount"])), "help": _english(RULE_HELP[rule])})


def _english(text: object) -> str:
    from django.utils import translation

    with translation.override("en"):
        return str(text)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
