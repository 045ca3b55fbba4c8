"""A what-if run as an XLSX workbook: one sheet per table (paid, under the version, difference, percentage) and
one of the most affected; money as exact two-decimal values, never via float."""

import io

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook

from reports.exports import XLSX
from whatif.models import WhatIfRun, WhatIfTop
from whatif.selectors import run_tables, run_tops, top_label


def run_xlsx(run: WhatIfRun) -> HttpResponse:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in run_tables(run):
        sheet = workbook.create_sheet(table.title[:31])
        head = [_("key"), _("settlements"), _("settlements paid differently")]
        for column in (table.rows[0].figures if table.rows else []):
            head += [f"{column.label} ({_('paid')})", f"{column.label} ({_('under the version')})",
                     f"{column.label} ({_('difference')})", f"{column.label} (%)"]
        sheet.append(head)
        for row in table.rows:
            values: list[object] = [row.label, row.settlements, row.changed]
            for figure in row.figures:
                values += [figure.actual, figure.whatif, figure.difference, figure.percent]
            sheet.append(values)
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                if hasattr(cell.value, "as_tuple"):
                    cell.number_format = "0.00"
    sheet = workbook.create_sheet(str(_("most affected"))[:31])
    sheet.append([_("kind"), _("rank"), _("enrollee or facility"), _("settlements"), _("fund payments paid"),
                  _("fund payments under the version"), _("difference"), _("cash paid"), _("cash under the version")])
    for kind, tops in run_tops(run).items():
        for top in tops:
            sheet.append([str(WhatIfTop.Kind(kind).label), top.rank, top_label(top), top.settlements,
                          top.actual_fund_pay_sumamt, top.whatif_fund_pay_sumamt, top.difference,
                          top.actual_psn_cash_pay, top.whatif_psn_cash_pay])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = (f'attachment; filename="whatif-{run.version.code}-{run.region.admdvs}-'
                                       f'{run.month_from:%Y%m}-{run.month_to:%Y%m}.xlsx"')
    return response
