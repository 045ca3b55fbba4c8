"""The periodic tasks' admin (django-celery-beat's, in the reader's language): each task under its name from
config/schedules.py (stored in English, the catalog's msgid) and its schedule in words, in the reader's language
too (cron-descriptor's, which django-celery-beat asks in English only)."""

from cron_descriptor import FormatException, MissingFieldException, Options, WrongArgumentException, get_description
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
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
_english_human_readable = CrontabSchedule.human_readable


def _crontab_human_readable(schedule: CrontabSchedule) -> str:
    """"在 02:45 Asia/Shanghai" for a reader of Chinese, django-celery-beat's "At 02:45 AM Asia/Shanghai" else."""
    if not (get_language() or "").startswith("zh"):
        return _english_human_readable.fget(schedule)
    options = Options()
    options.locale_code, options.use_24hour_time_format = "zh_CN", True
    expression = " ".join([schedule.minute, schedule.hour, schedule.day_of_month, schedule.month_of_year,
                           schedule.day_of_week])
    try:
        return f"{get_description(expression, options)} {schedule.timezone}"
    except (MissingFieldException, FormatException, WrongArgumentException):
        return f"{expression} {schedule.timezone}"


CrontabSchedule.human_readable = property(_crontab_human_readable)
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

    fields = readonly_fields = ("name_display", "task_display", "args", "kwargs")

    @admin.display(description=_("name"))
    def name_display(self, task: PeriodicTask) -> str:
        return gettext(task.name)

    @admin.display(description=_("task"))
    def task_display(self, task: PeriodicTask) -> str:
        return format_html("<code>{}</code>", task.task)


for _model, _beat_admin in ((CrontabSchedule, beat_admin.CrontabScheduleAdmin),
                            (IntervalSchedule, beat_admin.IntervalScheduleAdmin),
                            (SolarSchedule, beat_admin.SolarScheduleAdmin),
                            (ClockedSchedule, beat_admin.ClockedScheduleAdmin)):
    admin.site.unregister(_model)
    admin.site.register(_model, type(_beat_admin.__name__, (_beat_admin,), {"inlines": [ScheduleTaskInline]}))
