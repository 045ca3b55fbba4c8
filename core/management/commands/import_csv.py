"""`manage.py import_csv KIND PATH [--dry-run]` (CONTRACT.md "Commands").

stdout carries only the contract's lines (every `row N, column C: message`, or the summary); a progress bar goes to
stderr when it is a terminal (or with `--progress`).
"""

import argparse
import getpass
import socket
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import timezone
from django.utils.translation import gettext as _

from core.imports import ImportProgress, import_file, import_kinds
from core.imports.jobs import import_run_record


class TerminalProgress:
    """A one-line progress bar on a terminal stream, redrawn at most every `interval` seconds."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper, *, interval: float = 0.2) -> None:
        self.stream = stream
        self.interval = interval
        self.last = 0.0
        self.drawn = False

    def __call__(self, progress: ImportProgress) -> None:
        now = time.monotonic()
        if progress.phase != "done" and now - self.last < self.interval:
            return
        self.last = now
        filled = self.WIDTH * progress.percent // 100
        bar = "#" * filled + "." * (self.WIDTH - filled)
        text = (f"\r[{bar}] {progress.percent:3d}%  {progress.phase}: {progress.rows_read:,} read, "
                f"{progress.rows_validated:,} validated, {progress.rows_written:,} written, {progress.bad:,} bad")
        self.stream.write(text, ending="")
        self.stream.flush()
        self.drawn = True
        if progress.phase == "done":
            self.stream.write("")


class Command(BaseCommand):
    help = "Import one CSV or XLSX file of a KIND; with any bad row nothing is imported and every bad row is listed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=import_kinds(), help="what the file holds")
        parser.add_argument("path", type=Path, help="a .csv (UTF-8) or .xlsx file with the contract's header row")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                            help="draw a progress bar on stderr (default: when stderr is a terminal)")
        parser.add_argument("--operator", default="",
                            help="who runs the import, recorded with it (default: the operating-system user@host)")

    def handle(self, *args: Any, kind: str, path: Path, dry_run: bool, progress: bool | None = None,
               operator: str = "", **options: Any) -> None:
        if not path.is_file():
            raise CommandError(_("no such file: %(path)s") % {"path": path}, returncode=1)
        show = self.stderr.isatty() if progress is None else progress
        started_at = timezone.now()
        outcome = import_file(kind, path, dry_run=dry_run, progress=TerminalProgress(self.stderr) if show else None)
        import_run_record(kind=kind, path=path, outcome=outcome, started_at=started_at,
                          operator=operator or f"{getpass.getuser()}@{socket.gethostname()}")
        if not outcome.ok:
            # The lines go to stdout like a linter's findings; the verdict to stderr with exit status 1.
            count = 0
            for line in outcome.error_lines():
                self.stdout.write(line)
                count += 1
            raise CommandError(_("%(kind)s: nothing imported, %(count)d problem(s) listed above")
                               % {"kind": kind, "count": count}, returncode=1)
        self.stdout.write(outcome.summary())
