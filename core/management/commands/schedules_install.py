from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.schedules import schedules_install


class Command(BaseCommand):
    help = "Install the periodic tasks (credits, rollover, reports, supervision, import jobs) where missing."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"{schedules_install(CrontabSchedule, PeriodicTask)} periodic task(s) installed")
