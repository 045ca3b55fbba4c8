"""What-if runs (试算): a policy version's rules replayed over a region's real settlements of some months. Nothing
real is written: a run keeps its totals in its own tables (by dimension) and its most affected enrollees and
facilities."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.money import money_field

SIDES = ("actual", "whatif")
SIDE_LABELS = {"actual": _("paid"), "whatif": _("under the version")}
# The amounts a run adds up, for what was paid (`actual_…`) and what the version would have paid (`whatif_…`).
AMOUNTS = ("fund_pay_sumamt", "hifp_pay", "oth_pay", "sep_hifp_pay", "act_pay_dedc", "acct_pay", "acct_mulaid_pay",
           "psn_cash_pay")
AMOUNT_LABELS = {
    "fund_pay_sumamt": _("fund payments"),
    "hifp_pay": _("pooled fund"),
    "oth_pay": _("supplementary fund"),
    "sep_hifp_pay": _("separately paid drugs (pooled fund)"),
    "act_pay_dedc": _("deductibles paid"),
    "acct_pay": _("own accounts"),
    "acct_mulaid_pay": _("relatives' accounts"),
    "psn_cash_pay": _("cash"),
}
# Enrollees the run counts: those whose deductible was met, and those who reached an annual cap.
COUNTS = ("dedc_met", "cap_reached")
COUNT_LABELS = {"dedc_met": _("enrollees meeting the deductible"), "cap_reached": _("enrollees reaching the cap")}


class WhatIfRun(models.Model):
    """One what-if run: a version, a region and months of service dates."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    version = models.ForeignKey("policies.PolicyVersion", verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="whatif_runs")
    version_hash = models.CharField(_("rules fingerprint"), max_length=64, editable=False,
                                    help_text=_("a digest of the version's rules when the run started: a draft "
                                                "changed since no longer matches it"))
    region = models.ForeignKey("policies.Region", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="+")
    month_from = models.DateField(_("from month"))
    month_to = models.DateField(_("to month"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("settlements to replay"), default=0)
    done = models.PositiveIntegerField(_("settlements replayed"), default=0)
    settlements = models.PositiveIntegerField(_("settlements of the period"), default=0)
    refused = models.PositiveIntegerField(
        _("visits the version would refuse"), default=0,
        help_text=_("visits no rule of the version settles (a medical type or disease it does not cover): no fund "
                    "pays them, the accounts and cash do"))
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("what-if run")
        verbose_name_plural = _("what-if runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(month_to__gte=models.F("month_from")), name="whatifrun_months_order"),
            models.CheckConstraint(condition=Q(status__in=["queued", "running", "done", "failed"]),
                                   name="whatifrun_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.version.code} {self.region.admdvs} {self.month_from:%Y-%m}–{self.month_to:%Y-%m}"

    @property
    def progress(self) -> int:
        """Percent replayed."""
        if self.status == self.Status.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


class Dimension(models.TextChoices):
    TOTAL = "total", _("total")
    ENROLLEE_CLASS = "enrollee_class", _("enrollee class")
    FACILITY_LEVEL = "hosp_lv", _("facility level")
    MED_TYPE_GROUP = "med_type_group", _("medical-type group")
    MONTH = "month", _("month")


def _amount_fields() -> dict[str, models.DecimalField]:
    return {f"{side}_{name}": money_field(format_lazy("{} ({})", AMOUNT_LABELS[name], SIDE_LABELS[side]),
                                                  default=0) for side in SIDES for name in AMOUNTS}


def _count_fields() -> dict[str, models.PositiveIntegerField]:
    return {f"{side}_{name}": models.PositiveIntegerField(
        format_lazy("{} ({})", COUNT_LABELS[name], SIDE_LABELS[side]), default=0)
            for side in SIDES for name in COUNTS}


class WhatIfCell(models.Model):
    """A run's sums over the settlements of one key of one dimension (the total: one cell, key "")."""

    run = models.ForeignKey(WhatIfRun, verbose_name=_("what-if run"), on_delete=models.CASCADE, related_name="cells")
    dimension = models.CharField(_("by"), max_length=20, choices=Dimension.choices)
    key = models.CharField(_("key"), max_length=30, blank=True)
    settlements = models.PositiveIntegerField(_("settlements"), default=0)
    changed = models.PositiveIntegerField(_("settlements paid differently"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    locals().update(_amount_fields())
    locals().update(_count_fields())

    class Meta:
        verbose_name = _("what-if total")
        verbose_name_plural = _("what-if totals")
        ordering = ["run", "dimension", "key"]
        constraints = [models.UniqueConstraint(fields=["run", "dimension", "key"], name="whatifcell_unique"),
                       models.CheckConstraint(condition=Q(dimension__in=Dimension.values),
                                              name="whatifcell_dimension_valid")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.dimension} {self.key}"


class WhatIfTop(models.Model):
    """One of the enrollees or facilities whose fund payments the run changes most (by the difference's size)."""

    class Kind(models.TextChoices):
        ENROLLEE = "enrollee", _("enrollee")
        FACILITY = "facility", _("facility")

    run = models.ForeignKey(WhatIfRun, verbose_name=_("what-if run"), on_delete=models.CASCADE, related_name="tops")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    rank = models.PositiveSmallIntegerField(_("rank"))
    person = models.ForeignKey("accounts.Person", verbose_name=_("enrollee"), on_delete=models.CASCADE, null=True,
                               blank=True, related_name="+")
    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+")
    settlements = models.PositiveIntegerField(_("settlements"))
    actual_fund_pay_sumamt = money_field(_("fund payments paid"))
    whatif_fund_pay_sumamt = money_field(_("fund payments under the version"))
    actual_psn_cash_pay = money_field(_("cash paid"))
    whatif_psn_cash_pay = money_field(_("cash under the version"))

    class Meta:
        verbose_name = _("most affected")
        verbose_name_plural = _("most affected")
        ordering = ["run", "kind", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "kind", "rank"], name="whatiftop_unique"),
                       models.CheckConstraint(condition=Q(kind__in=["enrollee", "facility"]),
                                              name="whatiftop_kind_valid")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} {self.rank}"

    @property
    def difference(self):  # noqa: ANN201
        return self.whatif_fund_pay_sumamt - self.actual_fund_pay_sumamt
