"""The streaming import engine behind `import_file`, `manage.py import_csv` and the admin's background jobs.

One pass over the file, in batches of `BATCH_ROWS` rows: the kind's resource preloads what validation needs for
the batch (one query per referenced table) and validates each row with the same `validate_row` as the admin's
preview pages; bad rows go to the error lines (and to a bad-rows CSV when asked), good rows to the kind's writer,
which stages them (COPY into a temporary table on PostgreSQL). Only when no row is bad does the writer write,
set-based, in the same single transaction; otherwise, and on a dry run, everything is rolled back. Memory holds
one batch, the keys seen so far (to report duplicates) and the error lines; never the file.
"""

import csv
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.cache import process_caches_clear
from core.imports.base import (
    ImportFileError,
    ImportOutcome,
    header_problem,
    import_resource_class,
    row_error_line,
)
from core.imports.messages import exception_message, message_data
from core.imports.messages import stored_gettext as _
from core.imports.streaming import no_data_rows_message, open_rows
from core.imports.writers import writer_for

BATCH_ROWS = 5000
# The last column of a stored bad-rows file: each row's messages as data, rendered for the reader on download.
BAD_ROWS_MESSAGES = "messages"
# Error lines beyond this many are kept in a temporary file rather than in memory (ImportOutcome.error_lines()).
ERROR_LINES_IN_MEMORY = 20_000


@dataclass
class ImportProgress:
    """Where an import stands; passed to the progress callback after each batch and each writing step."""

    phase: str = "reading"  # reading, writing, done
    rows_read: int = 0
    rows_validated: int = 0
    rows_written: int = 0
    bad: int = 0
    read_fraction: float = 0.0  # of the file's bytes (or sheet rows)
    write_fraction: float = 0.0

    @property
    def percent(self) -> int:
        """Reading and validating count for 70%, writing for 30% (about what they take for a roster)."""
        if self.phase == "done":
            return 100
        return min(99, int(70 * self.read_fraction + 30 * self.write_fraction))


ProgressCallback = Callable[[ImportProgress], None]


class _BadRows:
    """Bad rows as they are found: error lines (spilled to a temporary file past ERROR_LINES_IN_MEMORY) and,
    when a path is given, a CSV of the rows with their cells, row number and messages: `errors` in the language of
    the import, `messages` the same as data (column and stored message, `core.imports.messages`) from which the
    download renders `errors` in the reader's language."""

    def __init__(self, outcome: ImportOutcome, header: list[str], path: Path | None) -> None:
        self.outcome = outcome
        self.header = header
        self.path = path
        self.file: IO[str] | None = None
        self.writer: Any = None

    def add(self, line: int, cells: list[str], messages: list[tuple[str, str]]) -> None:
        self.outcome.bad += 1
        for column, message in messages:
            text = row_error_line(line, column, message)
            if len(self.outcome.errors) < ERROR_LINES_IN_MEMORY:
                self.outcome.errors.append(text)
            else:
                if self.outcome.error_spool is None:
                    self.outcome.error_spool = tempfile.TemporaryFile("w+", encoding="utf-8")
                self.outcome.error_spool.write(text + "\n")
        if self.path is not None:
            if self.writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.file = self.path.open("w", encoding="utf-8-sig", newline="")
                self.writer = csv.writer(self.file)
                self.writer.writerow(["row", *self.header, "errors", BAD_ROWS_MESSAGES])
            self.writer.writerow([line, *cells, "; ".join(f"{c}: {m}" for c, m in messages),
                                  json.dumps([[c, message_data(m)] for c, m in messages], ensure_ascii=False,
                                             separators=(",", ":"))])

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def import_file(kind: str, path: Path, *, dry_run: bool, user: Any = None,
                progress: ProgressCallback | None = None, bad_rows_path: Path | None = None,
                batch_rows: int | None = None) -> ImportOutcome:
    """Import the CSV or XLSX file at `path` as KIND (see `IMPORT_KINDS`) in one transaction, streaming it.

    Nothing is written when any row is bad (every bad row is reported as `row N, column C: message`, and written
    with its messages to `bad_rows_path` when given) or on a dry run (the counts are those of a real run).
    `progress` is called after every batch and writing step. The entry point of commands, tasks and the admin.
    """
    outcome = ImportOutcome(kind=kind, dry_run=dry_run)
    state = ImportProgress()
    report: ProgressCallback = progress or (lambda _state: None)
    resource_class = import_resource_class(kind)
    try:
        stream = open_rows(path)
    except ImportFileError as e:
        outcome.errors.append(exception_message(e))
        return outcome
    bad_rows: _BadRows | None = None
    try:
        problem = header_problem(stream.header, resource_class.columns, resource_class.optional_columns)
        if problem:
            outcome.errors.append(problem)
            return outcome
        bad_rows = _BadRows(outcome, stream.header, bad_rows_path)
        try:
            with transaction.atomic():
                _run(kind, path, stream, outcome, state, report, bad_rows, user=user,
                     batch_rows=batch_rows or BATCH_ROWS)
                if outcome.errors or dry_run:
                    transaction.set_rollback(True)
                else:
                    # Set-based writes send no model signals: the hot-path caches (catalog items, facilities
                    # behind partner tokens) are cleared once the rows are committed.
                    transaction.on_commit(process_caches_clear)
        except ImportFileError as e:  # a row found unreadable halfway: the file is refused as a whole
            bad_rows.close()
            if bad_rows_path is not None:
                bad_rows_path.unlink(missing_ok=True)
            outcome = ImportOutcome(kind=kind, dry_run=dry_run, errors=[exception_message(e)])
        except DatabaseError as e:
            outcome.created = outcome.updated = outcome.unchanged = 0
            outcome.errors.append(_("the file could not be written, nothing was imported: %(error)s")
                                  % {"error": str(e).strip()})
    finally:
        stream.close()
        if bad_rows is not None:
            bad_rows.close()
    state.phase = "done"
    report(state)
    return outcome


class BatchColumns:
    """A batch of rows by column, what `preload_for_validation` reads (`dataset[name]`, `dataset.height`) as a
    tablib.Dataset offers it, without building one per batch."""

    def __init__(self, header: list[str], rows: list[list[str]]) -> None:
        self.headers = header
        self.height = len(rows)
        self._rows = rows
        self._index = {column: i for i, column in enumerate(header)}

    def __getitem__(self, name: str) -> list[str]:
        i = self._index[name]  # KeyError for a column the file does not have, as tablib
        return [row[i] for row in self._rows]


def _run(kind: str, path: Path, stream: Any, outcome: ImportOutcome, state: ImportProgress,
         report: ProgressCallback, bad_rows: _BadRows, *, user: Any, batch_rows: int) -> None:
    resource = import_resource_class(kind)()
    resource.begin_file()
    user_id = getattr(user, "pk", None)
    writer = writer_for(kind, resource, user_id=user_id, path=path)
    order = {c: i for i, c in enumerate(resource.all_columns())}
    header = stream.header
    blank = resource._meta.model()
    # A kind's fast check accepts the rows it can tell good at a glance, with the values and state `validate_row`
    # would give them; any other row (bad, or merely unusual) goes through `validate_row`, which says why.
    fast = resource.fast_validator(header)
    with connection.cursor() as cursor:
        writer.begin(cursor)
        for batch in _batches(stream.rows, batch_rows):
            resource.preload_for_validation(BatchColumns(header, [cells for _line, cells in batch]))
            for line, cells in batch:
                if fast is not None:
                    accepted = fast(line, cells)
                    if accepted is not None:
                        if not outcome.bad:
                            values, instance = accepted
                            writer.add(line, values, blank if instance is None else instance)
                        continue
                row = dict(zip(header, cells, strict=True))
                instance = resource.find_instance(row) or blank
                values, reader = resource.validate_row(row, line, instance)
                if reader.errors:
                    messages = sorted(((c, m) for c, ms in reader.errors.items() for m in ms),
                                      key=lambda item: order.get(item[0], len(order)))
                    bad_rows.add(line, cells, messages)
                elif not outcome.bad:  # after a bad row nothing will be written: stop staging
                    writer.add(line, values, instance)
            if not outcome.bad:
                writer.flush(cursor)
            state.rows_read += len(batch)
            state.rows_validated += len(batch)
            state.bad = outcome.bad
            state.read_fraction = stream.fraction()
            report(state)
        outcome.rows = state.rows_read
        state.read_fraction = 1.0
        if not outcome.rows:
            outcome.errors.append(no_data_rows_message())
        if outcome.errors:
            return
        state.phase = "writing"
        report(state)

        def written(fraction: float) -> None:
            state.write_fraction = fraction
            state.rows_written = int(state.rows_validated * fraction)
            report(state)

        result = writer.finish(cursor, now=timezone.now(), progress=written)
        if result.bad_rows:
            _bad_rows_found_writing(path, result.bad_rows, bad_rows)
            return
        if result.errors:
            outcome.errors.extend(result.errors)
            return
        outcome.created, outcome.updated, outcome.unchanged = result.created, result.updated, result.unchanged
        state.rows_written = state.rows_validated
        writer.end(cursor)  # after a rollback the temporary tables are gone with it


def _bad_rows_found_writing(path: Path, found: list[tuple[int, str, str]], bad_rows: _BadRows) -> None:
    """Report rows the writer refused as validation reports its bad rows: their cells are read again from the file
    (one more pass, only when a write finds bad rows)."""
    messages: dict[int, list[tuple[str, str]]] = {}
    for line, column, message in found:
        messages.setdefault(line, []).append((column, message))
    stream = open_rows(path)
    try:
        for line, cells in stream.rows:
            if line in messages:
                bad_rows.add(line, cells, messages.pop(line))
                if not messages:
                    break
    finally:
        stream.close()


def _batches(rows: Iterator[tuple[int, list[str]]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    try:
        for item in rows:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    except csv.Error as e:
        raise ImportFileError(_("the file is not readable as CSV: %(error)s") % {"error": e}) from None
    if batch:
        yield batch
