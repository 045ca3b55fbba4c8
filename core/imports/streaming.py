"""Reading an import file row by row, never whole: CSV through `csv.reader` over the file's lines, XLSX through
openpyxl's read-only mode. The rules are those of `table_from_rows` (header lower-cased, trailing empty header
cells dropped, blank rows skipped, short rows padded, extra non-empty cells refused)."""

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.utils.translation import gettext as _

from core.imports.base import ImportFileError, cell_text


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
                if data.startswith(b"\xef\xbb\xbf"):
                    start = 3
            try:
                text = data[start:].decode("utf-8")
            except UnicodeDecodeError as e:
                raise ImportFileError(_("the file is not UTF-8 text (byte %(pos)d); save it as CSV UTF-8")
                                      % {"pos": self.offset + start + e.start}) from None
            self.offset += len(data)
            yield text


def _shape(rows: Iterator[Sequence[Any]], *, texts: bool) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        first = next(rows)
    except StopIteration:
        raise ImportFileError(_("the file is empty; row 1 must be the header row")) from None
    header = [cell_text(c).lower() for c in first]
    while header and not header[-1]:
        header.pop()
    width = len(header)

    def data() -> Iterator[tuple[int, list[str]]]:
        for line, raw in enumerate(rows, start=2):
            cells = [c.strip() for c in raw] if texts else [cell_text(c) for c in raw]
            if not any(cells):
                continue
            if len(cells) > width:
                if any(cells[width:]):
                    raise ImportFileError(_("row %(row)d has %(cells)d cells but the header row has %(columns)d")
                                          % {"row": line, "cells": len(cells), "columns": width})
                cells = cells[:width]
            elif len(cells) < width:
                cells += [""] * (width - len(cells))
            yield line, cells

    return header, data()


def open_rows(path: Path) -> RowStream:
    """Open a `.csv` (UTF-8, a BOM accepted) or `.xlsx` file (its first sheet) for streaming; ImportFileError when
    it cannot be read (the same messages as `read_table`)."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        raw = path.open("rb")
        size = max(path.stat().st_size, 1)
        lines = _DecodedLines(raw)
        try:
            header, rows = _shape(iter(csv.reader(lines)), texts=True)
        except BaseException:
            raw.close()
            raise
        return RowStream(header=header, rows=rows, fraction=lambda: min(lines.offset / size, 1.0), close=raw.close)
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises zipfile, KeyError or its own errors for a damaged file
            raise ImportFileError(_("the file is not a readable XLSX workbook: %(error)s") % {"error": e}) from None
        sheet = book.active
        total = max(sheet.max_row or 1, 1)
        position = {"row": 0}

        def counted() -> Iterator[Sequence[Any]]:
            for values in sheet.iter_rows(values_only=True):
                position["row"] += 1
                yield values

        try:
            header, rows = _shape(counted(), texts=False)
        except BaseException:
            book.close()
            raise
        return RowStream(header=header, rows=rows, fraction=lambda: min(position["row"] / total, 1.0),
                         close=book.close)
    raise ImportFileError(_("cannot read a %(suffix)s file; use .csv or .xlsx") % {"suffix": suffix or path.name})
