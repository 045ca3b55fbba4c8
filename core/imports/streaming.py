"""Reading an import file row by row, never whole: CSV through `csv.reader` over the file's lines, XLSX through
openpyxl's read-only mode. Every path that reads an import file comes here (the command, the background jobs and
the admin's import button), so that a file is refused with the same message, and its rows are numbered the same
way, whichever path it takes.

The rules: the header row is row 1 (lower-cased, trailing empty header cells dropped); blank rows are skipped but
counted, so a row's number is the one a spreadsheet shows; short rows are padded; extra non-empty cells are
refused. A file is refused as a whole (`ImportFileError`) when it cannot be read as a table of text: not UTF-8
(UTF-16 is named), lines that end with a carriage return alone, a NUL character in a cell (named by row and
column), a sheet whose declared size hides rows or columns that hold values, or no data row under the header.
"""

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import tablib

from core.imports.base import ImportFileError, Table, cell_text, row_error_line
from core.imports.messages import stored_gettext as _

# How much of a CSV file is looked at to tell its encoding and its line endings.
SNIFF_BYTES = 64 * 1024
SUFFIXES = (".csv", ".txt", ".xlsx")


@dataclass
class RowStream:
    """A file opened for streaming: its header row, its data rows as (spreadsheet row number, cells), and how far
    through the file the reading is (0 to 1, for progress bars)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    fraction: Callable[[], float]
    close: Callable[[], None]


class _DecodedLines:
    """The lines of a binary file decoded as UTF-8 one by one (a BOM dropped), counting the bytes read so that a
    decoding error names its byte offset in the file."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.offset = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        for data in self.raw:
            start = 0
            if first:
                first = False
                if data.startswith(codecs.BOM_UTF8):
                    start = 3
            try:
                text = data[start:].decode("utf-8")
            except UnicodeDecodeError as e:
                raise ImportFileError(_("the file is not UTF-8 text (byte %(pos)d); save it as CSV UTF-8")
                                      % {"pos": self.offset + start + e.start}) from None
            self.offset += len(data)
            yield text


def _csv_sniff(raw: BinaryIO) -> None:
    """Refuse, before reading a row, a text file that is not UTF-8 or whose lines end with a carriage return alone
    (csv would fail on it somewhere in the middle, or read it as one long row)."""
    head = raw.read(SNIFF_BYTES)
    raw.seek(0)
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ImportFileError(_("the file is UTF-32 text; save it as CSV UTF-8"))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(_("the file is UTF-16 text (Excel's \"Unicode text\"); save it as CSV UTF-8"))
    first_line = head.split(b"\n", 1)[0]
    if b"\x00" in first_line:
        # UTF-16 without a byte-order mark: every other byte of the Latin header is a NUL.
        raise ImportFileError(_("the file is not UTF-8 text (its header row holds NUL bytes, as UTF-16 text does); "
                                "save it as CSV UTF-8"))
    if b"\r" in first_line.rstrip(b"\r"):
        raise ImportFileError(_("the file's lines end with a carriage return alone (CR, an old Mac format); save it "
                                "as CSV UTF-8, whose lines end with LF or CR LF"))


def _shape(rows: Iterator[Sequence[Any]], *, texts: bool) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        first = next(rows)
    except StopIteration:
        raise ImportFileError(_("the file is empty; row 1 must be the header row")) from None
    except csv.Error as e:
        raise _csv_error(1, e) from None
    header = [cell_text(c).lower() for c in first]
    while header and not header[-1]:
        header.pop()
    width = len(header)

    def data() -> Iterator[tuple[int, list[str]]]:
        line = 1
        while True:
            try:
                raw = next(rows)
            except StopIteration:
                break
            except csv.Error as e:
                raise _csv_error(line + 1, e) from None
            line += 1
            cells = list(map(str.strip, raw)) if texts else list(map(cell_text, raw))
            if not any(cells):
                continue
            if len(cells) > width:
                if any(cells[width:]):
                    raise ImportFileError(_("row %(row)d has %(cells)d cells but the header row has %(columns)d")
                                          % {"row": line, "cells": len(cells), "columns": width})
                cells = cells[:width]
            elif len(cells) < width:
                cells += [""] * (width - len(cells))
            if "\x00" not in "".join(cells):  # one search per row; the column is looked for only when found
                yield line, cells
                continue
            for column, value in zip(header, cells, strict=True):
                if "\x00" in value:
                    raise ImportFileError(row_error_line(line, column or "?", _(
                        "the cell holds a NUL character (byte 0), which is not text: the file is damaged or was "
                        "not saved as CSV UTF-8")))
            yield line, cells

    return header, data()


def _csv_error(line: int, error: csv.Error) -> ImportFileError:
    if "new-line character" in str(error):
        return ImportFileError(_("row %(row)d: a line break inside a cell that is not in quotes (a carriage return "
                                 "alone?); save the file as CSV UTF-8") % {"row": line})
    return ImportFileError(_("row %(row)d is not readable as CSV: %(error)s") % {"row": line, "error": error})


def _csv_stream(raw: BinaryIO, size: int) -> RowStream:
    _csv_sniff(raw)
    lines = _DecodedLines(raw)
    header, rows = _shape(iter(csv.reader(lines)), texts=True)
    return RowStream(header=header, rows=rows, fraction=lambda: min(lines.offset / size, 1.0), close=raw.close)


def _xlsx_stream(raw: BinaryIO) -> RowStream:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        book = load_workbook(raw, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises zipfile, KeyError or its own errors for a damaged file
        raise ImportFileError(_("the file is not a readable XLSX workbook: %(error)s") % {"error": e}) from None
    sheet = book.active
    # Read-only mode reads only the range the sheet declares (its <dimension> element), which some programs write
    # wrong: read everything, and refuse a file whose declared range leaves out cells with values.
    declared_rows, declared_columns = sheet.max_row, sheet.max_column
    declared = sheet.calculate_dimension() if declared_rows and declared_columns else ""
    sheet.reset_dimensions()
    total = max(declared_rows or 1, 1)
    position = {"row": 0}

    def outside(row: int, values: Sequence[Any]) -> str | None:
        """The first cell with a value outside the declared range, as A1 notation."""
        for column, value in enumerate(values, start=1):
            if cell_text(value) and (row > declared_rows or column > declared_columns):
                return f"{get_column_letter(column)}{row}"
        return None

    def counted() -> Iterator[Sequence[Any]]:
        for values in sheet.iter_rows(values_only=True):
            position["row"] += 1
            if declared and (cell := outside(position["row"], values)):
                raise ImportFileError(_(
                    "the sheet says it uses the cells %(range)s, but cell %(cell)s outside them holds a value: the "
                    "program that wrote the file got the sheet's size wrong, and rows or columns would be missed. "
                    "Open the file in Excel or WPS and save it again")
                    % {"range": declared, "cell": cell})
            yield values

    try:
        header, rows = _shape(counted(), texts=False)
    except BaseException:
        book.close()
        raise
    return RowStream(header=header, rows=rows, fraction=lambda: min(position["row"] / total, 1.0),
                     close=book.close)


def open_stream(raw: BinaryIO, *, name: str, size: int) -> RowStream:
    """Open a binary file object named `name` (its suffix tells the format) of `size` bytes for streaming."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError(_("cannot read a %(suffix)s file; use .csv or .xlsx") % {"suffix": suffix or name})
    if size == 0:
        raise ImportFileError(_("the file is empty; row 1 must be the header row"))
    try:
        return _xlsx_stream(raw) if suffix == ".xlsx" else _csv_stream(raw, size)
    except BaseException:
        raw.close()
        raise


def open_rows(path: Path) -> RowStream:
    """Open a `.csv` (UTF-8, a BOM accepted) or `.xlsx` file (its first sheet) for streaming; ImportFileError when
    it cannot be read."""
    if path.suffix.lower() not in SUFFIXES:
        raise ImportFileError(_("cannot read a %(suffix)s file; use .csv or .xlsx") % {"suffix": path.suffix
                                                                                          or path.name})
    return open_stream(path.open("rb"), name=path.name, size=path.stat().st_size)


def table_from_stream(stream: RowStream) -> Table:
    """Every row of an open stream in memory (small files: the admin's preview pages), then closes it.
    ImportFileError when a row is unreadable or there is no data row."""
    try:
        data: list[list[str]] = []
        line_numbers: list[int] = []
        for line, cells in stream.rows:
            data.append(cells)
            line_numbers.append(line)
    finally:
        stream.close()
    if not data:
        raise ImportFileError(no_data_rows_message())
    return Table(dataset=tablib.Dataset(*data, headers=stream.header), line_numbers=line_numbers)


def read_table(path: Path) -> Table:
    """Read a `.csv` (UTF-8, a BOM accepted) or `.xlsx` file (its first sheet) into a Table."""
    return table_from_stream(open_rows(path))


def read_table_bytes(data: bytes, *, name: str) -> Table:
    """`read_table` for an uploaded file held in memory."""
    return table_from_stream(open_stream(io.BytesIO(data), name=name, size=len(data)))


def no_data_rows_message() -> str:
    return _("the file has no data rows: row 1 is the header row and the data start in row 2")
