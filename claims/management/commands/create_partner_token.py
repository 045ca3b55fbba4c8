from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims.models import Facility
from claims.tokens import partner_token_create


class Command(BaseCommand):
    help = "Create an API token bound to one designated facility and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("fixmedins_code")
        parser.add_argument("--label", default="")

    def handle(self, *args: object, fixmedins_code: str, label: str, **options: object) -> None:
        facility = Facility.objects.filter(fixmedins_code=fixmedins_code).first()
        if facility is None:
            raise CommandError(f"unknown facility: {fixmedins_code}")
        _token, raw = partner_token_create(facility=facility, label=label)
        self.stdout.write(raw)
