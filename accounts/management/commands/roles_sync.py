from django.core.management.base import BaseCommand

from accounts.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the staff role groups and their permissions."

    def handle(self, *args: object, **options: object) -> None:
        for name, count in roles_sync().items():
            self.stdout.write(f"{name}: {count} permissions")
