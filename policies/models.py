"""Regions (pooling areas) and the dated policy versions that hold every number the system computes with."""

import datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import FEN
from core.money import money_field as core_money_field

admdvs_validator = RegexValidator(r"^\d{6}$", _("a region code is six digits"))


class Region(models.Model):
    """A pooling area (统筹地区) identified by its 6-digit administrative division code."""

    admdvs = models.CharField(_("region code"), max_length=6, unique=True, validators=[admdvs_validator],
                              help_text=_("insuplc_admdvs, e.g. 310000 Shanghai, 370100 Jinan"))
    name = models.CharField(_("name"), max_length=50)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["admdvs"]
        constraints = [
            models.CheckConstraint(condition=models.lookups.Exact(Length("admdvs"), 6), name="region_admdvs_6"),
        ]

    def __str__(self) -> str:
        return f"{self.admdvs} {self.name}"

    @property
    def province_code(self) -> str:
        return self.admdvs[:2]


# ---------------------------------------------------------------------------------------------------------------
# Policy versions. Every number the system computes with lives in one of these rows, dated and versioned.
# ---------------------------------------------------------------------------------------------------------------

class InsuType(models.TextChoices):
    """The insurance types (险种) a policy version and an enrollment are of."""

    EMPLOYEE = "310", _("employee basic medical insurance")
    RESIDENT = "390", _("resident basic medical insurance")


# Person types (accounts.models.PsnType) named here too: accounts imports this module, so it cannot be imported back.
IN_SERVICE_PSN_TYPES = ("1101", "1103")
RETIRED_PSN_TYPES = ("1201", "1203")
PSN_TYPE_CODES = IN_SERVICE_PSN_TYPES + RETIRED_PSN_TYPES

RATE_MAX_DIGITS = 5
RATE_DECIMAL_PLACES = 4

# Plausibility limits of a new version (seed_policies sets them on the seeded ones): an outpatient bill line above
# 100,000 yuan or a bill above 200,000 is no outpatient visit (a year of haemodialysis is capped at 60,000; the
# dearest separately paid drugs cost tens of thousands a dose).
PLAUSIBLE_LINE_MAX = Decimal("100000.00")
PLAUSIBLE_BILL_MAX = Decimal("200000.00")


def psn_types_validator(value: str) -> None:
    """Comma-separated person types; blank only for a resident version's class (residents have none), which
    publishing checks."""
    codes = [code.strip() for code in value.split(",") if code.strip()]
    bad = [code for code in codes if code not in PSN_TYPE_CODES]
    if bad:
        raise ValidationError(_("unknown person type(s) %(codes)s; use %(known)s"),
                              params={"codes": ", ".join(bad), "known": ", ".join(PSN_TYPE_CODES)})


def psn_types_set(value: str) -> frozenset[str]:
    return frozenset(code.strip() for code in value.split(",") if code.strip())


def rate_field(verbose_name: str, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES,
                               validators=[MinValueValidator(0), MaxValueValidator(1)], **kwargs)


money_field = partial(core_money_field, validators=[MinValueValidator(0)])


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")
    RETIRED = "retired", _("retired")


class Pocket(models.TextChoices):
    CURRENT = "current", _("current-year pocket")
    HISTORICAL = "historical", _("historical pocket")


class CrossRegionUnfiled(models.TextChoices):
    """What a version does with a visit in another region without a filing valid that day (异地就医未备案)."""

    REFUSE = "refuse", _("refused (CROSS_REGION_NOT_FILED)")
    LOWER_RATE = "lower_rate", _("paid at rates lowered by a number of points")


class PharmacySettlement(models.TextChoices):
    ACCOUNTS_ONLY = "accounts_only", _("accounts and cash only")
    EXT_RX_POOLED = "ext_rx_pooled", _("external prescriptions pooled as outpatient; other purchases accounts and cash")


class PolicyVersion(models.Model):
    """One region's policy for a period: options, reference values and the credit and benefit rule tables.

    Drafts are edited; a published version is in force from `effective_from` to `effective_to` (open when blank)
    and two published versions of a region never overlap; a retired one is kept for history only.
    """

    code = models.CharField(_("code"), max_length=30, unique=True,
                            validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                                                       _("letters, digits, dot, dash and underscore"))],
                            help_text=_("e.g. SH-2023-07"))
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="policy_versions")
    insutype = models.CharField(_("insurance type"), max_length=3, choices=InsuType.choices,
                                default=InsuType.EMPLOYEE,
                                help_text=_("a region has one version in force per insurance type"))
    title = models.CharField(_("title"), max_length=200)
    source_document = models.TextField(_("source document"), blank=True,
                                       help_text=_("the document the numbers come from, or 'illustrative'"))
    effective_from = models.DateField(_("in force from"))
    effective_to = models.DateField(_("in force until"), null=True, blank=True, help_text=_("blank: open-ended"))
    benefit_year_start_month = models.PositiveSmallIntegerField(
        _("benefit year starts (month)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)])
    benefit_year_start_day = models.PositiveSmallIntegerField(
        _("benefit year starts (day)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(31)])
    status = models.CharField(_("status"), max_length=10, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT)

    current_pocket_first = models.BooleanField(
        _("current-year pocket pays first"), default=False,
        help_text=_("the current-year pocket pays in-scope cost before the deductible (Shanghai)"))
    two_pockets = models.BooleanField(
        _("two pockets"), default=False,
        help_text=_("accounts keep a current-year and a historical pocket, rolled over at benefit-year start"))
    mulaid_from_current = models.BooleanField(_("mutual aid may draw on the current-year pocket"), default=False)
    mulaid_from_historical = models.BooleanField(_("mutual aid may draw on the historical pocket"), default=True)
    pharmacy_settlement = models.CharField(_("pharmacy purchases"), max_length=20,
                                           choices=PharmacySettlement.choices,
                                           default=PharmacySettlement.ACCOUNTS_ONLY)
    acct_pays_out_of_scope = models.BooleanField(_("accounts may pay out-of-scope items"), default=True)
    acct_pays_relative_resident = models.BooleanField(
        _("accounts may pay relatives' resident-insurance contributions"), default=False)
    acct_pays_relative_ltc = models.BooleanField(
        _("accounts may pay relatives' long-term-care contributions"), default=False)
    acct_pays_relative_commercial = models.BooleanField(
        _("accounts may pay relatives' government-guided commercial insurance"), default=False)
    cross_region_unfiled = models.CharField(
        _("unfiled visits in another region"), max_length=10, choices=CrossRegionUnfiled.choices,
        default=CrossRegionUnfiled.REFUSE,
        help_text=_("a visit at a facility of another region without a filing valid that day"))
    cross_region_rate_cut = rate_field(
        _("rate cut for unfiled visits"), default=Decimal("0"),
        help_text=_("points taken off every rate, chronic diseases included, 0 to 1 (0.1000 = 10 points)"))
    # Separately paid drugs (单独支付): the lines of catalog items with `sep_pay_flag` settle under these terms,
    # apart from the rest of the bill (claims.engine).
    sep_pay_rate = models.DecimalField(
        _("separately paid drugs: rate"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES,
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("share of a separately paid drug line's in-scope amount the pooled fund pays, with no "
                    "deductible; blank: such drugs settle as ordinary lines"))
    sep_pay_annual_cap = core_money_field(_("separately paid drugs: annual cap"), null=True, blank=True,
                                          validators=[MinValueValidator(0)],
                                          help_text=_("on what the pooled fund pays for them in a benefit year; "
                                                      "blank: none"))
    sep_pay_bucket = models.CharField(_("separately paid drugs: accumulator bucket"), max_length=20,
                                      default="sep_pay")
    review_extrapolate = models.BooleanField(
        _("extrapolate review deductions"), default=False,
        help_text=_("a random review sample's error rate (the fund's share it refused ÷ the fund payments it "
                    "checked) is applied to the facility's whole month, not only to the claims it refused"))
    # Plausibility: a bill line or a bill above these is refused (AMOUNT_IMPLAUSIBLE) before anything is computed,
    # whatever the catalog's price limits; supervision ranks a settled one above every other alert.
    plausible_line_max = core_money_field(
        _("plausibility limit per bill line"), default=PLAUSIBLE_LINE_MAX, validators=[MinValueValidator(FEN)],
        help_text=_("a bill line (quantity × price) above this is refused as implausible"))
    plausible_bill_max = core_money_field(
        _("plausibility limit per bill"), default=PLAUSIBLE_BILL_MAX, validators=[MinValueValidator(FEN)],
        help_text=_("a bill whose total is above this is refused as implausible"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["region__admdvs", "-effective_from", "code"]
        permissions = [("manage_policy", _("Can clone, publish and retire policy versions"))]
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                                   name="policyversion_period_ordered"),
            models.CheckConstraint(condition=Q(status__in=PolicyStatus.values), name="policyversion_status_valid"),
            models.CheckConstraint(condition=Q(benefit_year_start_month__gte=1, benefit_year_start_month__lte=12,
                                               benefit_year_start_day__gte=1, benefit_year_start_day__lte=31),
                                   name="policyversion_benefit_year_start_valid"),
            models.CheckConstraint(condition=Q(pharmacy_settlement__in=PharmacySettlement.values),
                                   name="policyversion_pharmacy_settlement_valid"),
            models.CheckConstraint(condition=Q(insutype__in=InsuType.values), name="policyversion_insutype_valid"),
            models.CheckConstraint(condition=Q(cross_region_unfiled__in=CrossRegionUnfiled.values),
                                   name="policyversion_cross_region_unfiled_valid"),
            models.CheckConstraint(condition=Q(cross_region_rate_cut__gte=0, cross_region_rate_cut__lte=1),
                                   name="policyversion_cross_region_rate_cut_0_1"),
            models.CheckConstraint(condition=Q(plausible_line_max__gt=0, plausible_bill_max__gt=0),
                                   name="policyversion_plausibility_limits_positive"),
            models.CheckConstraint(condition=Q(sep_pay_rate__isnull=True) | Q(sep_pay_rate__gte=0, sep_pay_rate__lte=1),
                                   name="policyversion_sep_pay_rate_0_1"),
        ]
        indexes = [models.Index(fields=["region", "status", "effective_from"])]

    def __str__(self) -> str:
        return self.code

    @property
    def title_label(self) -> str:
        """The title in the reader's language: a seeded title is the catalog's English; a typed one stays."""
        return gettext(self.title) if self.title else ""

    def clean(self) -> None:
        try:
            datetime.date(2001, self.benefit_year_start_month, self.benefit_year_start_day)
        except (TypeError, ValueError):
            raise ValidationError(
                {"benefit_year_start_day": _("not a day of that month (29 February not allowed)")}) from None
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": _("ends before it starts")})

    @property
    def is_draft(self) -> bool:
        return self.status == PolicyStatus.DRAFT

    @property
    def is_resident(self) -> bool:
        return self.insutype == InsuType.RESIDENT

    @property
    def unfiled_rate_cut(self) -> Decimal | None:
        """The points an unfiled visit in another region loses, or None when such a visit is refused."""
        if self.cross_region_unfiled == CrossRegionUnfiled.REFUSE:
            return None
        return self.cross_region_rate_cut

    @property
    def mulaid_pockets(self) -> list[str]:
        """The pockets a relative's account may pay from, in the order they pay."""
        pockets = []
        if self.mulaid_from_current:
            pockets.append(Pocket.CURRENT.value)
        if self.mulaid_from_historical:
            pockets.append(Pocket.HISTORICAL.value)
        return pockets

    @property
    def relative_contributions(self) -> list[str]:
        """The relatives' contributions an account may pay: resident, ltc, commercial."""
        flags = [("resident", self.acct_pays_relative_resident), ("ltc", self.acct_pays_relative_ltc),
                 ("commercial", self.acct_pays_relative_commercial)]
        return [name for name, allowed in flags if allowed]

    def in_force_on(self, day: datetime.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def benefit_year_start_for(self, day: datetime.date) -> datetime.date:
        """The first day of the benefit year that contains `day`."""
        start = datetime.date(day.year, self.benefit_year_start_month, self.benefit_year_start_day)
        if day < start:
            start = datetime.date(day.year - 1, self.benefit_year_start_month, self.benefit_year_start_day)
        return start

    def benefit_year_end_for(self, day: datetime.date) -> datetime.date:
        start = self.benefit_year_start_for(day)
        return datetime.date(start.year + 1, start.month, start.day) - datetime.timedelta(days=1)

    def months_left_in_benefit_year(self, month: datetime.date) -> int:
        """Months from `month` to the end of its benefit year, both counted (the proration of a first credit)."""
        end = self.benefit_year_end_for(month)
        return (end.year - month.year) * 12 + end.month - month.month + 1


class VersionPart(models.Model):
    """A row of a version's tables: editable only while the version is a draft."""

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        self._check_draft()
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        self._check_draft()
        return super().delete(*args, **kwargs)

    def _check_draft(self) -> None:
        version = PolicyVersion.objects.only("status", "code").get(pk=self.version_id)
        if not version.is_draft:
            from policies.errors import PolicyError

            raise PolicyError(PolicyError.NOT_DRAFT,
                              _("policy version %(code)s is %(status)s: only drafts can be edited")
                              % {"code": version.code, "status": version.get_status_display()})


class ReferenceKind(models.TextChoices):
    PROVINCIAL_AVG_WAGE = "provincial_avg_wage", _("provincial average wage")
    AVG_BASIC_PENSION = "avg_basic_pension", _("average basic pension")


class ReferenceValue(VersionPart):
    """A yearly reference figure a version's rules or bounds refer to (e.g. the provincial average wage)."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="reference_values")
    kind = models.CharField(_("kind"), max_length=30, choices=ReferenceKind.choices)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(1990), MaxValueValidator(2100)])
    amount = money_field(_("amount"), help_text=_("yuan"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reference value")
        verbose_name_plural = _("reference values")
        ordering = ["version_id", "kind", "year"]
        constraints = [
            models.UniqueConstraint(fields=["version", "kind", "year"], name="referencevalue_unique"),
            models.CheckConstraint(condition=Q(kind__in=ReferenceKind.values), name="referencevalue_kind_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="referencevalue_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.year}: {self.amount}"


class EnrolleeClass(VersionPart):
    """A class of enrollees that benefit rules are set for: a set of person types and, for the retired, a range of
    retirement dates (Shanghai: retired on or after 2001-01-01 / on or before 2000-12-31)."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="enrollee_classes")
    code = models.SlugField(_("code"), max_length=30, help_text=_("e.g. in_service, retired"))
    name = models.CharField(_("name"), max_length=100)
    psn_types = models.CharField(_("person types"), max_length=30, validators=[psn_types_validator], blank=True,
                                 help_text=_("comma-separated, e.g. 1101,1103; blank in a resident version (residents "
                                             "have no person type)"))
    retire_date_from = models.DateField(_("retired on or after"), null=True, blank=True)
    retire_date_to = models.DateField(_("retired on or before"), null=True, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("enrollee class")
        verbose_name_plural = _("enrollee classes")
        ordering = ["version_id", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="enrolleeclass_unique_code"),
            models.CheckConstraint(condition=Q(retire_date_from__isnull=True) | Q(retire_date_to__isnull=True)
                                   | Q(retire_date_to__gte=F("retire_date_from")),
                                   name="enrolleeclass_retire_range_ordered"),
        ]

    def __str__(self) -> str:
        return pgettext("enrollee class", self.name)  # seeded: the catalog's English (seed_policies); typed: as is

    @property
    def psn_type_set(self) -> frozenset[str]:
        return psn_types_set(self.psn_types)

    @property
    def is_in_service(self) -> bool:
        return bool(self.psn_type_set) and self.psn_type_set <= set(IN_SERVICE_PSN_TYPES)

    @property
    def is_retired(self) -> bool:
        return bool(self.psn_type_set) and self.psn_type_set <= set(RETIRED_PSN_TYPES)

    def matches(self, psn_type: str, retire_date: datetime.date | None) -> bool:
        """Whether an enrollee of `psn_type` (on the service date) who retired on `retire_date` is in this class.
        A class naming no person type is the residents' (whose psn_type is blank)."""
        if not self.psn_type_set:
            return psn_type == ""
        if psn_type not in self.psn_type_set:
            return False
        if self.retire_date_from is None and self.retire_date_to is None:
            return True
        if retire_date is None:
            return False
        return ((self.retire_date_from is None or retire_date >= self.retire_date_from)
                and (self.retire_date_to is None or retire_date <= self.retire_date_to))


class MedGroup(models.TextChoices):
    GENERAL = "general", _("general outpatient and emergency (11, 13; pooled pharmacy prescriptions)")
    CHRONIC = "chronic", _("chronic or special disease (14)")


class FacilityLevel(models.TextChoices):
    LEVEL_1 = "1", _("level 1")
    LEVEL_2 = "2", _("level 2")
    LEVEL_3 = "3", _("level 3")
    PHARMACY = "pharmacy", _("pharmacy (external prescription)")
    ANY = "any", _("any facility")


HOSPITAL_LEVELS = (FacilityLevel.LEVEL_1.value, FacilityLevel.LEVEL_2.value, FacilityLevel.LEVEL_3.value)
GENERAL_BUCKET = "general"


class BenefitRule(VersionPart):
    """What the pooled fund pays for one medical-type group (a disease for chronic care), enrollee class and
    facility level: deductible, rate, annual cap (blank: none), the accumulator bucket, and a supplementary fund's
    share above the cap."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="benefit_rules")
    med_group = models.CharField(_("medical-type group"), max_length=10, choices=MedGroup.choices)
    dise_code = models.CharField(_("disease code"), max_length=6, blank=True,
                                 validators=[RegexValidator(r"^M\d{5}$", _("M and five digits, e.g. M03900"))],
                                 help_text=_("chronic group only"))
    enrollee_class = models.ForeignKey(EnrolleeClass, verbose_name=_("enrollee class"), on_delete=models.CASCADE,
                                       related_name="benefit_rules")
    facility_level = models.CharField(_("facility level"), max_length=10, choices=FacilityLevel.choices)
    deductible = money_field(_("deductible"), default=Decimal("0.00"), help_text=_("per benefit year, yuan"))
    rate = rate_field(_("reimbursement rate"), help_text=_("share paid by the pooled fund, 0 to 1 (0.7000 = 70%)"))
    annual_cap = money_field(_("annual cap"), null=True, blank=True,
                             help_text=_("on what the pooled fund pays in a benefit year per bucket; blank: none"))
    bucket = models.CharField(_("accumulator bucket"), max_length=20,
                              help_text=_("'general' or the disease code"))
    supplementary_share_above_cap = rate_field(_("supplementary fund share above cap"), default=Decimal("0"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("benefit rule")
        verbose_name_plural = _("benefit rules")
        ordering = ["version_id", "med_group", "dise_code", "enrollee_class__order", "facility_level"]
        constraints = [
            models.UniqueConstraint(fields=["version", "med_group", "dise_code", "enrollee_class", "facility_level"],
                                    name="benefitrule_unique_cell"),
            models.CheckConstraint(condition=Q(med_group__in=MedGroup.values), name="benefitrule_med_group_valid"),
            models.CheckConstraint(condition=Q(facility_level__in=FacilityLevel.values),
                                   name="benefitrule_facility_level_valid"),
            models.CheckConstraint(condition=(Q(med_group=MedGroup.CHRONIC) & ~Q(dise_code=""))
                                   | (Q(med_group=MedGroup.GENERAL) & Q(dise_code="")),
                                   name="benefitrule_disease_iff_chronic"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=1), name="benefitrule_rate_0_1"),
            models.CheckConstraint(condition=Q(supplementary_share_above_cap__gte=0,
                                               supplementary_share_above_cap__lte=1),
                                   name="benefitrule_supplementary_0_1"),
            models.CheckConstraint(condition=Q(deductible__gte=0), name="benefitrule_deductible_not_negative"),
            models.CheckConstraint(condition=Q(annual_cap__isnull=True) | Q(annual_cap__gte=0),
                                   name="benefitrule_cap_not_negative"),
        ]

    def __str__(self) -> str:
        group = self.dise_code or self.get_med_group_display()
        return f"{self.version_id}: {group} / {self.enrollee_class} / {self.get_facility_level_display()}"

    def clean(self) -> None:
        if self.med_group == MedGroup.CHRONIC and not self.dise_code:
            raise ValidationError({"dise_code": _("a chronic-disease rule names its disease")})
        if self.med_group == MedGroup.GENERAL and self.dise_code:
            raise ValidationError({"dise_code": _("only chronic-disease rules name a disease")})
        if self.enrollee_class_id and self.version_id and self.enrollee_class.version_id != self.version_id:
            raise ValidationError({"enrollee_class": _("the class belongs to another version")})


class CreditBasis(models.TextChoices):
    CLCT_BASE_SHARE = "clct_base_share", _("a share of the contribution base")
    FIXED_AMOUNT = "fixed_amount", _("a fixed amount a year")
    REFERENCE_SHARE = "reference_share", _("a share of a reference value")


class CreditFrequency(models.TextChoices):
    MONTHLY = "monthly", _("monthly")
    ANNUAL = "annual", _("annual, at benefit-year start")


class CreditRule(VersionPart):
    """A personal-account credit: who (person types, age band on the first day of the credited month), how much
    (share of the contribution base, fixed amount a year, or share of a reference value), how often, into which
    pocket, and whether a first annual credit after retirement is prorated."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="credit_rules")
    name = models.CharField(_("name"), max_length=100)
    psn_types = models.CharField(_("person types"), max_length=30, validators=[psn_types_validator],
                                 help_text=_("comma-separated, e.g. 1201,1203"))
    age_min = models.PositiveSmallIntegerField(_("age from"), null=True, blank=True, help_text=_("inclusive"))
    age_max = models.PositiveSmallIntegerField(_("age to"), null=True, blank=True, help_text=_("inclusive"))
    basis = models.CharField(_("basis"), max_length=20, choices=CreditBasis.choices)
    rate = models.DecimalField(_("share"), max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES,
                               null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)],
                               help_text=_("for a share basis, 0 to 1 (0.0200 = 2%)"))
    amount = money_field(_("amount a year"), null=True, blank=True, help_text=_("for a fixed amount"))
    reference_kind = models.CharField(_("reference value"), max_length=30, choices=ReferenceKind.choices,
                                      blank=True)
    reference_year = models.PositiveSmallIntegerField(_("reference year"), null=True, blank=True,
                                                      help_text=_("blank: the year of the credited month"))
    frequency = models.CharField(_("frequency"), max_length=10, choices=CreditFrequency.choices)
    pocket = models.CharField(_("pocket"), max_length=10, choices=Pocket.choices)
    prorate_first_year = models.BooleanField(
        _("prorate the first annual credit"), default=False,
        help_text=_("after a mid-year retirement: months left in the benefit year, both counted, ÷ 12"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit rule")
        verbose_name_plural = _("credit rules")
        ordering = ["version_id", "order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="creditrule_unique_name"),
            models.CheckConstraint(condition=Q(basis__in=CreditBasis.values), name="creditrule_basis_valid"),
            models.CheckConstraint(condition=Q(frequency__in=CreditFrequency.values),
                                   name="creditrule_frequency_valid"),
            models.CheckConstraint(condition=Q(pocket__in=Pocket.values), name="creditrule_pocket_valid"),
            models.CheckConstraint(
                condition=(Q(basis=CreditBasis.CLCT_BASE_SHARE, rate__isnull=False)
                           | Q(basis=CreditBasis.FIXED_AMOUNT, amount__isnull=False)
                           | (Q(basis=CreditBasis.REFERENCE_SHARE, rate__isnull=False) & ~Q(reference_kind=""))),
                name="creditrule_basis_has_value"),
            models.CheckConstraint(condition=Q(age_min__isnull=True) | Q(age_max__isnull=True)
                                   | Q(age_max__gte=F("age_min")), name="creditrule_age_band_ordered"),
        ]

    def __str__(self) -> str:
        return gettext(self.name)  # a seeded name is the catalog's English (seed_policies); a typed one stays

    def clean(self) -> None:
        if self.basis in (CreditBasis.CLCT_BASE_SHARE, CreditBasis.REFERENCE_SHARE) and self.rate is None:
            raise ValidationError({"rate": _("a share basis needs a share")})
        if self.basis == CreditBasis.FIXED_AMOUNT and self.amount is None:
            raise ValidationError({"amount": _("a fixed amount basis needs an amount")})
        if self.basis == CreditBasis.REFERENCE_SHARE and not self.reference_kind:
            raise ValidationError({"reference_kind": _("name the reference value")})

    @property
    def psn_type_set(self) -> frozenset[str]:
        return psn_types_set(self.psn_types)

    def applies_to(self, psn_type: str, age: int) -> bool:
        return (psn_type in self.psn_type_set and (self.age_min is None or age >= self.age_min)
                and (self.age_max is None or age <= self.age_max))


class ClearingWay(models.TextChoices):
    """How the agency pays a facility for a group of visits (CONTRACT.md "Clearing with facilities")."""

    ITEMISED = "itemised", _("itemised (fund payments of each visit)")
    CAPITATION = "capitation", _("capitation (a rate per signed enrollee a month)")
    PER_DISEASE = "per_disease", _("per disease (a rate per recognised enrollee a month)")


class ClearingGroup(models.TextChoices):
    """The medical-type groups payment methods are set for (a clearing line's `med_type_group`)."""

    GENERAL = "general", _("general outpatient (11, 13; 41 with an external prescription)")
    CHRONIC = "chronic", _("chronic or special disease (14)")
    PHARMACY = "pharmacy", _("pharmacy purchase (41 without an external prescription)")


class PaymentMethod(VersionPart):
    """How the agency pays facilities of one level for one medical-type group (one disease for per-disease
    payment): itemised, by capitation (a rate per enrollee signed with the facility on the month's first day, a
    month) or per disease (a rate per enrollee recognised for the disease there, a month). A group without a row is
    itemised."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="payment_methods")
    facility_level = models.CharField(_("facility level"), max_length=10, choices=FacilityLevel.choices)
    med_type_group = models.CharField(_("medical-type group"), max_length=10, choices=ClearingGroup.choices)
    dise_code = models.CharField(_("disease code"), max_length=6, blank=True,
                                 validators=[RegexValidator(r"^M\d{5}$", _("M and five digits, e.g. M03900"))],
                                 help_text=_("per-disease payment only"))
    clr_way = models.CharField(_("payment method"), max_length=12, choices=ClearingWay.choices)
    rate = core_money_field(_("rate per enrollee a month"), null=True, blank=True,
                            validators=[MinValueValidator(0)], help_text=_("capitation and per disease, yuan"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["version_id", "med_type_group", "dise_code", "facility_level"]
        constraints = [
            models.UniqueConstraint(fields=["version", "facility_level", "med_type_group", "dise_code"],
                                    name="paymentmethod_unique_cell"),
            models.CheckConstraint(condition=Q(facility_level__in=FacilityLevel.values),
                                   name="paymentmethod_facility_level_valid"),
            models.CheckConstraint(condition=Q(med_type_group__in=ClearingGroup.values),
                                   name="paymentmethod_group_valid"),
            models.CheckConstraint(
                condition=(Q(clr_way=ClearingWay.ITEMISED, rate__isnull=True, dise_code="")
                           | Q(clr_way=ClearingWay.CAPITATION, rate__isnull=False, rate__gt=0, dise_code="")
                           | (Q(clr_way=ClearingWay.PER_DISEASE, rate__isnull=False, rate__gt=0,
                                med_type_group=ClearingGroup.CHRONIC) & ~Q(dise_code=""))),
                name="paymentmethod_way_fits"),
        ]

    def __str__(self) -> str:
        group = self.dise_code or self.get_med_type_group_display()
        return f"{self.version_id}: {group} / {self.get_facility_level_display()}: {self.get_clr_way_display()}"

    def clean(self) -> None:
        if self.clr_way == ClearingWay.ITEMISED:
            if self.rate is not None:
                raise ValidationError({"rate": _("itemised payment has no rate: leave it blank")})
            if self.dise_code:
                raise ValidationError({"dise_code": _("only per-disease payment names a disease")})
        elif self.rate is None or self.rate <= 0:
            raise ValidationError({"rate": _("capitation and per-disease payment need a rate above 0")})
        if self.clr_way == ClearingWay.CAPITATION:
            if self.dise_code:
                raise ValidationError({"dise_code": _("only per-disease payment names a disease")})
            if self.facility_level == FacilityLevel.PHARMACY or self.med_type_group == ClearingGroup.PHARMACY:
                raise ValidationError({"clr_way": _("capitation pays for enrollees signed with a medical "
                                                    "institution: not for pharmacies")})
        if self.clr_way == ClearingWay.PER_DISEASE and (self.med_type_group != ClearingGroup.CHRONIC
                                                        or not self.dise_code):
            raise ValidationError({"dise_code": _("per-disease payment is for one chronic disease: choose the "
                                                  "chronic group and name the disease")})


class AuditAction(models.TextChoices):
    CLONE = "clone", _("cloned")
    PUBLISH = "publish", _("published")
    RETIRE = "retire", _("retired")
    END = "end", _("ended by a successor")


class PolicyAuditEvent(models.Model):
    """Who changed a version's lifecycle, when and how; written in the same transaction as the change."""

    version = models.ForeignKey(PolicyVersion, verbose_name=_("policy version"), on_delete=models.CASCADE,
                                related_name="audit_events")
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                              null=True, blank=True, related_name="+", help_text=_("blank: a system command"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("policy audit event")
        verbose_name_plural = _("policy audit events")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} {self.get_action_display()} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"
