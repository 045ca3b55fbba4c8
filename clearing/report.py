"""The report of clearing per fund (region and insurance type) and facility by month: cleared (the statements'
lines), deducted, payable, owed (approved), carried (a part below zero moved to the next statement) and paid, with
a chart of what was paid by month and the reports' CSV and XLSX exports. Registered into the reports' table by the
app's ready(), so reports' pages, exports and API serve it."""

from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from clearing.models import ClearingReport
from clearing.paying import fund_positions
from reports.charts import single
from reports.definitions import Column, RegionForm, ReportResult, ReportSpec

ZERO = Decimal("0.00")
MONEY = ("cleared", "deducted", "payable", "owed", "carried", "paid")


def build_clearing(data: dict) -> ReportResult:
    rows = [{"month": f"{r['month']:%Y-%m}", "admdvs": r["admdvs"], "insutype": r["insutype"],
             "fixmedins_code": r["fixmedins_code"], "fixmedins_name": r["fixmedins_name"],
             **{key: Decimal(r[key]).quantize(Decimal("0.01")) for key in MONEY}}
            for r in fund_positions(first=data["first"], last=data["last"], admdvs=data["admdvs"])]
    paid_by_month: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        paid_by_month[row["month"]] += row["paid"]
    chart = single(str(_("Paid to facilities by month")), str(_("paid")), sorted(paid_by_month.items()))
    totals = {key: sum((row[key] for row in rows), ZERO) for key in MONEY}
    return ReportResult(rows=rows, totals=totals, chart=chart)


SPEC = ReportSpec("clearing", _("Clearing by fund and facility"), ClearingReport, RegionForm, (
    Column("month", _("month")), Column("admdvs", _("fund (region)")), Column("insutype", _("insurance type")),
    Column("fixmedins_code", _("facility code")),
    Column("fixmedins_name", _("facility")), Column("cleared", _("cleared"), "money"),
    Column("deducted", _("deducted"), "money"), Column("payable", _("payable"), "money"),
    Column("owed", _("owed (approved)"), "money"), Column("carried", _("carried to a next statement"), "money"),
    Column("paid", _("paid"), "money")), build_clearing)
