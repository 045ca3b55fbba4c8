"""Reads of what-if runs: a run's tables (paid beside the version's, by fund and by dimension), its most affected
enrollees and facilities, a chart, and two runs side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.money import ZERO, fen
from policies.models import ClearingGroup, FacilityLevel, PolicyVersion
from reports.charts import Chart, bar_chart_svg
from whatif.models import AMOUNT_LABELS, COUNT_LABELS, Dimension, WhatIfCell, WhatIfRun, WhatIfTop
from whatif.services import version_fingerprint

# The amounts a dimension's table shows, in order.
TABLE_AMOUNTS = ("fund_pay_sumamt", "act_pay_dedc", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
TABLE_COUNTS = ("dedc_met", "cap_reached")


def percent(actual: Decimal, whatif: Decimal) -> str:
    """The change as a percentage of what was paid, one decimal; "" when nothing was paid."""
    if not actual:
        return ""
    return f"{fen((whatif - actual) * 100 / actual):+.1f}%"


@dataclass
class Compared:
    """One figure paid and under the version."""

    label: str
    actual: Decimal | int
    whatif: Decimal | int

    @property
    def difference(self) -> Decimal | int:
        return self.whatif - self.actual

    @property
    def percent(self) -> str:
        return percent(Decimal(self.actual), Decimal(self.whatif))


@dataclass
class Row:
    key: str
    label: str
    settlements: int
    changed: int
    figures: list[Compared]


@dataclass
class Table:
    dimension: str
    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)


def run_cells(run: WhatIfRun) -> QuerySet[WhatIfCell]:
    return WhatIfCell.objects.filter(run=run).order_by("dimension", "key")


def _key_labels(run: WhatIfRun) -> dict[str, dict[str, str]]:
    return {
        Dimension.TOTAL: {"": _("total")},
        Dimension.ENROLLEE_CLASS: {c.code: f"{c.code} {c.name}" for c in run.version.enrollee_classes.all()},
        Dimension.FACILITY_LEVEL: {v: f"{v} {label}" for v, label in FacilityLevel.choices},
        Dimension.MED_TYPE_GROUP: {v: f"{v} {label}" for v, label in ClearingGroup.choices},
        Dimension.MONTH: {},
    }


def run_tables(run: WhatIfRun) -> list[Table]:
    """The run's totals: by fund, then one table per dimension (total, enrollee class, facility level,
    medical-type group, month)."""
    cells = list(run_cells(run))
    labels = _key_labels(run)
    total = next((c for c in cells if c.dimension == Dimension.TOTAL), None)
    tables = []
    by_fund = Table("fund", _("By fund"), [_("fund")])
    if total is not None:
        pooled = [getattr(total, f"{side}_hifp_pay") - getattr(total, f"{side}_sep_hifp_pay")
                  for side in ("actual", "whatif")]
        for key, label, values in (
                ("310100", _("310100 pooled fund (general and chronic)"), pooled),
                ("310100-sep", _("310100 pooled fund: separately paid drugs"),
                 [total.actual_sep_hifp_pay, total.whatif_sep_hifp_pay]),
                ("LOCAL_SUPP", _("LOCAL_SUPP supplementary fund"), [total.actual_oth_pay, total.whatif_oth_pay]),
                ("", _("all funds"), [total.actual_fund_pay_sumamt, total.whatif_fund_pay_sumamt])):
            by_fund.rows.append(Row(key, label, total.settlements, total.changed,
                                    [Compared(str(AMOUNT_LABELS["fund_pay_sumamt"]), *values)]))
    tables.append(by_fund)
    columns = [str(AMOUNT_LABELS[a]) for a in TABLE_AMOUNTS] + [str(COUNT_LABELS[c]) for c in TABLE_COUNTS]
    for dimension, title in Dimension.choices:
        table = Table(dimension, str(title), columns)
        for cell in (c for c in cells if c.dimension == dimension):
            figures = [Compared(str(AMOUNT_LABELS[a]), getattr(cell, f"actual_{a}"), getattr(cell, f"whatif_{a}"))
                       for a in TABLE_AMOUNTS]
            figures += [Compared(str(COUNT_LABELS[c]), getattr(cell, f"actual_{c}"), getattr(cell, f"whatif_{c}"))
                        for c in TABLE_COUNTS]
            table.rows.append(Row(cell.key, labels[dimension].get(cell.key, cell.key or "-"), cell.settlements,
                                  cell.changed, figures))
        tables.append(table)
    return tables


def run_tops(run: WhatIfRun) -> dict[str, list[WhatIfTop]]:
    """The most affected enrollees and facilities, each with its person or facility (two statements)."""
    tops = list(WhatIfTop.objects.filter(run=run).select_related("person", "facility").order_by("kind", "rank"))
    return {kind: [t for t in tops if t.kind == kind] for kind in WhatIfTop.Kind.values}


def top_label(top: WhatIfTop) -> str:
    if top.person is not None:
        return f"{top.person.psn_no} {top.person.psn_name}"
    if top.facility is not None:
        return f"{top.facility.fixmedins_code} {top.facility.fixmedins_name}"
    return "-"


def run_chart(run: WhatIfRun) -> str:
    """Fund payments by month, paid beside under the version (reports.charts' SVG)."""
    months = [c for c in run_cells(run) if c.dimension == Dimension.MONTH]
    chart = Chart(title=_("Fund payments by month"), labels=[c.key for c in months],
                  series=[(_("paid"), [c.actual_fund_pay_sumamt for c in months]),
                          (_("under %(code)s") % {"code": run.version.code},
                           [c.whatif_fund_pay_sumamt for c in months])])
    return bar_chart_svg(chart)


def last_run_of(version: PolicyVersion) -> WhatIfRun | None:
    """The version's last finished run."""
    return (WhatIfRun.objects.filter(version=version, status=WhatIfRun.Status.DONE).select_related("region")
            .order_by("-finished_at", "-id").first())


@dataclass
class PublishCheck:
    """What the publish page says of a draft's what-if: its last run and whether the draft changed since."""

    run: WhatIfRun | None
    changed_since: bool
    total: WhatIfCell | None

    @property
    def fund(self) -> Compared | None:
        if self.total is None:
            return None
        return Compared(str(AMOUNT_LABELS["fund_pay_sumamt"]), self.total.actual_fund_pay_sumamt,
                        self.total.whatif_fund_pay_sumamt)


def publish_check(version: PolicyVersion) -> PublishCheck:
    run = last_run_of(version)
    if run is None:
        return PublishCheck(None, False, None)
    total = WhatIfCell.objects.filter(run=run, dimension=Dimension.TOTAL).first()
    return PublishCheck(run, run.version_hash != version_fingerprint(version), total)


@dataclass
class SideBySide:
    """Two runs' totals, figure by figure: a, b and b − a."""

    a: WhatIfRun
    b: WhatIfRun
    rows: list[tuple[str, Decimal | int, Decimal | int, Decimal | int]]


def runs_compared(a: WhatIfRun, b: WhatIfRun) -> SideBySide:
    totals = {c.run_id: c for c in WhatIfCell.objects.filter(run__in=[a, b], dimension=Dimension.TOTAL)}
    ta, tb = totals.get(a.pk), totals.get(b.pk)
    rows: list[tuple[str, Decimal | int, Decimal | int, Decimal | int]] = []
    for name in ("settlements", "changed"):
        va, vb = getattr(ta, name, 0), getattr(tb, name, 0)
        rows.append((str(WhatIfCell._meta.get_field(name).verbose_name), va, vb, vb - va))
    for name in ("fund_pay_sumamt", "hifp_pay", "oth_pay", "act_pay_dedc", "acct_pay", "acct_mulaid_pay",
                 "psn_cash_pay"):
        for side in ("actual", "whatif"):
            va = getattr(ta, f"{side}_{name}", ZERO)
            vb = getattr(tb, f"{side}_{name}", ZERO)
            rows.append((str(WhatIfCell._meta.get_field(f"{side}_{name}").verbose_name), va, vb, vb - va))
    for name in TABLE_COUNTS:
        for side in ("actual", "whatif"):
            va, vb = getattr(ta, f"{side}_{name}", 0), getattr(tb, f"{side}_{name}", 0)
            rows.append((str(WhatIfCell._meta.get_field(f"{side}_{name}").verbose_name), va, vb, vb - va))
    return SideBySide(a, b, rows)

