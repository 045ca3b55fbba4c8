import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.models import RebuildTrigger
from reports.summaries import account_flows_rebuild, months_between, settlement_summaries_rebuild


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"{value!r}: a month is YYYY-MM") from None


class Command(BaseCommand):
    help = ("Rebuild the report summaries set-based for months FROM..TO: account income and spending from the "
            "ledger entries written before the end of the last closed day (later ones the report reads live), "
            "and (with --settlements) fund expenditure and facility months from the settlements.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", required=True, help="YYYY-MM")
        parser.add_argument("--to", dest="last", help="YYYY-MM (default: --from)")
        parser.add_argument("--settlements", action="store_true",
                            help="also rebuild the settlement summaries (normally kept current by the services)")

    def handle(self, *args: object, **options: object) -> None:
        first = _month(options["first"])
        last = _month(options["last"]) if options["last"] else first
        if last < first:
            raise CommandError("--to is before --from")
        if options["settlements"]:
            rows = settlement_summaries_rebuild(first=first, last=last)
            self.stdout.write(f"settlement summaries {first:%Y-%m}..{last:%Y-%m}: {rows} rows")
        for month in months_between(first, last):
            rebuild = account_flows_rebuild(month=month, trigger=RebuildTrigger.COMMAND)
            self.stdout.write(f"account flows {month:%Y-%m}: {rebuild.rows} rows in {rebuild.seconds} s")
