from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class OfficeConfig(AppConfig):
    """The staff's office: the admin site's home page (what to do today) and its look."""

    default = True
    name = "office"
    verbose_name = _("Office")


class OfficeAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the office's site (`office.sites.OfficeAdminSite`) as `admin.site`."""

    default = False
    default_site = "office.sites.OfficeAdminSite"
