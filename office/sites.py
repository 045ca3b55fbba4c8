"""The admin site: Django's, with a home page for work in place of the bare list of apps, and Celery's internals
(periodic tasks and their schedules) kept out of the app lists (superusers reach them from the home page)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

# Apps the staff have no business with on the home page and in the side list: still at /admin/<app>/ for
# superusers (linked from the home page).
SYSTEM_APPS = ("django_celery_beat",)


class OfficeAdminSite(admin.AdminSite):
    site_header = _("Medical insurance back office")
    site_title = _("Medical insurance back office")
    index_title = _("Today")
    index_template = "office/index.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = super().get_app_list(request, app_label)
        if app_label is None:
            apps = [app for app in apps if app["app_label"] not in SYSTEM_APPS]
        return apps

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        from office.dashboard import dashboard

        return super().index(request, {"dashboard": dashboard(request), **(extra_context or {})})
