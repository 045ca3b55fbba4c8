from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.roles import ROLES, roles_sync
from core.demo import demo_registry_create

DEMO_PASSWORD = "demo-2026"  # the demo's logins only; `make run` serves on 127.0.0.1
DEMO_USERS = {"registry_clerk": "clerk", "policy_manager": "policy", "settlement_auditor": "auditor",
              "supervisor": "supervisor", "read_only": "reader"}


class Command(BaseCommand):
    help = ("seed_policies, then demo facilities, catalogs, about 2,000 enrollees with family links and "
            "recognitions, and staff logins (printed). Safe to run again: existing demo data is kept.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--enrollees", type=int, default=2000)

    def handle(self, *args: object, enrollees: int, **options: object) -> None:
        call_command("seed_policies", verbosity=options.get("verbosity", 1), stdout=self.stdout)
        with transaction.atomic():
            made = demo_registry_create(enrollees=enrollees)
            users = self._users()
        if made:
            self.stdout.write("demo data: " + ", ".join(f"{k} {v}" for k, v in made.items()))
        else:
            self.stdout.write("demo data already present, kept as it is")
        self.stdout.write(self.style.SUCCESS(f"Staff logins (password for all: {DEMO_PASSWORD}):"))
        for username, role in users:
            self.stdout.write(f"  {username:<10} {role}")

    def _users(self) -> list[tuple[str, str]]:
        User = get_user_model()
        roles_sync()
        admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        out = [("admin", "superuser")]
        for name, role in ROLES.items():
            username = DEMO_USERS[name]
            user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            user.is_staff = True
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([Group.objects.get(name=name)])
            out.append((username, str(role["label"])))
        return out
