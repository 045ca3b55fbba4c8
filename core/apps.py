from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Common")

    def ready(self) -> None:
        from core import api_schema  # noqa: F401  (registers the OpenAPI extension for partner tokens)
