from django.urls import path

from clearing.api.views import StatementView

urlpatterns = [
    path("clearing/", StatementView.as_view(), name="api-clearing"),
]
