from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("Facilities, catalogs and settlements")

    def ready(self) -> None:
        from claims.ties import _register_claims_sources

        _register_claims_sources()
