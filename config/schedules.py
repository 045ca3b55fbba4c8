"""Every periodic task of the system, declared in this one place and installed into django-celery-beat (by the
apps' migrations and by `manage.py schedules_install`); staff can change the times in the admin afterwards.

The names start with the app that owns the task, which is how each app's migration installs its own. They are
stored in English and shown in the reader's language (core.admin_schedules)."""

from django.utils.translation import gettext_noop

TIMEZONE = "Asia/Shanghai"
DAILY = {"day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}

SCHEDULES = [
    # Rollover first: at benefit-year start the current-year pocket moves before the new year's credits land.
    {"name": gettext_noop("accounts: rollover at benefit-year start (daily check)"),
     "task": "accounts.tasks.rollover_due_task",
     "crontab": {"minute": "30", "hour": "0", **DAILY}},
    {"name": gettext_noop("accounts: monthly and annual credits (1st of the month)"),
     "task": "accounts.tasks.credits_month_task",
     "crontab": {"minute": "0", "hour": "1", "day_of_month": "1", "month_of_year": "*", "day_of_week": "*"}},
    # A worker killed mid-chunk leaves its credit run short of chunks; this queues the missing ones again.
    {"name": gettext_noop("accounts: resume credit runs whose worker died (every 2 minutes)"),
     "task": "accounts.tasks.credit_runs_resume_stale_task", "crontab": {"minute": "*/2", "hour": "*", **DAILY}},
    # After the credit run of the 1st (01:00): the night's ledger is complete before it is summed.
    {"name": gettext_noop("reports: rebuild account income and spending (nightly)"),
     "task": "reports.tasks.account_flows_rebuild_task", "crontab": {"minute": "0", "hour": "2", **DAILY}},
    {"name": gettext_noop("reports: supervision rules (nightly)"), "task": "reports.tasks.supervision_run_task",
     "crontab": {"minute": "30", "hour": "2", **DAILY}},
    # The last full month's statements, on the 2nd: late settlements of the 1st's night are in.
    {"name": gettext_noop("clearing: statements of the last full month (2nd of the month)"),
     "task": "clearing.tasks.clearing_month_task",
     "crontab": {"minute": "0", "hour": "4", "day_of_month": "2", "month_of_year": "*", "day_of_week": "*"}},
    # After the supervision rules (02:30): a sample of yesterday's settlements re-adjudicated.
    {"name": gettext_noop("clearing: re-adjudicate a sample of yesterday's settlements (nightly)"),
     "task": "clearing.tasks.audit_nightly_task", "crontab": {"minute": "45", "hour": "2", **DAILY}},
    # A worker that died mid-import leaves its job "running"; this marks it failed (its transaction rolled back).
    {"name": gettext_noop("core: fail import jobs whose worker died (every 10 minutes)"),
     "task": "core.tasks.import_jobs_fail_stale_task",
     "crontab": {"minute": "*/10", "hour": "*", **DAILY}},
    # Uploaded and bad-rows files hold ID numbers: deleted IMPORT_FILES_KEEP_DAYS after their job ends.
    {"name": gettext_noop("core: delete import files past their retention (daily)"),
     "task": "core.tasks.import_files_purge_task",
     "crontab": {"minute": "15", "hour": "3", **DAILY}},
]


def schedules_install(crontab_model: type, task_model: type, app: str | None = None) -> int:
    """Create the periodic tasks that are missing, of one app or all (an existing one, perhaps edited by staff, is
    left alone). Takes the models so that migrations can pass their historical ones."""
    created = 0
    for spec in SCHEDULES:
        if app is not None and not spec["name"].startswith(f"{app}:"):
            continue
        if task_model.objects.filter(name=spec["name"]).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(timezone=TIMEZONE, **spec["crontab"])
        task_model.objects.create(name=spec["name"], task=spec["task"], crontab=crontab, enabled=True)
        created += 1
    return created
