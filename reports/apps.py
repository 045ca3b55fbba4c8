from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports and supervision")

    def ready(self) -> None:
        from claims.events import settlement_listener
        from reports import summaries

        settlement_listener("reports.summaries", lambda settlement, sign: summaries.settlement_applied(
            settlement, sign=sign))
