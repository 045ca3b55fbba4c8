from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.management.commands.run_credits import parse_month
from clearing.statements import statements_build
from policies.models import Region


class Command(BaseCommand):
    help = ("Build or rebuild a month's clearing statements (one per facility with settlements, capitation or "
            "per-disease payment). Approved statements are left as they are; running it again changes nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--admdvs", help="one region code; all regions when absent")

    def handle(self, *args: object, month: str, admdvs: str | None, **options: object) -> None:
        day = parse_month(month)
        region = None
        if admdvs:
            region = Region.objects.filter(admdvs=admdvs).first()
            if region is None:
                raise CommandError(f"unknown region {admdvs}")
        result = statements_build(month=day, region=region)
        self.stdout.write(f"clearing {day:%Y-%m}{' ' + admdvs if admdvs else ''}: {result}")
