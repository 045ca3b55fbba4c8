import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.models import Rule
from reports.supervision import supervision_run


class Command(BaseCommand):
    help = "Run the supervision rules over one month and raise alerts (enabled rules, or those named by --rule)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--rule", action="append", choices=Rule.values)

    def handle(self, *args: object, **options: object) -> None:
        try:
            month = datetime.datetime.strptime(options["month"], "%Y-%m").date()
        except ValueError:
            raise CommandError("--month is YYYY-MM") from None
        for rule, count in supervision_run(month=month, rules=options["rule"]).items():
            self.stdout.write(f"{rule}: {count} alerts")
