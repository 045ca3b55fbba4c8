import sys

from django.core.management.base import BaseCommand

from accounts.ledger import ledger_verify
from accounts.models import LedgerEntry, PersonalAccount


class Command(BaseCommand):
    help = "Check every personal account against its ledger; exit 1 on any difference."

    def handle(self, *args: object, **options: object) -> None:
        problems = ledger_verify()
        for problem in problems:
            self.stdout.write(f"account {problem.account_id} ({problem.psn_no}): {problem.what}")
        accounts, entries = PersonalAccount.objects.count(), LedgerEntry.objects.count()
        if problems:
            self.stderr.write(f"{len(problems)} difference(s) in {accounts} accounts, {entries} entries")
            sys.exit(1)
        self.stdout.write(f"ledger clean: {accounts} accounts, {entries} entries")
