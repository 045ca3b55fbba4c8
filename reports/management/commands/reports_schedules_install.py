from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from reports.schedules import schedules_install


class Command(BaseCommand):
    help = "Install the reports' periodic tasks into django-celery-beat (missing ones only)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"{schedules_install(CrontabSchedule, PeriodicTask)} periodic tasks created")
