from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = _("National interface gateway")

    def ready(self) -> None:
        import gateway.api.transactions  # noqa: F401  (registers the transactions)
        from claims.ties import TieSource, tie_source
        from gateway.models import Visit, VisitStatus

        # A registration ties its person to the facility for this and the last benefit year, as a settlement does.
        tie_source(TieSource(
            "registration", Visit,
            f"t.facility_id = %s AND t.person_id = %s AND t.status <> '{VisitStatus.CANCELLED}' "
            "AND t.service_date >= %s",
            lambda c: [c.facility_id, c.person_id, c.last_benefit_year_start]))
