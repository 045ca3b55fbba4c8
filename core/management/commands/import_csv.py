"""`manage.py import_csv KIND PATH [--dry-run]` (CONTRACT.md "Commands")."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from core.imports import import_file, import_kinds


class Command(BaseCommand):
    help = "Import one CSV or XLSX file of a KIND; with any bad row nothing is imported and every bad row is listed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=import_kinds(), help="what the file holds")
        parser.add_argument("path", type=Path, help="a .csv (UTF-8) or .xlsx file with the contract's header row")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")

    def handle(self, *args: Any, kind: str, path: Path, dry_run: bool, **options: Any) -> None:
        if not path.is_file():
            raise CommandError(_("no such file: %(path)s") % {"path": path}, returncode=1)
        outcome = import_file(kind, path, dry_run=dry_run)
        if not outcome.ok:
            # The lines go to stdout like a linter's findings; the verdict to stderr with exit status 1.
            for line in outcome.errors:
                self.stdout.write(line)
            raise CommandError(_("%(kind)s: nothing imported, %(count)d problem(s) listed above")
                               % {"kind": kind, "count": len(outcome.errors)}, returncode=1)
        self.stdout.write(outcome.summary())
