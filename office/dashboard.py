"""The home page's figures: today's and this month's settlements and what the funds paid, what waits for the user,
and what is about to go wrong. Each figure carries the address of the list it counts (the same filter), and a tile
shows only to users who may open that list.

Queries are a handful of aggregates whatever the size of the tables: today's settlements through the service-date
index, the month from the `FacilityMonth` summary (kept by the settlement path), the rest from small tables."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Exists, OuterRef, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.adjustments import APPROVE_PERMISSION as ADJUSTMENT_APPROVE_PERMISSION
from accounts.credits import credit_runs_stalled
from accounts.models import AccountAdjustment, CreditRun
from claims.models import Settlement, SettlementStatus
from clearing.models import Statement, StatementStatus
from core.admin import importable_kinds
from core.imports.jobs import APPROVE_PERMISSION as IMPORT_APPROVE_PERMISSION
from core.imports.jobs import import_jobs_fail_stale
from core.models import ImportJob
from core.money import fen
from policies.models import PolicyStatus, PolicyVersion
from reports.charts import Chart, bar_chart_svg
from reports.models import POOLED_FUND, SUPPLEMENTARY_FUND, Alert, AlertStatus, FacilityMonth

# A version in force that ends within this many days with nothing published after it is a warning.
POLICY_END_WARNING_DAYS = 60
# Failed imports and credit runs wait on the home page this many days.
FAILED_SHOWN_DAYS = 7

# Who paid the settlements' bills: the payer's key and the Settlement (and FacilityMonth) field of its part.
PAYERS = (("pooled", "hifp_pay"), ("supplementary", "oth_pay"), ("account", "acct_pay"),
          ("mutual_aid", "acct_mulaid_pay"), ("cash", "psn_cash_pay"))
FUND_OF_PAYER = {"pooled": POOLED_FUND, "supplementary": SUPPLEMENTARY_FUND}


@dataclass
class Figure:
    label: str
    value: int | Decimal
    url: str = ""
    note: str = ""


@dataclass
class Tile:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    empty: str = ""
    warn: bool = False


@dataclass
class Dashboard:
    today: datetime.date
    settlements: Tile | None = None
    payers: list[dict] = field(default_factory=list)
    chart: SafeString | str = ""
    tiles: list[Tile] = field(default_factory=list)
    system: list[Figure] = field(default_factory=list)


def _url(name: str, **params: object) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def _payer_label(key: str) -> str:
    labels = {"pooled": _("pooled fund"), "supplementary": _("local supplementary fund"),
              "account": _("personal account"), "mutual_aid": _("relatives' accounts (mutual aid)"),
              "cash": _("cash")}
    return labels[key]


def settlement_figures(today: datetime.date) -> tuple[dict, dict]:
    """(today, this month): the settled (not reversed) settlements' count, total billed and each payer's part."""
    sums = {key: Sum(name) for key, name in PAYERS}
    day = Settlement.objects.filter(setl_date=today, status=SettlementStatus.SETTLED).order_by().aggregate(
        count=Count("id"), billed=Sum("medfee_sumamt"), **sums)
    month = FacilityMonth.objects.filter(month=today.replace(day=1)).order_by().aggregate(
        count=Sum("settlements"), billed=Sum("medfee_sumamt"), **sums)
    return _figures(day), _figures(month)


def _figures(sums: dict) -> dict:
    return {key: (value or 0) if key == "count" else fen(value or 0) for key, value in sums.items()}


def _settlement_tile(user: object, today: datetime.date) -> tuple[Tile, list[dict], str]:
    day, month = settlement_figures(today)
    settled = {"status__exact": SettlementStatus.SETTLED}
    day_url = _url("admin:claims_settlement_changelist", setl_date__year=today.year, setl_date__month=today.month,
                   setl_date__day=today.day, **settled)
    month_url = _url("admin:claims_settlement_changelist", setl_date__year=today.year, setl_date__month=today.month,
                     **settled)
    tile = Tile(key="settlements", title=_("Settlements"), figures=[
        Figure(_("settled today"), day["count"], day_url),
        Figure(_("settled this month"), month["count"], month_url),
    ])
    can_report = user.has_perm("reports.view_fundexpenditure")
    month_param = f"{today:%Y-%m}"
    payers = []
    for key, _name in PAYERS:
        report = (_url("admin:reports_fundexpenditure_changelist", month=month_param, fund_type=FUND_OF_PAYER[key])
                  if key in FUND_OF_PAYER and can_report else month_url)
        payers.append({"label": _payer_label(key), "today": day[key], "today_url": day_url,
                       "month": month[key], "month_url": report})
    payers.append({"label": _("billed in all"), "today": day["billed"], "today_url": day_url,
                   "month": month["billed"], "month_url": month_url})
    chart = Chart(title=_("Paid this month, by payer"), labels=[p["label"] for p in payers[:-1]],
                  series=[(_("this month"), [p["month"] for p in payers[:-1]])],
                  links=[p["month_url"] for p in payers[:-1]])
    # Drawn at the size it is shown (the settlements tile is two columns wide): 13 px labels.
    return tile, payers, mark_safe(bar_chart_svg(chart, width=520, label_width=190, font=13))  # noqa: S308


def _waiting_tile(user: object, today: datetime.date) -> Tile:
    tile = Tile(key="waiting", title=_("Waiting for you"), empty=_("Nothing waits for you."))
    if user.has_perm(IMPORT_APPROVE_PERMISSION):
        count = ImportJob.objects.filter(status=ImportJob.Status.PENDING).count()
        if count:
            tile.figures.append(Figure(_("money imports awaiting approval"), count,
                                       _url("admin:core_importjob_changelist", status__exact=ImportJob.Status.PENDING)))
    if user.has_perm(ADJUSTMENT_APPROVE_PERMISSION):
        count = AccountAdjustment.objects.filter(status=AccountAdjustment.Status.PENDING).count()
        if count:
            tile.figures.append(Figure(_("money moved by hand awaiting approval"), count, _url(
                "admin:accounts_accountadjustment_changelist", status__exact=AccountAdjustment.Status.PENDING)))
    if user.has_perm("clearing.approve_statement"):
        count = Statement.objects.filter(status=StatementStatus.REVIEWED).count()
        if count:
            tile.figures.append(Figure(_("clearing statements to approve"), count, _url(
                "admin:clearing_statement_changelist", status__exact=StatementStatus.REVIEWED)))
    if user.has_perm("reports.review_alert"):
        count = Alert.objects.filter(status=AlertStatus.OPEN).count()
        if count:
            tile.figures.append(Figure(_("supervision alerts to review"), count,
                                       _url("admin:reports_alert_changelist", status__exact=AlertStatus.OPEN)))
    since = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=FAILED_SHOWN_DAYS),
                                                          datetime.time.min))
    if user.has_perm("core.view_importjob") or importable_kinds(user):
        import_jobs_fail_stale()
        jobs = ImportJob.objects.all()
        if not user.has_perm("core.view_importjob"):
            jobs = jobs.filter(started_by=user)
        failed = jobs.filter(status=ImportJob.Status.FAILED, created_at__gte=since).count()
        if failed:
            tile.figures.append(Figure(
                _("imports failed in the last %(days)d days") % {"days": FAILED_SHOWN_DAYS}, failed,
                _url("admin:core_importjob_changelist", status__exact=ImportJob.Status.FAILED,
                     created_at__gte=since.isoformat())))
    if user.has_perm("accounts.view_creditrun"):
        failed = CreditRun.objects.filter(status=CreditRun.Status.FAILED, started_at__gte=since).count()
        if failed:
            tile.figures.append(Figure(
                _("credit runs failed in the last %(days)d days") % {"days": FAILED_SHOWN_DAYS}, failed,
                _url("admin:accounts_creditrun_changelist", status__exact=CreditRun.Status.FAILED,
                     started_at__gte=since.isoformat())))
        for run in credit_runs_stalled():
            last = run.last_chunk_at or run.resumed_at or run.started_at
            tile.figures.append(Figure(
                _("credit run %(run)s: no chunk finished since %(at)s") % {
                    "run": run, "at": timezone.localtime(last).strftime("%Y-%m-%d %H:%M")},
                f"{run.chunks_done}/{run.chunks_total}",
                reverse("admin:accounts_creditrun_change", args=[run.pk])))
    tile.warn = bool(tile.figures)
    return tile


def policy_versions_ending(today: datetime.date) -> list[PolicyVersion]:
    """Published versions in force today that end within POLICY_END_WARNING_DAYS with no published version of
    the same region and insurance type starting after them."""
    later = PolicyVersion.objects.filter(region=OuterRef("region"), insutype=OuterRef("insutype"),
                                         status=PolicyStatus.PUBLISHED, effective_from__gt=OuterRef("effective_to"))
    return list(PolicyVersion.objects.filter(
        status=PolicyStatus.PUBLISHED, effective_from__lte=today, effective_to__gte=today,
        effective_to__lte=today + datetime.timedelta(days=POLICY_END_WARNING_DAYS),
    ).exclude(Exists(later)).select_related("region").order_by("effective_to", "code"))


def _warnings_tile(user: object, today: datetime.date) -> Tile | None:
    if not user.has_perm("policies.view_policyversion"):
        return None
    tile = Tile(key="warnings", title=_("About to go wrong"), empty=_("Nothing is about to go wrong."))
    for version in policy_versions_ending(today):
        days = (version.effective_to - today).days
        tile.figures.append(Figure(
            _("%(region)s: policy %(code)s ends %(date)s and no version follows it") % {
                "region": version.region.name, "code": version.code, "date": version.effective_to.isoformat()},
            days, _url("admin:policies_policyversion_changelist", region__id__exact=version.region_id),
            note=_("days left")))
    tile.warn = bool(tile.figures)
    return tile


def dashboard(request: HttpRequest) -> Dashboard:
    user = request.user
    today = timezone.localdate()
    board = Dashboard(today=today)
    if user.has_perm("claims.view_settlement"):
        board.settlements, board.payers, board.chart = _settlement_tile(user, today)
    board.tiles = [tile for tile in (_waiting_tile(user, today), _warnings_tile(user, today)) if tile is not None]
    if user.is_superuser:
        board.system = [Figure(_("Periodic tasks (Celery beat)"), "",
                               reverse("admin:app_list", args=["django_celery_beat"]))]
    return board
