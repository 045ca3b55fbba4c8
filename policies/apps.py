from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = _("Regions and policies")

    def ready(self) -> None:
        from policies import cache  # noqa: F401  (connects the signals that keep the resolved-policy cache fresh)
