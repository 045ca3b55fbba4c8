from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearingConfig(AppConfig):
    name = "clearing"
    verbose_name = _("Clearing with facilities")

    def ready(self) -> None:
        from claims.ties import TieSource, tie_source
        from clearing.models import Signing

        # CONTRACT.md's tie rule: a signing valid today ties the person to the facility.
        tie_source(TieSource(
            "signing", Signing,
            "t.facility_id = %s AND t.person_id = %s AND t.begndate <= %s AND (t.enddate IS NULL OR t.enddate >= %s)",
            lambda c: [c.facility_id, c.person_id, c.today, c.today]))
