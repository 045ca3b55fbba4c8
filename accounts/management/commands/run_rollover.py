import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.credits import DEFAULT_CHUNK_SIZE, rollover_run
from accounts.models import CreditRun
from policies.errors import PolicyError
from policies.models import Region


class Command(BaseCommand):
    help = ("Move the current-year pocket into the historical pocket at benefit-year start, where the policy "
            "keeps two pockets. Idempotent.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admdvs", required=True)
        parser.add_argument("--date", required=True, help="YYYY-MM-DD, the benefit-year start")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)

    def handle(self, *args: object, admdvs: str, date: str, chunk_size: int, **options: object) -> None:
        try:
            day = datetime.date.fromisoformat(date)
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}") from None
        if not Region.objects.filter(admdvs=admdvs).exists():
            raise CommandError(f"unknown region {admdvs}")
        try:
            run = rollover_run(admdvs=admdvs, day=day, chunk_size=chunk_size)
        except PolicyError as e:
            raise CommandError(e.err_msg) from None
        if run.status == CreditRun.Status.FAILED:
            raise CommandError(f"rollover run {run.pk} failed ({run.error}); run it again to complete it")
        self.stdout.write(f"rollover {admdvs} {day}: {run.entries_created // 2} accounts moved, "
                          f"amount {run.amount_total} (run {run.pk})")
