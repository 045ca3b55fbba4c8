"""Clearing with facilities (清算, CONTRACT.md "Clearing with facilities"): what each fund owes each facility a
month, by payment method, after claim review, and its payment.

`Signing` is an enrollee's primary-care contract with a facility (家庭医生签约): the base of capitation.

`ClearingApplication` is a facility's own claim for a period (national 3203, cancelled by 3204): kept beside the
system's figures on the month's statement, never a source of them.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
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


class Signing(models.Model):
    """An enrollee's primary-care contract (家庭医生签约) with a medical institution for a period: capitation pays
    the facility for each enrollee signed with it on a month's first day, and the signing ties the person to the
    facility for the partner API while it is valid."""

    person = models.ForeignKey("accounts.Person", verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="signings")
    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="signings", db_index=False)
    begndate = models.DateField(_("signed from"))
    enddate = models.DateField(_("signed until"), null=True, blank=True, help_text=_("blank: open"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("primary-care signing")
        verbose_name_plural = _("primary-care signings")
        ordering = ["person_id", "begndate"]
        constraints = [
            models.UniqueConstraint(fields=["person", "facility", "begndate"], name="signing_unique_key"),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="signing_period_ordered"),
        ]
        # Capitation counts a facility's signings valid on a day; the tie rule asks for one facility and person.
        indexes = [models.Index(fields=["facility", "begndate"])]

    def __str__(self) -> str:
        return f"{self.person.psn_no} @ {self.facility.fixmedins_code} {self.begndate}"

    def valid_on(self, day: datetime.date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)

    def clean(self) -> None:
        if self.enddate and self.begndate and self.enddate < self.begndate:
            raise ValidationError({"enddate": _("ends before it starts")})
        if self.facility_id and self.facility.is_pharmacy:
            raise ValidationError({"facility": _("enrollees sign with a medical institution, not a pharmacy")})
        if self.person_id and self.begndate:
            for other in Signing.objects.filter(person_id=self.person_id).exclude(pk=self.pk).exclude(
                    facility_id=self.facility_id).select_related("facility"):
                if periods_meet(other.begndate, other.enddate, self.begndate, self.enddate):
                    raise ValidationError(_("%(psn_no)s is signed with %(facility)s from %(begin)s: a person is "
                                            "signed with one facility at a time; end that signing first")
                                          % {"psn_no": self.person.psn_no, "facility": other.facility,
                                             "begin": other.begndate})


def periods_meet(a_begin: datetime.date, a_end: datetime.date | None, b_begin: datetime.date,
                 b_end: datetime.date | None) -> bool:
    """Whether two periods (an end None: open) share a day."""
    return (a_end is None or b_begin <= a_end) and (b_end is None or a_begin <= b_end)
