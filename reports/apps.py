from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports and supervision")

    def ready(self) -> None:
        from accounts.events import credit_run_listener
        from claims.events import settlement_listener
        from core.imports.events import import_job_listener
        from reports import summaries

        settlement_listener("reports.summaries", lambda settlement, sign: summaries.settlement_applied(
            settlement, sign=sign))
        credit_run_listener("reports.account_flows", summaries.credit_run_finished)
        import_job_listener("reports.account_flows", summaries.import_job_written)
