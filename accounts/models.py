"""The registry of people: employers, persons (identified by resident ID), their employee-insurance enrollments
and the family links that let one person's account pay for another."""

import datetime

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.certno import certno_clean, certno_mask
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from policies.models import Region


def certno_validator(value: str) -> None:
    certno_clean(value)


class Gender(models.TextChoices):
    MALE = "1", _("male")
    FEMALE = "2", _("female")


class InsuType(models.TextChoices):
    EMPLOYEE = "310", _("employee basic medical insurance")
    RESIDENT = "390", _("resident basic medical insurance")


class PsnType(models.TextChoices):
    IN_SERVICE = "1101", _("in-service employee")
    FLEXIBLE_IN_SERVICE = "1103", _("flexible-employment in-service")
    RETIRED = "1201", _("retired employee")
    FLEXIBLE_RETIRED = "1203", _("flexible-employment retired")


RETIRED_PSN_TYPES = (PsnType.RETIRED, PsnType.FLEXIBLE_RETIRED)
# The in-service type a retired enrollee had before retire_date (for service dates before retirement).
IN_SERVICE_BEFORE_RETIREMENT = {
    PsnType.RETIRED: PsnType.IN_SERVICE,
    PsnType.FLEXIBLE_RETIRED: PsnType.FLEXIBLE_IN_SERVICE,
}


class InsuStatus(models.TextChoices):
    ACTIVE = "1", _("active")
    SUSPENDED = "2", _("suspended")
    TERMINATED = "4", _("terminated")


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("spouse")
    PARENT = "parent", _("parent")
    CHILD = "child", _("child")


class Employer(models.Model):
    emp_no = models.CharField(_("employer number"), max_length=30, unique=True)
    emp_name = models.CharField(_("employer name"), max_length=200)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="employers")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        ordering = ["emp_no"]

    def __str__(self) -> str:
        return f"{self.emp_no} {self.emp_name}"


class Person(models.Model):
    """Anyone the agency knows: an enrollee, or a relative without insurance here who is linked to one."""

    psn_no = models.CharField(_("person number"), max_length=30, unique=True,
                              validators=[RegexValidator(r"^[0-9A-Za-z]+$", _("letters and digits only"))])
    certno = models.CharField(_("ID number"), max_length=18, unique=True, validators=[certno_validator])
    psn_name = models.CharField(_("name"), max_length=50)
    gend = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    brdy = models.DateField(_("date of birth"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["psn_no"]
        permissions = [("view_full_certno", _("Can see full ID numbers"))]
        constraints = [
            models.CheckConstraint(condition=models.lookups.Exact(Length("certno"), 18), name="person_certno_18"),
            models.CheckConstraint(condition=Q(gend__in=Gender.values), name="person_gend_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.psn_no} {self.psn_name}"

    @property
    def certno_masked(self) -> str:
        return certno_mask(self.certno)

    def age_on(self, day: datetime.date) -> int:
        """Completed years on `day` (a birthday on 29 February counts on 1 March in other years)."""
        years = day.year - self.brdy.year
        if (day.month, day.day) < (self.brdy.month, self.brdy.day):
            years -= 1
        return years


class Enrollment(models.Model):
    """A person's employee-insurance enrollment (参保) in one region: type, employer, base, period, status."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="enrollments")
    insutype = models.CharField(_("insurance type"), max_length=3, choices=InsuType.choices,
                                default=InsuType.EMPLOYEE)
    psn_type = models.CharField(_("person type"), max_length=4, choices=PsnType.choices)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="enrollments")
    employer = models.ForeignKey(Employer, verbose_name=_("employer"), on_delete=models.PROTECT,
                                 related_name="enrollments", null=True, blank=True)
    clct_base = models.DecimalField(_("contribution base"), max_digits=MONEY_MAX_DIGITS,
                                    decimal_places=MONEY_DECIMAL_PLACES, null=True, blank=True,
                                    validators=[MinValueValidator(0)],
                                    help_text=_("monthly, yuan; blank for the retired"))
    begndate = models.DateField(_("insured from"))
    enddate = models.DateField(_("insured until"), null=True, blank=True)
    retire_date = models.DateField(_("retirement date"), null=True, blank=True,
                                   help_text=_("the first day of retirement"))
    psn_insu_stas = models.CharField(_("insurance status"), max_length=1, choices=InsuStatus.choices,
                                     default=InsuStatus.ACTIVE)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["person__psn_no"]
        constraints = [
            models.UniqueConstraint(fields=["person", "insutype"], name="enrollment_one_per_insutype"),
            models.CheckConstraint(condition=Q(insutype__in=InsuType.values), name="enrollment_insutype_valid"),
            models.CheckConstraint(condition=Q(psn_type__in=PsnType.values), name="enrollment_psn_type_valid"),
            models.CheckConstraint(condition=Q(psn_insu_stas__in=InsuStatus.values), name="enrollment_status_valid"),
            models.CheckConstraint(condition=~Q(psn_type__in=RETIRED_PSN_TYPES) | Q(retire_date__isnull=False),
                                   name="enrollment_retired_has_retire_date"),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="enrollment_period_ordered"),
            models.CheckConstraint(condition=Q(clct_base__isnull=True) | Q(clct_base__gte=0),
                                   name="enrollment_clct_base_not_negative"),
        ]
        indexes = [models.Index(fields=["region", "psn_type"]), models.Index(fields=["psn_insu_stas"])]

    def __str__(self) -> str:
        return f"{self.person} {self.get_insutype_display()}"

    def is_retired_on(self, day: datetime.date) -> bool:
        return self.psn_type in RETIRED_PSN_TYPES and self.retire_date is not None and self.retire_date <= day

    def psn_type_on(self, day: datetime.date) -> str:
        """The person type on `day`: a retired type counts as its in-service type before retire_date."""
        if self.psn_type in RETIRED_PSN_TYPES and not self.is_retired_on(day):
            return IN_SERVICE_BEFORE_RETIREMENT[PsnType(self.psn_type)]
        return self.psn_type

    def covers(self, day: datetime.date) -> bool:
        """Insured and active on `day`."""
        return (self.psn_insu_stas == InsuStatus.ACTIVE and self.begndate <= day
                and (self.enddate is None or day <= self.enddate))


class FamilyLink(models.Model):
    """A family mutual-aid link (家庭共济): `holder`'s personal account may pay `relative`'s personally-borne costs.

    `relation` is the relative's relation to the holder. Links of one relative are tried in `order`.
    """

    holder = models.ForeignKey(Person, verbose_name=_("account holder"), on_delete=models.PROTECT,
                               related_name="links_as_holder")
    relative = models.ForeignKey(Person, verbose_name=_("relative"), on_delete=models.PROTECT,
                                 related_name="links_as_relative")
    relation = models.CharField(_("relation"), max_length=10, choices=Relation.choices,
                                help_text=_("the relative's relation to the holder"))
    begndate = models.DateField(_("valid from"))
    enddate = models.DateField(_("valid until"), null=True, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0,
                                        help_text=_("links of one relative are tried in this order"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("family link")
        verbose_name_plural = _("family links")
        ordering = ["relative_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["holder", "relative"], name="familylink_unique_pair"),
            models.CheckConstraint(condition=~Q(holder=F("relative")), name="familylink_not_self"),
            models.CheckConstraint(condition=Q(relation__in=Relation.values), name="familylink_relation_valid"),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="familylink_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.holder.psn_no} → {self.relative.psn_no} ({self.get_relation_display()})"

    def active_on(self, day: datetime.date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)
