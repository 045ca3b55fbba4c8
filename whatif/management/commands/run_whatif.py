"""`run_whatif --version CODE --admdvs CODE --from YYYY-MM --to YYYY-MM` (CONTRACT.md)."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.models import PolicyVersion, Region
from whatif.services import WhatIfError, contract_totals, month_start, whatif_replay


class Command(BaseCommand):
    help = ("Re-adjudicate the region's settlements of those months (service dates) under a policy version, writing "
            "nothing real, and print the totals paid and under the version as one JSON object.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: object) -> CommandParser:
        # CONTRACT.md names the version `--version`, which Django's own `--version` (its release) would take.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--version", dest="version_code", required=True, help="policy version code")
        parser.add_argument("--admdvs", required=True, help="region code")
        parser.add_argument("--from", dest="month_from", required=True, help="first month, YYYY-MM")
        parser.add_argument("--to", dest="month_to", required=True, help="last month, YYYY-MM")
        parser.add_argument("--processes", type=int, default=1,
                            help="PostgreSQL: replay families apart in this many processes (default 1)")

    def handle(self, *args: object, version_code: str, admdvs: str, month_from: str, month_to: str,
               processes: int = 1, **options: object) -> None:
        version = PolicyVersion.objects.filter(code=version_code).first()
        if version is None:
            raise CommandError(f"no policy version {version_code}", returncode=1)
        region = Region.objects.filter(admdvs=admdvs).first()
        if region is None:
            raise CommandError(f"no region {admdvs}", returncode=1)
        try:
            start, end = month_start(month_from), month_start(month_to)
        except WhatIfError as e:
            raise CommandError(str(e), returncode=2) from None
        if end < start:
            raise CommandError("--to is before --from", returncode=2)
        outcome = whatif_replay(version=version, region=region, month_from=start, month_to=end,
                                processes=max(1, processes))
        answer = contract_totals(version=version, region=region, month_from=start, month_to=end, sums=outcome.total)
        self.stdout.write(json.dumps(answer, ensure_ascii=False))
