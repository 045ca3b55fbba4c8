from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClearingConfig(AppConfig):
    name = "clearing"
    verbose_name = _("Clearing with facilities")

    def ready(self) -> None:
        from claims.events import settlement_listener
        from claims.ties import TieSource, tie_source
        from clearing.models import Signing
        from clearing.statements import statement_settlement_listener

        # CONTRACT.md's tie rule: a signing valid today ties the person to the facility.
        tie_source(TieSource(
            "signing", Signing,
            "t.facility_id = %s AND t.person_id = %s AND t.begndate <= %s AND (t.enddate IS NULL OR t.enddate >= %s)",
            lambda c: [c.facility_id, c.person_id, c.today, c.today]))
        from clearing.report import SPEC
        from reports.definitions import REPORTS

        REPORTS[SPEC.name] = SPEC
        # A settlement or reversal reaching a month whose statement is approved is carried to the next one.
        settlement_listener("clearing", statement_settlement_listener)
