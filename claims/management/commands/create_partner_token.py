from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from claims.models import Facility
from claims.tokens import partner_token_create


class Command(BaseCommand):
    help = ("Create an API token bound to one facility designated today and print it (it is shown only once). "
            "Exit 1 for an unknown facility or one not designated today (Asia/Shanghai).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("fixmedins_code")
        parser.add_argument("--label", default="")

    def handle(self, *args: object, fixmedins_code: str, label: str, **options: object) -> None:
        facility = Facility.objects.filter(fixmedins_code=fixmedins_code).first()
        if facility is None:
            raise CommandError(f"unknown facility: {fixmedins_code}")
        today = timezone.localdate()
        if not facility.designated_on(today):
            # Its token would be refused on every call (403): a token is made for a facility that may use it.
            raise CommandError(f"facility {fixmedins_code} is not designated today ({today}): designated from "
                               f"{facility.begndate} to {facility.enddate or 'open'}")
        _token, raw = partner_token_create(facility=facility, label=label)
        self.stdout.write(raw)
