"""Clearing with facilities (清算, CONTRACT.md "Clearing with facilities"): what each fund owes each facility a
month, by payment method, after claim review, and its payment.

`ClearingApplication` is a facility's own claim for a period (national 3203, cancelled by 3204): kept beside the
system's figures on the month's statement, never a source of them.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import money_field


class ApplicationStatus(models.TextChoices):
    APPLIED = "applied", _("applied")
    CANCELLED = "cancelled", _("cancelled")


class ClearingApplication(models.Model):
    """A facility's clearing application (national 3203) for a period inside one month, as it sent it; cancelled
    (3204) rather than deleted."""

    clr_appy_evt_id = models.CharField(_("application id"), max_length=32, unique=True)
    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="clearing_applications")
    msgid = models.CharField(_("message id"), max_length=40, help_text=_("the facility's message that filed it"))
    month = models.DateField(_("month"), help_text=_("the first day of the month the period lies in"))
    clr_type = models.CharField(_("clearing type"), max_length=10,
                                help_text=_("11 outpatient and emergency, 14 chronic disease, 41 pharmacy"))
    clr_way = models.CharField(_("clearing way"), max_length=10, blank=True)
    setl_optins = models.CharField(_("settlement agency region"), max_length=10, blank=True)
    begndate = models.DateField(_("from"))
    enddate = models.DateField(_("until"))
    medfee_sumamt = money_field(_("total"))
    fund_appy_sumamt = money_field(_("fund payment applied for"))
    acct_pay = money_field(_("account payments"))
    cash_payamt = money_field(_("cash payments"))
    status = models.CharField(_("status"), max_length=10, choices=ApplicationStatus.choices,
                              default=ApplicationStatus.APPLIED)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("clearing application")
        verbose_name_plural = _("clearing applications")
        ordering = ["-month", "facility_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "msgid"], name="clearingapplication_msgid_once"),
            models.CheckConstraint(condition=Q(enddate__gte=models.F("begndate")),
                                   name="clearingapplication_period_ordered"),
            models.CheckConstraint(condition=Q(status__in=ApplicationStatus.values),
                                   name="clearingapplication_status_valid"),
        ]
        indexes = [models.Index(fields=["facility", "month"])]

    def __str__(self) -> str:
        return self.clr_appy_evt_id

    @property
    def is_cancelled(self) -> bool:
        return self.status == ApplicationStatus.CANCELLED
