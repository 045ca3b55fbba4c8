"""The periodic tasks of personal accounts, declared in one place and installed into django-celery-beat (by a
migration, and by `manage.py schedules_install`); staff can change the times in the admin afterwards."""

SCHEDULES = [
    # Rollover first: at benefit-year start the current-year pocket moves before the new year's credits land.
    {"name": "accounts: rollover at benefit-year start (daily check)", "task": "accounts.tasks.rollover_due_task",
     "crontab": {"minute": "30", "hour": "0", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}},
    {"name": "accounts: monthly and annual credits (1st of the month)", "task": "accounts.tasks.credits_month_task",
     "crontab": {"minute": "0", "hour": "1", "day_of_month": "1", "month_of_year": "*", "day_of_week": "*"}},
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
