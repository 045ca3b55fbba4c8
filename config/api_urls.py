"""The partner REST API, /api/v1/ (CONTRACT.md)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

urlpatterns = [
    # The schema and its docs are public: they describe the interface, no data.
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
         name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema", authentication_classes=[],
                                                 permission_classes=[AllowAny]), name="api-docs"),
    path("", include("policies.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("claims.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("clearing.api.urls")),
]
