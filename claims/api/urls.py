from django.urls import path

from claims.api import views

urlpatterns = [
    path("persons/lookup/", views.PersonLookupView.as_view(), name="api-person-lookup"),
    path("persons/<str:psn_no>/", views.PersonDetailView.as_view(), name="api-person"),
    path("persons/<str:psn_no>/account/", views.PersonAccountView.as_view(), name="api-person-account"),
    path("persons/<str:psn_no>/accumulators/", views.PersonAccumulatorsView.as_view(),
         name="api-person-accumulators"),
    path("settlements/", views.SettlementListCreateView.as_view(), name="api-settlements"),
    path("settlements/preview/", views.SettlementPreviewView.as_view(), name="api-settlement-preview"),
    path("settlements/<str:setl_id>/", views.SettlementDetailView.as_view(), name="api-settlement"),
    path("settlements/<str:setl_id>/reversal/", views.SettlementReversalView.as_view(),
         name="api-settlement-reversal"),
]
