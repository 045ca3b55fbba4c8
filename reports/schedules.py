"""The periodic tasks of the reports, declared in one place and installed into django-celery-beat (by a
migration, and by `manage.py reports_schedules_install`); staff can change the times in the admin afterwards."""

SCHEDULES = [
    # After the credit run of the 1st (01:00): the night's ledger is complete before it is summed.
    {"name": "reports: rebuild account income and spending (nightly)",
     "task": "reports.tasks.account_flows_rebuild_task",
     "crontab": {"minute": "0", "hour": "2", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}},
    {"name": "reports: supervision rules (nightly)", "task": "reports.tasks.supervision_run_task",
     "crontab": {"minute": "30", "hour": "2", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}},
]
TIMEZONE = "Asia/Shanghai"


def schedules_install(crontab_model: type, task_model: type) -> int:
    """Create the periodic tasks that are missing (an existing one, perhaps edited by staff, is left alone)."""
    created = 0
    for spec in SCHEDULES:
        if task_model.objects.filter(name=spec["name"]).exists():
            continue
        crontab, _ = crontab_model.objects.get_or_create(timezone=TIMEZONE, **spec["crontab"])
        task_model.objects.create(name=spec["name"], task=spec["task"], crontab=crontab, enabled=True)
        created += 1
    return created
