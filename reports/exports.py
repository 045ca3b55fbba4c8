"""CSV (UTF-8 with BOM, for spreadsheet programs) and XLSX exports of a report, with the same header row (the
column keys) and the same numbers: money as exact two-decimal values, never via float; a text a spreadsheet would
run as a formula is quoted (`core.exports.cell_safe`)."""

import csv
import io
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook

from core.exports import BOM, cell_safe
from reports.definitions import ReportResult, ReportSpec

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return "" if value is None else cell_safe(value)


def export_csv(spec: ReportSpec, result: ReportResult, filename: str) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    keys = [c.key for c in spec.columns]
    writer.writerow(keys)
    for row in result.rows:
        writer.writerow([_cell(row.get(k)) for k in keys])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def export_xlsx(spec: ReportSpec, result: ReportResult, filename: str) -> HttpResponse:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = spec.name[:31]
    keys = [c.key for c in spec.columns]
    sheet.append(keys)
    money = {c.key for c in spec.columns if c.kind == "money"}
    for number, row in enumerate(result.rows, start=2):
        # Decimal is written as its exact decimal text (openpyxl never converts it to float on write).
        sheet.append([cell_safe(row.get(k)) if row.get(k) is not None else "" for k in keys])
        for col, key in enumerate(keys, start=1):
            if key in money:
                sheet.cell(row=number, column=col).number_format = "0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
