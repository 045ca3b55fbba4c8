"""Chinese for strings of the libraries in use whose own catalogs lack it (django-axes ships none; Django's and
django-celery-beat's miss a few): listed here so that `make messages` takes them into locale/zh_Hans, whose
translations come first (LOCALE_PATHS). Nothing imports this module."""

from django.utils.translation import gettext_noop

THIRD_PARTY = [
    # Django: a user's add page, and the app list's table headers read by screen readers
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("Model name"), gettext_noop("Add link"), gettext_noop("Change or view list link"),
    # django-celery-beat
    gettext_noop("Execution Options"), gettext_noop("Schedule"), gettext_noop("Periodic Tasks Using This Schedule"),
    gettext_noop("Datetime that the schedule last triggered the task to run. Reset to None if enabled is set to "
                 "False."),
    # django-axes: its admin of login attempts and lockouts
    gettext_noop("Access Attempt"), gettext_noop("access attempt"), gettext_noop("access attempts"),
    gettext_noop("access log"), gettext_noop("access logs"), gettext_noop("access failure"),
    gettext_noop("access failures"), gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"), gettext_noop("Access lock out"), gettext_noop("Attempt Time"),
    gettext_noop("Attempt Remaining"), gettext_noop("Expires At"), gettext_noop("Failed Logins"),
    gettext_noop("Form Data"), gettext_noop("GET Data"), gettext_noop("POST Data"), gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"), gettext_noop("Locked Out"), gettext_noop("Logout Time"), gettext_noop("Meta Data"),
    gettext_noop("Not set"), gettext_noop("Path"), gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."), gettext_noop("User Agent"),
    gettext_noop("Username"), gettext_noop("Clean up expired attempts"),
]
