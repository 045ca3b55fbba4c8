"""The periodic tasks' admin (django-celery-beat's, in the reader's language): each task under its name from
config/schedules.py (stored in English, the catalog's msgid) and its schedule in words."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from config.schedules import SCHEDULES


class TaskFilter(admin.SimpleListFilter):
    title = _("task")
    parameter_name = "task"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(spec["task"], gettext(spec["name"])) for spec in SCHEDULES]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(task=self.value()) if self.value() else queryset


def _periodic_task_str(task: PeriodicTask) -> str:
    """django-celery-beat's own "name: schedule" (breadcrumbs, a schedule's tasks), the name in the reader's
    language."""
    schedule = task.crontab or task.interval or task.solar or task.clocked
    return f"{gettext(task.name)}: {schedule if schedule else '{no schedule}'}"


PeriodicTask.__str__ = _periodic_task_str
admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    list_display = ("name_display", "enabled", "schedule_display", "start_time", "last_run_at", "one_off")
    list_filter = ["enabled", "one_off", TaskFilter, "start_time", "last_run_at"]

    @admin.display(description=_("name"), ordering="name")
    def name_display(self, task: PeriodicTask) -> str:
        return gettext(task.name)

    @admin.display(description=_("schedule"))
    def schedule_display(self, task: PeriodicTask) -> str:
        schedule = task.crontab or task.interval or task.solar or task.clocked
        return str(getattr(schedule, "human_readable", schedule) or "-")


class ScheduleTaskInline(beat_admin.PeriodicTaskInline):
    """A schedule's tasks, each under its name in the reader's language."""

    fields = readonly_fields = ("name_display", "task", "args", "kwargs")

    @admin.display(description=_("name"))
    def name_display(self, task: PeriodicTask) -> str:
        return gettext(task.name)


for _model, _beat_admin in ((CrontabSchedule, beat_admin.CrontabScheduleAdmin),
                            (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
                            (SolarSchedule, beat_admin.SolarScheduleAdmin),
                            (ClockedSchedule, beat_admin.ClockedScheduleAdmin)):
    admin.site.unregister(_model)
    admin.site.register(_model, type(_beat_admin.__name__, (_beat_admin,), {"inlines": [ScheduleTaskInline]}))
