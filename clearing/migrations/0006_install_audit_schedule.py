from django.db import migrations

from config.schedules import schedules_install


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    schedules_install(apps.get_model("django_celery_beat", "CrontabSchedule"),
                      apps.get_model("django_celery_beat", "PeriodicTask"), app="clearing")


class Migration(migrations.Migration):
    dependencies = [
        ("clearing", "0005_clearing_report"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
