from django.urls import path

from reports.api.views import ReconciliationView, ReportView

urlpatterns = [
    path("reports/<slug:name>/", ReportView.as_view(), name="api-report"),
    path("reconciliation/", ReconciliationView.as_view(), name="api-reconciliation"),
]
