from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Enrollees and accounts")

    def ready(self) -> None:
        post_migrate.connect(_roles_sync_after_migrate, sender=self)


def _roles_sync_after_migrate(sender: AppConfig, **kwargs: object) -> None:
    """Staff groups and their permissions are kept in step with the code after every migrate."""
    from accounts.roles import roles_sync

    roles_sync()
