import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.credits import DEFAULT_CHUNK_SIZE, credits_run_month
from accounts.models import CreditRun
from policies.models import Region


def parse_month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--month must be YYYY-MM, not {value!r}") from None


class Command(BaseCommand):
    help = ("Credit every personal-account credit due in a month (monthly and annual rules). "
            "Re-running credits nothing twice; an interrupted run is completed by running it again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--admdvs", help="one region code; all regions when absent")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)

    def handle(self, *args: object, month: str, admdvs: str | None, chunk_size: int, **options: object) -> None:
        day = parse_month(month)
        if admdvs and not Region.objects.filter(admdvs=admdvs).exists():
            raise CommandError(f"unknown region {admdvs}")

        def progress(run: CreditRun) -> None:
            self.stdout.write(f"\r  chunk {run.chunks_done}/{run.chunks_total}: {run.entries_created} credits, "
                              f"{run.amount_total} yuan", ending="")
            self.stdout.flush()

        run = credits_run_month(month=day, admdvs=admdvs, chunk_size=chunk_size, progress=progress)
        self.stdout.write("")
        if run.status == CreditRun.Status.FAILED:
            raise CommandError(f"credit run {run.pk} failed ({run.error}); run it again to complete it")
        self.stdout.write(f"credits {day:%Y-%m}{' ' + admdvs if admdvs else ''}: created {run.entries_created}, "
                          f"amount {run.amount_total} (run {run.pk})")
