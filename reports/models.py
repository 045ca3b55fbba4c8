"""Reports and supervision: summary tables the report pages read, their rebuild log, supervision settings and
the alerts the rules raise.

`FundExpenditure` and `FacilityMonth` are kept current by the settlement and reversal services (an upsert in the
same transaction, `reports.summaries.settlement_applied`); `AccountFlow` is rebuilt set-based per month from the
ledger entries written before the end of the last closed day (nightly, after credit runs and imports, on demand),
and the report adds the entries written since, read live from the ledger (`reports.summaries.account_flows_live`).
Proxy models give each report page its own `view` permission (`reports.view_<report>`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

POOLED_FUND = "310100"
SUPPLEMENTARY_FUND = "LOCAL_SUPP"


class FundType(models.TextChoices):
    POOLED = POOLED_FUND, _("pooled fund")
    SUPPLEMENTARY = SUPPLEMENTARY_FUND, _("local supplementary fund")


def money_field(verbose_name: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS + 4, decimal_places=MONEY_DECIMAL_PLACES,
                               default=0, **kwargs)


class FundExpenditure(models.Model):
    """Fund payments of settled (not reversed) settlements by service month, the enrollee's region, fund type,
    facility level, enrollee class and medical type."""

    month = models.DateField(_("month"), help_text=_("the first day of the service month"))
    region = models.ForeignKey("policies.Region", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="+")
    fund_type = models.CharField(_("fund type"), max_length=12, choices=FundType.choices)
    hosp_lv = models.CharField(_("facility level"), max_length=10, blank=True)
    enrollee_class = models.CharField(_("enrollee class"), max_length=30, blank=True)
    med_type = models.CharField(_("medical type"), max_length=2)
    settlements = models.IntegerField(_("settlements"), default=0)
    amount = money_field(_("fund paid"))

    class Meta:
        verbose_name = _("fund expenditure")
        verbose_name_plural = _("fund expenditure")
        constraints = [models.UniqueConstraint(
            fields=["month", "region", "fund_type", "hosp_lv", "enrollee_class", "med_type"],
            name="fundexpenditure_key")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.fund_type} {self.hosp_lv} {self.enrollee_class} {self.med_type}"


class FacilityMonth(models.Model):
    """Settled (not reversed) settlements of one facility in one service month, by medical type and disease:
    counts and every payer's total. Feeds the facility ranking, the reconciliation and the chronic-disease report."""

    month = models.DateField(_("month"), help_text=_("the first day of the service month"))
    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="+")
    med_type = models.CharField(_("medical type"), max_length=2)
    dise_codg = models.CharField(_("disease code"), max_length=20, blank=True)
    settlements = models.IntegerField(_("settlements"), default=0)
    medfee_sumamt = money_field(_("total"))
    hifp_pay = money_field(_("pooled fund"))
    oth_pay = money_field(_("supplementary fund"))
    fund_pay_sumamt = money_field(_("funds"))
    acct_pay = money_field(_("own account"))
    acct_mulaid_pay = money_field(_("relatives' accounts"))
    psn_cash_pay = money_field(_("cash"))

    class Meta:
        verbose_name = _("facility ranking")
        verbose_name_plural = _("facility ranking")
        constraints = [models.UniqueConstraint(fields=["month", "facility", "med_type", "dise_codg"],
                                               name="facilitymonth_key")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.facility_id} {self.med_type} {self.dise_codg}"


class FlowDirection(models.TextChoices):
    INCOME = "income", _("income")
    SPENDING = "spending", _("spending")
    OTHER = "other", _("transfer or correction")


class AccountFlow(models.Model):
    """Personal accounts' income and spending by month, the holder's region and ledger kind (a reversal counts
    under the kind it reverses), with the credit rule's name for credits and the relation for family payments.
    `amount` is the ledger's signed sum (spending negative); `entries` counts entries, net of reversals."""

    month = models.DateField(_("month"))
    region = models.ForeignKey("policies.Region", verbose_name=_("region"), on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    direction = models.CharField(_("direction"), max_length=10, choices=FlowDirection.choices)
    kind = models.CharField(_("kind"), max_length=25)
    credit_rule = models.CharField(_("credit rule"), max_length=100, blank=True)
    relation = models.CharField(_("relation"), max_length=10, blank=True)
    entries = models.IntegerField(_("entries"), default=0)
    amount = money_field(_("amount"))

    class Meta:
        verbose_name = _("account income and spending")
        verbose_name_plural = _("account income and spending")
        indexes = [models.Index(fields=["month", "region"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} {self.amount}"


class MutualAidReport(AccountFlow):
    class Meta:
        proxy = True
        verbose_name = _("family mutual aid")
        verbose_name_plural = _("family mutual aid")


class ChronicDiseaseReport(FacilityMonth):
    class Meta:
        proxy = True
        verbose_name = _("chronic diseases")
        verbose_name_plural = _("chronic diseases")


class CrossRegionReport(FacilityMonth):
    class Meta:
        proxy = True
        verbose_name = _("treatment in another region")
        verbose_name_plural = _("treatment in another region")


class RecognitionReport(FacilityMonth):
    class Meta:
        proxy = True
        verbose_name = _("disease recognitions by facility")
        verbose_name_plural = _("disease recognitions by facility")


class ReconciliationReport(FacilityMonth):
    class Meta:
        proxy = True
        verbose_name = _("facility reconciliation")
        verbose_name_plural = _("facility reconciliation")


class RebuildTrigger(models.TextChoices):
    """What asked for a rebuild (beside `rebuilt_by`, the person, when a person did)."""

    SCHEDULE = "schedule", _("nightly schedule")
    CREDIT_RUN = "credit_run", _("credit run")
    IMPORT_JOB = "import_job", _("import job")
    BY_HAND = "by_hand", _("by hand")
    COMMAND = "command", _("server command")


SUPERVISION_RUN = "supervision"
SUMMARY_TABLES = {"settlements": _("settlement summaries"), "account_flows": _("account income and spending"),
                  SUPERVISION_RUN: _("supervision rules")}


class SummaryRebuild(models.Model):
    """One rebuild of a summary table for a month: when, by whom, how many rows, how long it took; a run of the
    supervision rules over a month is recorded here too (`supervision`, its rows the alerts raised)."""

    table = models.CharField(_("summary"), max_length=30)
    month = models.DateField(_("month"))
    rebuilt_at = models.DateTimeField(_("rebuilt at"), auto_now_add=True)
    rows = models.IntegerField(_("rows"), default=0)
    seconds = models.DecimalField(_("seconds"), max_digits=10, decimal_places=3, default=0)
    rebuilt_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    trigger = models.CharField(_("started by"), max_length=20, choices=RebuildTrigger.choices, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True,
                              help_text=_("the credit run or import job that asked for it"))
    # Account flows: the summary holds the ledger entries written before this instant (the end of a closed day);
    # the report reads those written since live from the ledger.
    through = models.DateTimeField(_("entries written before"), null=True, blank=True)

    class Meta:
        verbose_name = _("summary rebuild")
        verbose_name_plural = _("summary rebuilds")
        ordering = ["-rebuilt_at"]
        indexes = [models.Index(fields=["table", "month"])]

    def __str__(self) -> str:
        return f"{self.table_label} {self.month:%Y-%m} {timezone.localtime(self.rebuilt_at):%Y-%m-%d %H:%M}"

    @property
    def table_label(self) -> str:
        return str(SUMMARY_TABLES.get(self.table, self.table))


# ---------------------------------------------------------------------------------------------------------------
# Supervision (基金监管): rules with staff-editable thresholds, and the alerts they raise for review.
# ---------------------------------------------------------------------------------------------------------------

class Rule(models.TextChoices):
    MULTI_FACILITY_DAY = "multi_facility_day", _("settlements at several facilities on one day")
    FREQUENT_VISITS = "frequent_visits", _("visits far above the usual count")
    MULAID_OUTLIER = "mulaid_outlier", _("mutual-aid spending far above peers")
    JUST_UNDER_CAP = "just_under_cap", _("repeated bills just under a cap")
    OVER_PRICE_LIMIT = "over_price_limit", _("items over their price limit")
    PHARMACY_JUMP = "pharmacy_jump", _("jump in a pharmacy's account-paid spending")
    IMPLAUSIBLE_BILL = "implausible_bill", _("bills over the plausibility limit")


class SupervisionSetting(models.Model):
    """The thresholds of one supervision rule. Which parameter means what depends on the rule (see `help`)."""

    rule = models.CharField(_("rule"), max_length=30, choices=Rule.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    min_count = models.PositiveIntegerField(_("minimum count"), default=0)
    ratio = models.DecimalField(_("ratio"), max_digits=8, decimal_places=4, default=0)
    amount = models.DecimalField(_("amount"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES,
                                 default=0)
    help = models.TextField(_("what the parameters mean"), blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supervision setting")
        verbose_name_plural = _("supervision settings")
        ordering = ["rule"]
        constraints = [models.CheckConstraint(condition=Q(ratio__gte=0, amount__gte=0), name="supervision_params_ok")]

    def __str__(self) -> str:
        return self.get_rule_display()


class SubjectType(models.TextChoices):
    PERSON = "person", _("person")
    FACILITY = "facility", _("facility")


class AlertRank(models.IntegerChoices):
    """How urgent an alert is, above its score: the list shows the highest rank first."""

    NORMAL = 1, _("normal")
    HIGHEST = 9, _("highest")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("open")
    CONFIRMED = "confirmed", _("confirmed")
    DISMISSED = "dismissed", _("dismissed")


class Alert(models.Model):
    """What a rule found about one person or facility in one period, with the settlements that show it.
    Unique per rule, subject and period: a rerun refreshes an open alert and leaves a reviewed one alone."""

    rule = models.CharField(_("rule"), max_length=30, choices=Rule.choices)
    subject_type = models.CharField(_("subject type"), max_length=10, choices=SubjectType.choices)
    subject_key = models.CharField(_("subject"), max_length=30, help_text=_("psn_no or fixmedins_code"))
    person = models.ForeignKey("accounts.Person", verbose_name=_("person"), on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+")
    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period until"))
    rank = models.PositiveSmallIntegerField(_("rank"), choices=AlertRank.choices, default=AlertRank.NORMAL)
    score = models.DecimalField(_("score"), max_digits=16, decimal_places=2, default=0,
                                help_text=_("the money at stake in the settlements that show it (yuan)"))
    detail = models.JSONField(_("detail"), default=dict)
    settlements = models.ManyToManyField("claims.Settlement", verbose_name=_("evidence"), through="AlertEvidence",
                                         related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    note = models.TextField(_("review note"), blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("refreshed at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("supervision alert")
        verbose_name_plural = _("supervision alerts")
        ordering = ["status", "-rank", "-score", "-period_start"]
        permissions = [("review_alert", _("Can review supervision alerts"))]
        constraints = [
            models.UniqueConstraint(fields=["rule", "subject_key", "period_start"], name="alert_once_per_period"),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "rule"])]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.subject_key} {self.period_start}"


class AlertEvidence(models.Model):
    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.CASCADE, related_name="evidence")
    settlement = models.ForeignKey("claims.Settlement", verbose_name=_("settlement"), on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        constraints = [models.UniqueConstraint(fields=["alert", "settlement"], name="alertevidence_unique")]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.settlement_id}"
