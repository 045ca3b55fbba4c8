from django.db import migrations, models

from config.schedules import schedules_install


def install_schedules(apps, schema_editor) -> None:  # noqa: ANN001
    # Installs the new purge schedule (the existing ones are left as staff may have edited them).
    schedules_install(apps.get_model("django_celery_beat", "CrontabSchedule"),
                      apps.get_model("django_celery_beat", "PeriodicTask"), app="core")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_install_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="files_deleted_at",
            field=models.DateTimeField(blank=True, help_text="the uploaded file and the bad-rows file are deleted "
                                       "IMPORT_FILES_KEEP_DAYS after the job ends", null=True,
                                       verbose_name="files deleted"),
        ),
        migrations.RunPython(install_schedules, migrations.RunPython.noop),
    ]
