from django.urls import path

from gateway.api.views import CallServiceView

urlpatterns = [
    path("fsi/api/rsfComIfsService/callService", CallServiceView.as_view(), name="gateway-call-service"),
]
