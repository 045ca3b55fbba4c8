"""The reports: for each, its filter form, columns, the model whose `view` permission opens it, and how its rows,
totals and chart are built from a selector. The admin pages, the exports and the staff API all use these."""

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import EntryKind, Relation
from claims.models import CrossRegion, Facility, FacilityType, HospitalLevel
from core.parsers import contract_month
from policies.models import EnrolleeClass, Region
from reports import selectors
from reports.charts import Chart, single
from reports.models import (
    AccountFlow,
    ChronicDiseaseReport,
    CrossRegionReport,
    FacilityMonth,
    FlowDirection,
    FundExpenditure,
    FundType,
    MutualAidReport,
    RecognitionReport,
    ReconciliationReport,
)
from reports.summaries import account_flows_coverage, months_between

ZERO = Decimal("0.00")
MED_TYPES = {"11": _("general outpatient"), "13": _("emergency"), "14": _("chronic or special disease"),
             "41": _("pharmacy purchase")}


# The seeded enrollee classes by code (a policy's own classes show their name as the policy gives it).
ENROLLEE_CLASSES = {"in_service": pgettext_lazy("enrollee class", "in service"),
                    "retired": pgettext_lazy("enrollee class", "retired"),
                    "retired_from_2001": pgettext_lazy("enrollee class", "retired on or after 2001-01-01"),
                    "retired_before_2001": pgettext_lazy("enrollee class", "retired on or before 2000-12-31")}


def _labels(choices: object) -> dict[str, str]:
    return {code: str(label) for code, label in dict(choices).items()}


def _enrollee_class_labels() -> dict[str, str]:
    # The newest version's name of each code wins (later rows overwrite earlier ones); a seeded name is the
    # catalog's English (EnrolleeClass.__str__).
    names = dict(EnrolleeClass.objects.order_by("code", "version__effective_from").values_list("code", "name"))
    return {**{code: pgettext("enrollee class", name) for code, name in names.items()}, **_labels(ENROLLEE_CLASSES)}


def _region_names() -> dict[str, str]:
    return dict(Region.objects.values_list("admdvs", "name"))


def parse_month(value: str) -> datetime.date:
    # ASCII digits, two-digit month: strptime alone would read "2025-3" and fullwidth digits.
    month = contract_month(value)
    if month is None:
        raise forms.ValidationError(_("Enter a month as YYYY-MM."))
    return month


class MonthField(forms.Field):
    widget = forms.TextInput(attrs={"size": 7, "placeholder": "YYYY-MM"})

    def __init__(self, **kwargs: object) -> None:
        super().__init__(help_text=_("YYYY-MM"), **kwargs)

    def to_python(self, value: object) -> datetime.date | None:
        if isinstance(value, datetime.date):
            return value.replace(day=1)
        value = str(value or "").strip()
        return parse_month(value) if value else None


class PeriodForm(forms.Form):
    """Months `month_from`..`month_to` (default: this year to this month); `month` alone means one month."""

    month = MonthField(label=_("month"), required=False)
    month_from = MonthField(label=_("from"), required=False)
    month_to = MonthField(label=_("to"), required=False)

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        if data.get("month"):
            data["month_from"] = data["month_to"] = data["month"]
        data["first"] = data.get("month_from") or today.replace(month=1, day=1)
        data["last"] = data.get("month_to") or today.replace(day=1)
        if data["first"] > data["last"]:
            raise forms.ValidationError(_("The first month is after the last."))
        return data


class RegionForm(PeriodForm):
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all(), to_field_name="admdvs",
                                    required=False, empty_label=_("every region"))

    def clean(self) -> dict:
        data = super().clean()
        data["admdvs"] = data["region"].admdvs if data.get("region") else ""
        return data


def _choices(choices: object, everything: str) -> list:
    return [("", everything), *choices]


SETTLEMENTS_COUNT = pgettext_lazy("count", "settlements")
LEVELS = [*HospitalLevel.choices, ("pharmacy", _("pharmacy"))]


class ExpenditureForm(RegionForm):
    fund_type = forms.ChoiceField(label=_("fund type"), required=False, choices=_choices(FundType.choices, "—"))
    hosp_lv = forms.ChoiceField(label=_("facility level"), required=False,
                                choices=_choices(LEVELS, "—"))
    enrollee_class = forms.CharField(label=_("enrollee class"), required=False, max_length=30)
    med_type = forms.ChoiceField(label=_("medical type"), required=False, choices=_choices(MED_TYPES.items(), "—"))


class AccountFlowForm(RegionForm):
    direction = forms.ChoiceField(label=_("direction"), required=False, choices=_choices(FlowDirection.choices, "—"))


class ChronicForm(RegionForm):
    disease = forms.CharField(label=_("disease code"), required=False, max_length=6)


class CrossRegionForm(RegionForm):
    treated_in = forms.CharField(label=_("region of treatment"), required=False, max_length=6,
                                 help_text=_("a region code, e.g. 310000"))


class RankingForm(RegionForm):
    fixmedins_type = forms.ChoiceField(label=_("facility type"), required=False,
                                       choices=_choices(FacilityType.choices, "—"))
    hosp_lv = forms.ChoiceField(label=_("hospital level"), required=False, choices=_choices(HospitalLevel.choices, "—"))
    order = forms.ChoiceField(label=_("rank by"), required=False, initial="fund_paid",
                              choices=[("fund_paid", _("fund paid")), ("n_settlements", SETTLEMENTS_COUNT)])
    limit = forms.IntegerField(label=_("how many"), required=False, min_value=1, max_value=1000, initial=20)


class ReconciliationForm(PeriodForm):
    facility = forms.ModelChoiceField(label=_("facility"), queryset=Facility.objects.all(),
                                      to_field_name="fixmedins_code", widget=forms.TextInput,
                                      help_text=_("facility code"))


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int or money


@dataclass
class ReportResult:
    rows: list[dict]
    totals: dict = field(default_factory=dict)
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    model: type[models.Model]
    form_class: type[forms.Form]
    columns: tuple[Column, ...]
    build: Callable[[dict], ReportResult]
    rebuildable: bool = False

    @property
    def permission(self) -> str:
        return f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"


def _money(value: Decimal | None) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


def _sum(rows: list[dict], *keys: str) -> dict:
    return {k: sum((r[k] for r in rows), ZERO if isinstance(rows[0][k], Decimal) else 0) if rows else 0
            for k in keys}


def _by(rows: list[dict], label: Callable[[dict], str], value: str) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        totals[label(row)] += row[value]
    return list(totals.items())


def _flows_note(data: dict) -> list[str]:
    """Whether the account flows behind the report cover its months: the months never summarised are named (their
    figures are missing, not zero); for the others, up to when the summary holds the ledger (the entries written
    since are read live) and who or what last rebuilt it."""
    months = months_between(data["first"], data["last"])
    coverage = account_flows_coverage(months)
    if not coverage:
        return [str(_("Not rebuilt yet for these months: run the rebuild."))]
    missing = [f"{month:%Y-%m}" for month in months if month not in coverage]
    notes = [str(_("Not summarised yet, so missing from the figures: %(months)s. Run the rebuild for them.")
                 % {"months": ", ".join(missing)})] if missing else []
    through = min(rebuild.through for rebuild in coverage.values())
    latest = max(coverage.values(), key=lambda rebuild: (rebuild.rebuilt_at, rebuild.pk))
    by = (_("by %(user)s") % {"user": latest.rebuilt_by.get_username()} if latest.rebuilt_by
          else latest.get_trigger_display() or "—")
    return [*notes, str(_("Entries written before %(through)s are summarised (last rebuilt %(at)s, %(by)s); "
                          "those written since are read live from the ledger.") % {
        "through": timezone.localtime(through).strftime("%Y-%m-%d %H:%M"),
        "at": timezone.localtime(latest.rebuilt_at).strftime("%Y-%m-%d %H:%M"), "by": by})]


def build_expenditure(data: dict) -> ReportResult:
    funds, levels, meds = _labels(FundType.choices), _labels(LEVELS), _labels(MED_TYPES)
    classes, regions = _enrollee_class_labels(), _region_names()
    rows = [{"month": f"{r['month']:%Y-%m}", "admdvs": r["region__admdvs"],
             "admdvs_name": regions.get(r["region__admdvs"], ""), "fund_type": r["fund_type"],
             "fund_type_label": funds.get(r["fund_type"], ""), "hosp_lv": r["hosp_lv"],
             "hosp_lv_label": levels.get(r["hosp_lv"], ""), "enrollee_class": r["enrollee_class"],
             "enrollee_class_label": classes.get(r["enrollee_class"], ""), "med_type": r["med_type"],
             "med_type_label": meds.get(r["med_type"], ""),
             "settlements": r["n_settlements"], "fund_paid": _money(r["fund_paid"])}
            for r in selectors.fund_expenditure(first=data["first"], last=data["last"], admdvs=data["admdvs"],
                                                fund_type=data.get("fund_type", ""),
                                                hosp_lv=data.get("hosp_lv", ""),
                                                enrollee_class=data.get("enrollee_class", ""),
                                                med_type=data.get("med_type", ""))]
    chart = single(str(_("Fund paid by month")), str(_("fund paid")), _by(rows, lambda r: r["month"], "fund_paid"))
    return ReportResult(rows=rows, totals=_sum(rows, "settlements", "fund_paid"), chart=chart)


def build_account_flows(data: dict) -> ReportResult:
    labels, directions, regions = dict(EntryKind.choices), _labels(FlowDirection.choices), _region_names()
    rows = []
    for r in selectors.account_flows(first=data["first"], last=data["last"], admdvs=data["admdvs"],
                                     direction=data.get("direction", "")):
        amount = _money(r["total"])
        rows.append({"month": f"{r['month']:%Y-%m}", "admdvs": r["region__admdvs"] or "",
                     "admdvs_name": regions.get(r["region__admdvs"], ""),
                     "direction": r["direction"], "direction_label": directions.get(r["direction"], ""),
                     "kind": r["kind"], "kind_label": str(labels.get(r["kind"], "")),
                     "credit_rule": gettext(r["credit_rule"]) if r["credit_rule"] else "", "entries": r["n_entries"],
                     "income": amount if r["direction"] == FlowDirection.INCOME else ZERO,
                     "spending": -amount if r["direction"] == FlowDirection.SPENDING else ZERO,
                     "other": amount if r["direction"] == FlowDirection.OTHER else ZERO})
    months = sorted({r["month"] for r in rows})
    income = dict(_by(rows, lambda r: r["month"], "income"))
    spending = dict(_by(rows, lambda r: r["month"], "spending"))
    chart = Chart(title=str(_("Income and spending by month")), labels=months,
                  series=[(str(_("income")), [income[m] for m in months]),
                          (str(_("spending")), [spending[m] for m in months])])
    return ReportResult(rows=rows, totals=_sum(rows, "entries", "income", "spending", "other"), chart=chart,
                        notes=_flows_note(data))


def build_mutual_aid(data: dict) -> ReportResult:
    relations, kinds = dict(Relation.choices), dict(EntryKind.choices)
    rows = [{"relation": r["relation"], "relation_label": str(relations.get(r["relation"], "")),
             "kind": r["kind"], "kind_label": str(kinds.get(r["kind"], "")), "count": r["n_entries"],
             "amount": -_money(r["total"])}
            for r in selectors.mutual_aid(first=data["first"], last=data["last"], admdvs=data["admdvs"])]
    chart = single(str(_("Family payments by relation")), str(_("amount")),
                   _by(rows, lambda r: r["relation_label"] or r["relation"] or "—", "amount"))
    return ReportResult(rows=rows, totals=_sum(rows, "count", "amount"), chart=chart,
                        notes=_flows_note(data))


def build_chronic(data: dict) -> ReportResult:
    kw = {"first": data["first"], "last": data["last"], "admdvs": data["admdvs"], "disease": data.get("disease", "")}
    recognised = {r["disease__opsp_dise_code"]: r for r in selectors.chronic_recognised(**kw)}
    visits = {r["dise_codg"]: r for r in selectors.chronic_visits(**kw)}
    rows = []
    for code in sorted(set(recognised) | set(visits)):
        rec, vis = recognised.get(code, {}), visits.get(code, {})
        rows.append({"disease": code, "disease_name": rec.get("disease__opsp_dise_name", ""),
                     "recognised_persons": rec.get("persons", 0), "visits": vis.get("n_settlements", 0),
                     "medfee_sumamt": _money(vis.get("medfee")), "hifp_pay": _money(vis.get("hifp")),
                     "fund_paid": _money(vis.get("fund_paid"))})
    chart = single(str(_("Fund paid by disease")), str(_("fund paid")),
                   [(r["disease"], r["fund_paid"]) for r in rows])
    return ReportResult(rows=rows, totals=_sum(rows, "recognised_persons", "visits", "medfee_sumamt", "hifp_pay",
                                               "fund_paid"), chart=chart)


def build_cross_region(data: dict) -> ReportResult:
    kinds, regions = _labels(CrossRegion.choices), _region_names()
    rows = [{"treated_in": r["facility__region__admdvs"], "treated_in_name": r["facility__region__name"],
             "insured_in": r["policy_version__region__admdvs"] or "",
             "insured_in_name": regions.get(r["policy_version__region__admdvs"], ""), "cross_region": r["cross_region"],
             "cross_region_label": kinds.get(r["cross_region"], ""), "settlements": r["n_settlements"],
             "medfee_sumamt": _money(r["medfee"]), "fund_paid": _money(r["fund_paid"]),
             "accounts": _money(r["acct"]) + _money(r["mulaid"]), "cash": _money(r["cash"])}
            for r in selectors.cross_region_spending(first=data["first"], last=data["last"], admdvs=data["admdvs"],
                                                     treated_in=data.get("treated_in", ""))]
    chart = single(str(_("Spending by region of treatment")), str(_("total")),
                   _by(rows, lambda r: f"{r['treated_in']} {r['treated_in_name']}", "medfee_sumamt"))
    return ReportResult(rows=rows, totals=_sum(rows, "settlements", "medfee_sumamt", "fund_paid", "accounts",
                                               "cash"), chart=chart)


def build_recognitions(data: dict) -> ReportResult:
    rows = [{"disease": r["disease__opsp_dise_code"], "disease_name": r["disease__opsp_dise_name"],
             "fixmedins_code": r["facility__fixmedins_code"], "fixmedins_name": r["facility__fixmedins_name"],
             "persons": r["persons"], "approved": r["approved"], "refused": r["refused"], "expired": r["expired"],
             "pending": r["pending"]}
            for r in selectors.recognitions_by_facility(first=data["first"], last=data["last"],
                                                        admdvs=data["admdvs"], disease=data.get("disease", ""))]
    chart = single(str(_("Recognised persons by disease")), str(_("recognised persons")),
                   [(code, Decimal(n)) for code, n in _by(rows, lambda r: r["disease"], "persons")])
    return ReportResult(rows=rows, totals=_sum(rows, "persons", "approved", "refused", "expired", "pending"),
                        chart=chart)


def build_ranking(data: dict) -> ReportResult:
    order = data.get("order") or "fund_paid"
    types, levels = _labels(FacilityType.choices), _labels(HospitalLevel.choices)
    rows = [{"rank": n, "fixmedins_code": r["facility__fixmedins_code"],
             "fixmedins_name": r["facility__fixmedins_name"], "fixmedins_type": r["facility__fixmedins_type"],
             "fixmedins_type_label": types.get(r["facility__fixmedins_type"], ""), "hosp_lv": r["facility__hosp_lv"],
             "hosp_lv_label": levels.get(r["facility__hosp_lv"], ""),
             "settlements": r["n_settlements"], "medfee_sumamt": _money(r["medfee"]),
             "fund_paid": _money(r["fund_paid"])}
            for n, r in enumerate(selectors.facility_ranking(
                first=data["first"], last=data["last"], admdvs=data["admdvs"],
                fixmedins_type=data.get("fixmedins_type", ""), hosp_lv=data.get("hosp_lv", ""), order=order,
                limit=data.get("limit") or 20), start=1)]
    value = "settlements" if order == "n_settlements" else "fund_paid"
    chart = single(str(_("Facilities ranked")), str(SETTLEMENTS_COUNT if value == "settlements" else _("fund paid")),
                   [(r["fixmedins_code"], Decimal(r[value])) for r in rows])
    return ReportResult(rows=rows, totals=_sum(rows, "settlements", "medfee_sumamt", "fund_paid"), chart=chart)


RECONCILIATION_LINES = (
    ("310100", "hifp_pay", _("pooled fund")),
    ("LOCAL_SUPP", "oth_pay", _("local supplementary fund")),
    ("ACCT", "acct_pay", _("own account")),
    ("ACCT_MULAID", "acct_mulaid_pay", _("relatives' accounts")),
    ("CASH", "psn_cash_pay", _("cash")),
)


def build_reconciliation(data: dict) -> ReportResult:
    totals = selectors.reconciliation(facility=data["facility"], first=data["first"], last=data["last"])
    rows = [{"fund_pay_type": code, "label": str(label), "amount": _money(totals[name])}
            for code, name, label in RECONCILIATION_LINES]
    chart = single(str(_("Totals by payer")), str(_("amount")), [(r["label"], r["amount"]) for r in rows])
    return ReportResult(rows=rows, chart=chart, totals={
        "setl_cnt": totals["setl_cnt"], "medfee_sumamt": _money(totals["medfee_sumamt"]),
        "fund_pay_sumamt": _money(totals["fund_pay_sumamt"]), "amount": sum((r["amount"] for r in rows), ZERO)})


C = Column
REPORTS: dict[str, ReportSpec] = {spec.name: spec for spec in (
    ReportSpec("expenditure", _("Fund expenditure"), FundExpenditure, ExpenditureForm, (
        C("month", _("month")), C("admdvs", _("region")), C("admdvs_name", _("region name")),
        C("fund_type", _("fund type")),
        C("fund_type_label", _("fund name")), C("hosp_lv", _("facility level")), C("hosp_lv_label", _("level name")),
        C("enrollee_class", _("enrollee class")), C("enrollee_class_label", _("class name")),
        C("med_type", _("medical type")), C("med_type_label", _("medical type name")),
        C("settlements", SETTLEMENTS_COUNT, "int"),
        C("fund_paid", _("fund paid"), "money")), build_expenditure),
    ReportSpec("account-flows", _("Account income and spending"), AccountFlow, AccountFlowForm, (
        C("month", _("month")), C("admdvs", _("region")), C("admdvs_name", _("region name")),
        C("direction", _("direction")),
        C("direction_label", _("direction name")), C("kind", _("kind")),
        C("kind_label", _("kind")), C("credit_rule", _("credit rule")), C("entries", _("entries"), "int"),
        C("income", _("income"), "money"), C("spending", _("spending"), "money"),
        C("other", _("transfer or correction"), "money")), build_account_flows, rebuildable=True),
    ReportSpec("mutual-aid", _("Family mutual aid"), MutualAidReport, RegionForm, (
        C("relation", _("relation")), C("relation_label", _("relation")), C("kind", _("kind")),
        C("kind_label", _("kind")), C("count", _("payments"), "int"), C("amount", _("amount"), "money")),
        build_mutual_aid, rebuildable=True),
    ReportSpec("chronic-diseases", _("Chronic diseases"), ChronicDiseaseReport, ChronicForm, (
        C("disease", _("disease code")), C("disease_name", _("disease")),
        C("recognised_persons", _("recognised persons"), "int"), C("visits", _("visits"), "int"),
        C("medfee_sumamt", _("total"), "money"), C("hifp_pay", _("pooled fund"), "money"),
        C("fund_paid", _("funds"), "money")), build_chronic),
    ReportSpec("cross-region", _("Treatment in another region"), CrossRegionReport, CrossRegionForm, (
        C("treated_in", _("region of treatment")), C("treated_in_name", _("region of treatment")),
        C("insured_in", _("insured region")), C("insured_in_name", _("insured region")),
        C("cross_region", _("filing")),
        C("cross_region_label", _("filing")), C("settlements", SETTLEMENTS_COUNT, "int"),
        C("medfee_sumamt", _("total"), "money"), C("fund_paid", _("funds"), "money"),
        C("accounts", _("accounts"), "money"), C("cash", _("cash"), "money")), build_cross_region),
    ReportSpec("recognitions", _("Disease recognitions by facility"), RecognitionReport, ChronicForm, (
        C("disease", _("disease code")), C("disease_name", _("disease")),
        C("fixmedins_code", _("facility code")), C("fixmedins_name", _("facility")),
        C("persons", _("recognised persons"), "int"), C("approved", _("approved in the period"), "int"),
        C("refused", _("refused in the period"), "int"), C("expired", _("ended in the period"), "int"),
        C("pending", _("awaiting review now"), "int")), build_recognitions),
    ReportSpec("facilities", _("Facilities ranked"), FacilityMonth, RankingForm, (
        C("rank", _("rank"), "int"), C("fixmedins_code", _("facility code")), C("fixmedins_name", _("facility")),
        C("fixmedins_type", _("facility type")), C("fixmedins_type_label", _("facility type name")),
        C("hosp_lv", _("hospital level")), C("hosp_lv_label", _("level name")),
        C("settlements", SETTLEMENTS_COUNT, "int"), C("medfee_sumamt", _("total"), "money"),
        C("fund_paid", _("fund paid"), "money")), build_ranking),
    ReportSpec("reconciliation", _("Facility reconciliation"), ReconciliationReport, ReconciliationForm, (
        C("fund_pay_type", _("fund type")), C("label", _("payer")), C("amount", _("amount"), "money")),
        build_reconciliation),
)}


def report_run(spec: ReportSpec, params: object) -> tuple[forms.Form, ReportResult | None]:
    """Validate the filters and build the report (None when the filters are invalid)."""
    form = spec.form_class(params)
    if not form.is_valid():
        return form, None
    return form, spec.build(form.cleaned_data)
