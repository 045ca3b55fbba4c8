"""Designated facilities, the item and chronic-disease catalogs, and recognitions of enrollees for a disease."""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Person
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from policies.models import Region


class FacilityType(models.TextChoices):
    MEDICAL_INSTITUTION = "1", _("medical institution")
    RETAIL_PHARMACY = "2", _("retail pharmacy")


class HospitalLevel(models.TextChoices):
    LEVEL_1 = "1", _("level 1")
    LEVEL_2 = "2", _("level 2")
    LEVEL_3 = "3", _("level 3")


class ItemClass(models.TextChoices):
    A = "01", _("class A")
    B = "02", _("class B")
    C = "03", _("class C")


class Facility(models.Model):
    """A designated medical institution or retail pharmacy (定点医药机构) and its designation period."""

    fixmedins_code = models.CharField(_("facility code"), max_length=30, unique=True,
                                      validators=[RegexValidator(r"^[0-9A-Za-z]+$", _("letters and digits only"))])
    fixmedins_name = models.CharField(_("facility name"), max_length=200)
    fixmedins_type = models.CharField(_("facility type"), max_length=1, choices=FacilityType.choices)
    hosp_lv = models.CharField(_("hospital level"), max_length=1, choices=HospitalLevel.choices, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="facilities")
    begndate = models.DateField(_("designated from"))
    enddate = models.DateField(_("designated until"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("designated facility")
        verbose_name_plural = _("designated facilities")
        ordering = ["fixmedins_code"]
        constraints = [
            models.CheckConstraint(condition=Q(fixmedins_type__in=FacilityType.values), name="facility_type_valid"),
            models.CheckConstraint(
                condition=(Q(fixmedins_type=FacilityType.MEDICAL_INSTITUTION, hosp_lv__in=HospitalLevel.values)
                           | Q(fixmedins_type=FacilityType.RETAIL_PHARMACY, hosp_lv="")),
                name="facility_level_fits_type",
            ),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="facility_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.fixmedins_code} {self.fixmedins_name}"

    @property
    def is_pharmacy(self) -> bool:
        return self.fixmedins_type == FacilityType.RETAIL_PHARMACY

    def designated_on(self, day: datetime.date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)


class Disease(models.Model):
    """An outpatient chronic or special disease (门诊慢特病) of the provincial catalog."""

    opsp_dise_code = models.CharField(_("disease code"), max_length=6, unique=True,
                                      validators=[RegexValidator(r"^M\d{5}$", _("M and five digits, e.g. M03900"))])
    opsp_dise_name = models.CharField(_("disease name"), max_length=100)
    opsp_dise_majcls_name = models.CharField(_("disease category"), max_length=100, blank=True)
    recognition_criteria = models.TextField(_("recognition criteria"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("chronic or special disease")
        verbose_name_plural = _("chronic and special diseases")
        ordering = ["opsp_dise_code"]
        constraints = [
            models.CheckConstraint(condition=Q(opsp_dise_code__startswith="M"), name="disease_code_m"),
        ]

    def __str__(self) -> str:
        return f"{self.opsp_dise_code} {self.opsp_dise_name}"


class Item(models.Model):
    """A catalog item (drug, service, device) with its class, class B pre-self-pay share and unit price limit."""

    item_code = models.CharField(_("item code"), max_length=50, unique=True)
    item_name = models.CharField(_("item name"), max_length=200)
    chrg_item_lv = models.CharField(_("catalog class"), max_length=2, choices=ItemClass.choices)
    selfpay_prop = models.DecimalField(_("pre-self-pay share"), max_digits=5, decimal_places=4, default=0,
                                       validators=[MinValueValidator(0), MaxValueValidator(1)],
                                       help_text=_("class B: the share the enrollee pays first, 0 to 1"))
    pric_uplmt_amt = models.DecimalField(_("unit price limit"), max_digits=MONEY_MAX_DIGITS,
                                         decimal_places=MONEY_DECIMAL_PLACES, null=True, blank=True,
                                         validators=[MinValueValidator(0)], help_text=_("blank for none"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")
        ordering = ["item_code"]
        constraints = [
            models.CheckConstraint(condition=Q(chrg_item_lv__in=ItemClass.values), name="item_class_valid"),
            models.CheckConstraint(condition=Q(selfpay_prop__gte=0, selfpay_prop__lte=1), name="item_selfpay_prop_0_1"),
            models.CheckConstraint(condition=Q(pric_uplmt_amt__isnull=True) | Q(pric_uplmt_amt__gte=0),
                                   name="item_price_limit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.item_code} {self.item_name}"


class Recognition(models.Model):
    """An enrollee recognised (认定/备案) for a chronic disease at a facility for a period."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="recognitions")
    disease = models.ForeignKey(Disease, verbose_name=_("disease"), on_delete=models.PROTECT,
                                related_name="recognitions")
    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="recognitions")
    begndate = models.DateField(_("valid from"))
    enddate = models.DateField(_("valid until"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("disease recognition")
        verbose_name_plural = _("disease recognitions")
        ordering = ["person_id", "disease_id", "begndate"]
        constraints = [
            models.UniqueConstraint(fields=["person", "disease", "facility", "begndate"],
                                    name="recognition_unique_key"),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="recognition_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.person.psn_no} {self.disease.opsp_dise_code} @ {self.facility.fixmedins_code}"

    def active_on(self, day: datetime.date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)


class PartnerToken(models.Model):
    """An API token bound to one facility. Only a SHA-256 digest is stored; the token is shown once, at creation."""

    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="partner_tokens")
    digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("token prefix"), max_length=8, editable=False,
                              help_text=_("the first characters of the token, to tell tokens apart"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["created_at"])

    class Meta:
        verbose_name = _("partner API token")
        verbose_name_plural = _("partner API tokens")
        ordering = ["facility_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.facility.fixmedins_code} {self.prefix}…"
