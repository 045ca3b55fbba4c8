"""URLs: the staff admin (language-prefixed paths not used: the language comes from the session or browser),
the partner API under /api/v1/, the national interface gateway (/fsi/api/…), and Django's language switcher."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("", include("gateway.api.urls")),
]
