import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.roles import ROLES, roles_sync
from core.demo import demo_activity_create, demo_registry_create, demo_workflows_create

DEMO_PASSWORD = "demo-2026"  # the demo's logins only; `make run` serves on 127.0.0.1
DEMO_USERS = {"registry_clerk": "clerk", "policy_manager": "policy", "settlement_auditor": "auditor",
              "supervisor": "supervisor", "read_only": "reader", "account_officer": "officer",
              "money_approver": "approver", "clearing_officer": "clearing"}


class Command(BaseCommand):
    help = ("seed_policies, then demo facilities, catalogs, about 2,000 enrollees with family links and "
            "recognitions, staff logins (printed), contributions and credit runs (July 2025 to January 2026) and "
            "a few hundred settlements of 2026, some reversed; primary-care signings, a claim review and the "
            "clearing statements of October 2026 (Jinan's paid). Safe to run again: existing demo data is kept, and "
            "an existing user's password is never changed. Refused under production settings without --force.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--enrollees", type=int, default=2000)
        parser.add_argument("--settlements", type=int, default=300,
                            help="settlement requests to make (a few are refused, about one in thirty reversed)")
        parser.add_argument("--force", action="store_true",
                            help="run even under production settings (a demo or training database only)")

    def handle(self, *args: object, enrollees: int, settlements: int, force: bool, **options: object) -> None:
        if not settings.DEMO_DATA_ALLOWED and not force:
            raise CommandError("seed_demo fills the database with made-up enrollees, settlements and staff logins; "
                               "these settings are production's. Use --force only on a demo or training database.")
        started = time.monotonic()
        call_command("seed_policies", verbosity=options.get("verbosity", 1), stdout=self.stdout)
        with transaction.atomic():
            made = demo_registry_create(enrollees=enrollees)
            users = self._users()
            if made:
                User = get_user_model()
                made.update(demo_workflows_create(clerk=User.objects.get(username=DEMO_USERS["registry_clerk"]),
                                                  reviewer=User.objects.get(username=DEMO_USERS["supervisor"])))
        if made:
            self.stdout.write("demo data: " + ", ".join(f"{k} {v}" for k, v in made.items()))
        else:
            self.stdout.write("demo data already present, kept as it is")

        auditor = get_user_model().objects.get(username=DEMO_USERS["settlement_auditor"])
        with transaction.atomic():
            activity = demo_activity_create(settlements=settlements, user=auditor)
        if activity is None:
            self.stdout.write("demo settlements already present: no contributions, credits or settlements added")
        else:
            self.stdout.write(f"contributions: {activity['contributions']} (2025-07 to 2025-12)")
            for line in activity["runs"]:
                self.stdout.write(f"  {line}")
            refused = activity["refused"]
            self.stdout.write(f"settlements: {activity['settled']} settled, {activity['reversed']} of them reversed, "
                              f"{sum(refused.values())} refused"
                              + (" (" + ", ".join(f"{code} {n}" for code, n in refused.items()) + ")"
                                 if refused else ""))
        from clearing.demo import demo_clearing_create  # an upper floor: signings, review, statements, payment

        User = get_user_model()
        with transaction.atomic():
            cleared = demo_clearing_create(officer=User.objects.get(username=DEMO_USERS["clearing_officer"]),
                                           approver=User.objects.get(username="admin"))
        if cleared is None:
            self.stdout.write("demo clearing already present: nothing added")
        else:
            self.stdout.write("clearing 2026-10: " + ", ".join(f"{k} {v}" for k, v in cleared.items()))
        self.stdout.write(self.style.SUCCESS(f"Staff logins (password of those made now: {DEMO_PASSWORD}):"))
        for username, role in users:
            self.stdout.write(f"  {username:<10} {role}")
        self.stdout.write(f"seed_demo took {time.monotonic() - started:.1f} s")

    def _users(self) -> list[tuple[str, str]]:
        """The demo's logins: made with the demo password when missing; an existing user is left as it is."""
        User = get_user_model()
        roles_sync()
        out = []
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True})
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save(update_fields=["password"])
        out.append(("admin", "superuser" if created else "superuser (existing: password unchanged)"))
        for name, role in ROLES.items():
            user, created = User.objects.get_or_create(username=DEMO_USERS[name], defaults={"is_staff": True})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                user.groups.set([Group.objects.get(name=name)])
            out.append((user.username, str(role["label"]) + ("" if created else " (existing: password unchanged)")))
        return out
