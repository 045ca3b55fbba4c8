"""Reads for the reports: each returns an aggregated queryset over a summary table (never over the settlements,
so a page answers in milliseconds whatever the number of settlements), but for the visits in another region, a
small share of the settlements read through their own partial index, and for the account flows, whose entries
written since the last closed day are read live from the ledger (today's, through its `created_at` index) and
added to the summary's. Money stays Decimal."""

import datetime
from collections import defaultdict

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import EntryKind
from claims.models import Facility, Recognition, RecognitionStatus, Settlement, SettlementStatus
from core.money import ZERO
from policies.models import Region
from reports.models import AccountFlow, FacilityMonth, FundExpenditure
from reports.summaries import account_flows_coverage, account_flows_live, month_next, months_between

CHRONIC = "14"
FAMILY_KINDS = (EntryKind.MULAID_SETTLEMENT, EntryKind.RELATIVE_CONTRIBUTION)


def _months(qs: QuerySet, first: datetime.date, last: datetime.date) -> QuerySet:
    return qs.filter(month__gte=first, month__lte=last)


def fund_expenditure(*, first: datetime.date, last: datetime.date, admdvs: str = "", fund_type: str = "",
                     hosp_lv: str = "", enrollee_class: str = "", med_type: str = "") -> QuerySet:
    """Fund paid by month × region × fund type × facility level × enrollee class × medical type."""
    qs = _months(FundExpenditure.objects.all(), first, last)
    for field, value in (("region__admdvs", admdvs), ("fund_type", fund_type), ("hosp_lv", hosp_lv),
                         ("enrollee_class", enrollee_class), ("med_type", med_type)):
        if value:
            qs = qs.filter(**{field: value})
    keys = ("month", "region__admdvs", "fund_type", "hosp_lv", "enrollee_class", "med_type")
    return (qs.values(*keys).annotate(n_settlements=Sum("settlements"), fund_paid=Sum("amount"))
            .exclude(n_settlements=0, fund_paid=0).order_by(*keys))


def account_flow_rows(*, first: datetime.date, last: datetime.date, admdvs: str = "") -> list[dict]:
    """The account flows of the months `first`..`last` that are summarised: each month's summary rows plus the
    entries written since it, read live (`reports.summaries.account_flows_live`), added up by key. A month never
    summarised has no rows (the report names it)."""
    months = months_between(first, last)
    coverage = account_flows_coverage(months)
    regions = dict(Region.objects.values_list("pk", "admdvs"))
    summary = AccountFlow.objects.filter(month__in=list(coverage)).values(
        "month", "region_id", "direction", "kind", "credit_rule", "relation", "entries", "amount")
    live = account_flows_live({month: rebuild.through for month, rebuild in coverage.items()})
    totals: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for row in (*summary, *live):
        key = (row["month"], regions.get(row["region_id"]), row["direction"], row["kind"], row["credit_rule"],
               row["relation"])
        totals[key][0] += row["entries"]
        totals[key][1] += row["amount"]
    return [{"month": key[0], "region__admdvs": key[1], "direction": key[2], "kind": key[3], "credit_rule": key[4],
             "relation": key[5], "entries": n, "amount": amount}
            for key, (n, amount) in totals.items() if not admdvs or key[1] == admdvs]


def _grouped(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    totals: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for row in rows:
        key = tuple(row[k] for k in keys)
        totals[key][0] += row["entries"]
        totals[key][1] += row["amount"]
    return [{**dict(zip(keys, key, strict=True)), "n_entries": n, "total": total}
            for key, (n, total) in sorted(totals.items(), key=lambda item: tuple(str(k or "") for k in item[0]))
            if n or total]


def account_flows(*, first: datetime.date, last: datetime.date, admdvs: str = "", direction: str = "") -> list[dict]:
    """Personal accounts' income and spending by month × region × direction × kind × credit rule."""
    rows = [r for r in account_flow_rows(first=first, last=last, admdvs=admdvs)
            if not direction or r["direction"] == direction]
    return _grouped(rows, ("month", "region__admdvs", "direction", "kind", "credit_rule"))


def mutual_aid(*, first: datetime.date, last: datetime.date, admdvs: str = "") -> list[dict]:
    """Family payments (mutual-aid settlements and relatives' contributions) by relation and kind."""
    rows = [r for r in account_flow_rows(first=first, last=last, admdvs=admdvs) if r["kind"] in FAMILY_KINDS]
    return _grouped(rows, ("relation", "kind"))


def chronic_visits(*, first: datetime.date, last: datetime.date, admdvs: str = "", disease: str = "") -> QuerySet:
    """Chronic-disease (`med_type` 14) visits and payments per disease, at facilities of the region."""
    qs = _months(FacilityMonth.objects.filter(med_type=CHRONIC), first, last)
    if admdvs:
        qs = qs.filter(facility__region__admdvs=admdvs)
    if disease:
        qs = qs.filter(dise_codg=disease)
    return (qs.values("dise_codg").annotate(n_settlements=Sum("settlements"), medfee=Sum("medfee_sumamt"),
                                            fund_paid=Sum("fund_pay_sumamt"), hifp=Sum("hifp_pay"))
            .exclude(n_settlements=0).order_by("dise_codg"))


def chronic_recognised(*, first: datetime.date, last: datetime.date, admdvs: str = "", disease: str = "",
                       ) -> QuerySet:
    """Persons recognised for each disease at some time in the period (at facilities of the region)."""
    end = month_next(last) - datetime.timedelta(days=1)
    qs = (Recognition.objects.approved().filter(begndate__lte=end)
          .filter(Q(enddate__isnull=True) | Q(enddate__gte=first)))
    if admdvs:
        qs = qs.filter(facility__region__admdvs=admdvs)
    if disease:
        qs = qs.filter(disease__opsp_dise_code=disease)
    return (qs.values("disease__opsp_dise_code", "disease__opsp_dise_name")
            .annotate(persons=Count("person", distinct=True)).order_by("disease__opsp_dise_code"))


def facility_ranking(*, first: datetime.date, last: datetime.date, admdvs: str = "", fixmedins_type: str = "",
                     hosp_lv: str = "", order: str = "fund_paid", limit: int = 20) -> QuerySet:
    """Facilities ranked by fund paid (or by number of settlements) in the period."""
    qs = _months(FacilityMonth.objects.all(), first, last)
    if admdvs:
        qs = qs.filter(facility__region__admdvs=admdvs)
    if fixmedins_type:
        qs = qs.filter(facility__fixmedins_type=fixmedins_type)
    if hosp_lv:
        qs = qs.filter(facility__hosp_lv=hosp_lv)
    keys = ("facility__fixmedins_code", "facility__fixmedins_name", "facility__fixmedins_type", "facility__hosp_lv")
    ranked = (qs.values(*keys).annotate(n_settlements=Sum("settlements"), medfee=Sum("medfee_sumamt"),
                                        fund_paid=Sum("fund_pay_sumamt"))
              .exclude(n_settlements=0))
    second = "fund_paid" if order == "n_settlements" else "n_settlements"
    return ranked.order_by(f"-{order}", f"-{second}", "facility__fixmedins_code")[:limit]


def reconciliation(*, facility: Facility, first: datetime.date, last: datetime.date) -> dict:
    """A facility's totals for the months `first`..`last`, by payer (settled, not reversed)."""
    totals = _months(FacilityMonth.objects.filter(facility=facility), first, last).aggregate(
        setl_cnt=Sum("settlements"), medfee_sumamt=Sum("medfee_sumamt"), hifp_pay=Sum("hifp_pay"),
        oth_pay=Sum("oth_pay"), fund_pay_sumamt=Sum("fund_pay_sumamt"), acct_pay=Sum("acct_pay"),
        acct_mulaid_pay=Sum("acct_mulaid_pay"), psn_cash_pay=Sum("psn_cash_pay"))
    return {key: (value if value is not None else 0) for key, value in totals.items()}


def cross_region_spending(*, first: datetime.date, last: datetime.date, admdvs: str = "",
                          treated_in: str = "") -> QuerySet:
    """Settlements in another region than the insured one (not reversed) by region of treatment × insured region
    × filed or not: their count, totals and payers. `admdvs` the insured region, `treated_in` the region of
    treatment. Reads the settlements through the partial index `settlement_cross_region`."""
    end = month_next(last) - datetime.timedelta(days=1)
    qs = Settlement.objects.filter(setl_date__gte=first, setl_date__lte=end, status=SettlementStatus.SETTLED).exclude(
        cross_region="")
    if admdvs:
        qs = qs.filter(policy_version__region__admdvs=admdvs)
    if treated_in:
        qs = qs.filter(facility__region__admdvs=treated_in)
    keys = ("facility__region__admdvs", "facility__region__name", "policy_version__region__admdvs", "cross_region")
    return (qs.values(*keys).annotate(n_settlements=Count("id"), medfee=Sum("medfee_sumamt"),
                                      fund_paid=Sum("fund_pay_sumamt"), acct=Sum("acct_pay"),
                                      mulaid=Sum("acct_mulaid_pay"), cash=Sum("psn_cash_pay"))
            .order_by(*keys))


def recognitions_by_facility(*, first: datetime.date, last: datetime.date, admdvs: str = "",
                             disease: str = "") -> QuerySet:
    """Recognitions by disease × facility (of the region): persons recognised at some time in the period,
    recognitions that ended in it (expired), applications decided in it (approved, refused), and applications
    awaiting review now."""
    end = month_next(last) - datetime.timedelta(days=1)
    approved = Q(status=RecognitionStatus.APPROVED)
    valid = approved & Q(begndate__lte=end) & (Q(enddate__isnull=True) | Q(enddate__gte=first))
    ended = approved & Q(enddate__gte=first, enddate__lte=end)
    decided = Q(decided_at__date__gte=first, decided_at__date__lte=end)
    pending = Q(status=RecognitionStatus.APPLIED)
    qs = Recognition.objects.filter(valid | decided | pending)
    if admdvs:
        qs = qs.filter(facility__region__admdvs=admdvs)
    if disease:
        qs = qs.filter(disease__opsp_dise_code=disease)
    keys = ("disease__opsp_dise_code", "disease__opsp_dise_name", "facility__fixmedins_code",
            "facility__fixmedins_name")
    return (qs.values(*keys).annotate(
        persons=Count("person", filter=valid, distinct=True), expired=Count("id", filter=ended),
        approved=Count("id", filter=decided & approved), refused=Count("id", filter=decided & Q(
            status=RecognitionStatus.REFUSED)), pending=Count("id", filter=pending)).order_by(*keys))
