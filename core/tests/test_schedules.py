import io

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def test_migrations_install_every_periodic_task_and_the_command_adds_nothing_more():
    installed = dict(PeriodicTask.objects.values_list("name", "task"))
    assert {s["name"]: s["task"] for s in SCHEDULES}.items() <= installed.items()
    out = io.StringIO()
    call_command("schedules_install", stdout=out)
    assert out.getvalue().strip() == "0 periodic task(s) installed"


def test_a_schedule_edited_by_staff_is_left_alone():
    task = PeriodicTask.objects.get(task="accounts.tasks.credits_month_task")
    task.enabled = False
    task.save()
    call_command("schedules_install", stdout=io.StringIO())
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False
