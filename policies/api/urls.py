from django.urls import path

from policies.api.views import PolicyInForceView

urlpatterns = [
    path("policies/", PolicyInForceView.as_view(), name="policy-in-force"),
]
