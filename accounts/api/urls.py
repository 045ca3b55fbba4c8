from django.urls import path

from accounts.api.views import RelativeContributionView

urlpatterns = [
    path("accounts/<str:psn_no>/relative-contributions/", RelativeContributionView.as_view(),
         name="api-relative-contributions"),
]
