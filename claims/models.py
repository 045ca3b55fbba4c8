"""Designated facilities, the item and chronic-disease catalogs, and recognitions of enrollees for a disease."""

import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Person
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from core.money import money_field as core_money_field
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
    online_service = models.BooleanField(
        _("designated for online services"), default=False,
        help_text=_("Internet+ follow-up visits (互联网+复诊) for recognised chronic diseases may be settled here"))
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
    recognition_valid_months = models.PositiveSmallIntegerField(
        _("recognition valid for (months)"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("how long an approved recognition lasts before it must be renewed; blank: open-ended"))
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
    acct_pay_forbidden = models.BooleanField(
        _("accounts may never pay"), default=False,
        help_text=_("outside basic medical insurance altogether (public health, fitness, wellness): out of scope "
                    "whatever its class, paid in cash only"))
    sep_pay_flag = models.BooleanField(_("paid separately"), default=False,
                                       help_text=_("a national negotiated drug paid separately (单独支付)"))
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


class RecognitionStatus(models.TextChoices):
    APPLIED = "applied", _("applied, awaiting review")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    CANCELLED = "cancelled", _("cancelled")


# The statuses that hold the key (person, disease, facility, begndate): a refused or cancelled application leaves
# it free for a new one.
RECOGNITION_LIVE = (RecognitionStatus.APPLIED, RecognitionStatus.APPROVED)


class RecognitionSource(models.TextChoices):
    IMPORT = "import", _("imported")
    STAFF = "staff", _("staff application")
    GATEWAY = "gateway", _("facility filing (national 2503)")


class RecognitionQuerySet(models.QuerySet):
    def approved(self) -> "RecognitionQuerySet":
        return self.filter(status=RecognitionStatus.APPROVED)

    def valid_on(self, day: datetime.date) -> "RecognitionQuerySet":
        """Approved and valid on `day`: the recognitions settlements, ties and payment methods count."""
        return self.approved().filter(begndate__lte=day).filter(Q(enddate__isnull=True) | Q(enddate__gte=day))


class Recognition(models.Model):
    """An enrollee recognised (认定/备案) for a chronic disease at a facility for a period.

    Imported recognitions are approved as they are. Otherwise a recognition starts as an application (by staff, or
    a facility's national 2503) with the disease's criteria and the evidence, and a second user approves or refuses
    it (claims.recognitions); only an approved one counts, from `begndate` to `enddate`. A renewal is a new
    application following on from the recognition it renews (`renewal_of`)."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="recognitions")
    disease = models.ForeignKey(Disease, verbose_name=_("disease"), on_delete=models.PROTECT,
                                related_name="recognitions")
    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="recognitions")
    begndate = models.DateField(_("valid from"))
    enddate = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RecognitionStatus.choices,
                              default=RecognitionStatus.APPROVED)
    source = models.CharField(_("source"), max_length=10, choices=RecognitionSource.choices,
                              default=RecognitionSource.IMPORT)
    criteria = models.TextField(_("recognition criteria applied"), blank=True,
                                help_text=_("the disease's criteria as they stood when the application was made"))
    evidence = models.TextField(_("evidence"), blank=True,
                                help_text=_("diagnosis, examinations and documents that meet the criteria"))
    renewal_of = models.ForeignKey("self", verbose_name=_("renews"), on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="renewals")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("applied by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    history = HistoricalRecords()

    objects = RecognitionQuerySet.as_manager()

    class Meta:
        verbose_name = _("disease recognition")
        verbose_name_plural = _("disease recognitions")
        ordering = ["person_id", "disease_id", "begndate"]
        permissions = [("review_recognition", _("Can approve or refuse disease recognitions"))]
        constraints = [
            models.UniqueConstraint(fields=["person", "disease", "facility", "begndate"],
                                    condition=Q(status__in=RECOGNITION_LIVE), name="recognition_unique_key"),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="recognition_period_ordered"),
            models.CheckConstraint(condition=Q(status__in=RecognitionStatus.values), name="recognition_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "facility"], condition=Q(status=RecognitionStatus.APPLIED),
                                name="recognition_applied")]

    def __str__(self) -> str:
        return f"{self.person.psn_no} {self.disease.opsp_dise_code} @ {self.facility.fixmedins_code}"

    def active_on(self, day: datetime.date) -> bool:
        return (self.status == RecognitionStatus.APPROVED and self.begndate <= day
                and (self.enddate is None or day <= self.enddate))

    def expired_on(self, day: datetime.date) -> bool:
        return self.status == RecognitionStatus.APPROVED and self.enddate is not None and self.enddate < day


class FilingType(models.TextChoices):
    RESETTLED = "resettled", _("resettled in another region (异地安置)")
    LONG_TERM = "long_term", _("living in another region long-term (异地长期居住)")
    TEMPORARY = "temporary", _("temporary treatment in another region (临时外出就医)")
    REFERRAL = "referral", _("referral to another region (转诊转院)")


class FilingStatus(models.TextChoices):
    ACTIVE = "active", _("filed")
    CANCELLED = "cancelled", _("cancelled")


ADMDVS_PATTERN = r"^\d{6}$"


def province_of(admdvs: str) -> str:
    """The province code of a region code (370100 → 370000; a province or municipality is its own)."""
    return admdvs[:2] + "0000"


class CrossRegionFilingQuerySet(models.QuerySet):
    def valid_on(self, day: datetime.date) -> "CrossRegionFilingQuerySet":
        return self.filter(status=FilingStatus.ACTIVE, begndate__lte=day).filter(
            Q(enddate__isnull=True) | Q(enddate__gte=day))

    def covering(self, admdvs: str) -> "CrossRegionFilingQuerySet":
        """Filings for treatment in region `admdvs`: for that region or its whole province."""
        return self.filter(mdtrtarea_admvs__in=sorted({admdvs, province_of(admdvs)}))


class CrossRegionFiling(models.Model):
    """An enrollee's filing for treatment in another region (异地就医备案, CONTRACT.md `cross_region_filings`):
    visits there on the days it is valid settle under the insured region's policy at its full rates; without one
    the insured region's policy refuses them or lowers the rates."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="cross_region_filings")
    mdtrtarea_admvs = models.CharField(
        _("region of treatment"), max_length=6,
        validators=[RegexValidator(ADMDVS_PATTERN, _("a region code is six digits, e.g. 310000"))],
        help_text=_("a region code, or a province code (370000) covering all its regions"))
    filing_type = models.CharField(_("filing type"), max_length=10, choices=FilingType.choices)
    begndate = models.DateField(_("valid from"))
    enddate = models.DateField(_("valid until"), null=True, blank=True, help_text=_("blank: open"))
    status = models.CharField(_("status"), max_length=10, choices=FilingStatus.choices, default=FilingStatus.ACTIVE)
    facility = models.ForeignKey(Facility, verbose_name=_("filed by facility"), on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="+",
                                 help_text=_("the facility that filed it through the national interface (2501)"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    history = HistoricalRecords()

    objects = CrossRegionFilingQuerySet.as_manager()

    class Meta:
        verbose_name = _("cross-region filing")
        verbose_name_plural = _("cross-region filings")
        ordering = ["person_id", "begndate"]
        constraints = [
            models.UniqueConstraint(fields=["person", "mdtrtarea_admvs", "filing_type", "begndate"],
                                    name="crossregionfiling_unique_key"),
            models.CheckConstraint(condition=Q(enddate__isnull=True) | Q(enddate__gte=F("begndate")),
                                   name="crossregionfiling_period_ordered"),
            models.CheckConstraint(condition=Q(filing_type__in=FilingType.values),
                                   name="crossregionfiling_type_valid"),
            models.CheckConstraint(condition=Q(status__in=FilingStatus.values),
                                   name="crossregionfiling_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.person.psn_no} → {self.mdtrtarea_admvs} {self.begndate}"

    def valid_on(self, day: datetime.date) -> bool:
        return (self.status == FilingStatus.ACTIVE and self.begndate <= day
                and (self.enddate is None or day <= self.enddate))

    def clean(self) -> None:
        if self.enddate and self.begndate and self.enddate < self.begndate:
            raise ValidationError({"enddate": _("ends before it starts")})


class PartnerToken(models.Model):
    """An API token bound to one facility, shown once, at creation. The token is derived from `seed` with the
    server's PARTNER_TOKEN_KEY (claims.tokens): the database holds the seed and a SHA-256 digest, never the token,
    yet the server can recompute it to check the national gateway's signature (`x-tif-signature`)."""

    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="partner_tokens")
    digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    seed = models.CharField(_("token seed"), max_length=32, blank=True, editable=False,
                            help_text=_("with the server's key it gives the token back; empty for tokens made "
                                        "before signatures, which only the Token header accepts"))
    prefix = models.CharField(_("token prefix"), max_length=8, editable=False,
                              help_text=_("the first characters of the token, to tell tokens apart"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["created_at", "seed"])

    class Meta:
        verbose_name = _("partner API token")
        verbose_name_plural = _("partner API tokens")
        ordering = ["facility_id", "-created_at"]

    def __str__(self) -> str:
        return f"{self.facility.fixmedins_code} {self.prefix}…"


# ---------------------------------------------------------------------------------------------------------------
# Settlements (结算) and the year-to-date accumulators they change.
# ---------------------------------------------------------------------------------------------------------------

money_field = partial(core_money_field, default=0)


class Accumulator(models.Model):
    """What one person has used of one bucket (`general` or a disease code) in one benefit year: the deductible paid
    and what the pooled fund paid. Changed only under a row lock, together with the settlement that explains it."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="accumulators")
    year_start = models.DateField(_("benefit year from"))
    bucket = models.CharField(_("bucket"), max_length=20)
    dedc_used = money_field(_("deductible paid"))
    hifp_paid = money_field(_("pooled fund paid"))

    class Meta:
        verbose_name = _("accumulator")
        verbose_name_plural = _("accumulators")
        ordering = ["person_id", "-year_start", "bucket"]
        constraints = [
            models.UniqueConstraint(fields=["person", "year_start", "bucket"], name="accumulator_unique"),
            models.CheckConstraint(condition=Q(dedc_used__gte=0, hifp_paid__gte=0),
                                   name="accumulator_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.person.psn_no} {self.year_start:%Y} {self.bucket}"


class MedType(models.TextChoices):
    GENERAL_OUTPATIENT = "11", _("general outpatient")
    EMERGENCY = "13", _("emergency")
    CHRONIC = "14", _("outpatient chronic or special disease")
    PHARMACY_PURCHASE = "41", _("pharmacy purchase")


class SettlementStatus(models.TextChoices):
    SETTLED = "settled", _("settled")
    REVERSED = "reversed", _("reversed")


class CrossRegion(models.TextChoices):
    FILED = "filed", _("in another region, filed")
    UNFILED = "unfiled", _("in another region, unfiled (rates lowered)")


class Settlement(models.Model):
    """One outpatient settlement (national 2207) and its result, kept exactly as it was answered."""

    setl_id = models.CharField(_("settlement id"), max_length=32, unique=True)
    # No index of their own on facility and person: the composite indexes below lead with them.
    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT, db_index=False,
                                 related_name="settlements")
    medins_setl_id = models.CharField(_("facility's settlement id"), max_length=64)
    request_digest = models.CharField(_("request digest"), max_length=64,
                                      help_text=_("SHA-256 of the request, to tell a retry from another request"))
    status = models.CharField(_("status"), max_length=10, choices=SettlementStatus.choices,
                              default=SettlementStatus.SETTLED)
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT, db_index=False,
                               related_name="settlements")
    insutype = models.CharField(_("insurance type"), max_length=3, blank=True)
    psn_type = models.CharField(_("person type"), max_length=4, blank=True)
    med_type = models.CharField(_("medical type"), max_length=2, choices=MedType.choices)
    setl_date = models.DateField(_("service date"))
    dise_codg = models.CharField(_("disease code"), max_length=20, blank=True)
    ext_rx = models.BooleanField(_("external prescription"), default=False)
    online = models.BooleanField(_("online follow-up visit"), default=False,
                                 help_text=_("an Internet+ follow-up visit of a recognised chronic disease"))
    acct_used_flag = models.CharField(_("accounts may pay"), max_length=1, default="1")
    policy_version = models.ForeignKey("policies.PolicyVersion", verbose_name=_("policy version"),
                                       on_delete=models.PROTECT, null=True, blank=True, related_name="settlements")
    benefit_rule = models.ForeignKey("policies.BenefitRule", verbose_name=_("benefit rule"),
                                     on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    enrollee_class = models.CharField(_("enrollee class"), max_length=30, blank=True)
    hosp_lv = models.CharField(_("facility level"), max_length=10, blank=True)
    bucket = models.CharField(_("bucket"), max_length=20, blank=True)
    year_start = models.DateField(_("benefit year from"), null=True, blank=True)
    cross_region = models.CharField(_("treatment in another region"), max_length=10,
                                    choices=CrossRegion.choices, blank=True,
                                    help_text=_("blank: treated in the insured region"))
    # Separately paid drugs settled apart (claims.engine): their own bucket and the pooled fund's payment for them,
    # which is part of hifp_pay.
    sep_bucket = models.CharField(_("separately paid drugs' bucket"), max_length=20, blank=True)
    sep_hifp_pay = money_field(_("pooled fund for separately paid drugs"))
    medfee_sumamt = money_field(_("total"))
    fulamt_ownpay_amt = money_field(_("out of scope"))
    overlmt_selfpay = money_field(_("over the price limit"))
    preselfpay_amt = money_field(_("pre-self-pay"))
    inscp_scp_amt = money_field(_("in scope"))
    act_pay_dedc = money_field(_("deductible"))
    hifp_pay = money_field(_("pooled fund"))
    oth_pay = money_field(_("supplementary fund"))
    fund_pay_sumamt = money_field(_("funds"))
    psn_part_amt = money_field(_("personal part"))
    acct_pay = money_field(_("own account"))
    acct_mulaid_pay = money_field(_("relatives' accounts"))
    psn_cash_pay = money_field(_("cash"))
    balc = money_field(_("balance after"))
    response = models.JSONField(_("answer"), help_text=_("the answer given, returned again to a retry"))
    explanation = models.JSONField(_("explanation"), default=list)
    created_at = models.DateTimeField(_("settled at"), auto_now_add=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reason = models.CharField(_("reversal reason"), max_length=200, blank=True)
    # Empty on all but the few reversed settlements: indexed only where set (partial indexes below).
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reversed by"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+", db_index=False)
    reversed_by_token = models.ForeignKey(PartnerToken, verbose_name=_("reversed through the partner token"),
                                          on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                          db_index=False)
    # A late settlement (补结算): a staff user settled it in the admin, outside the partners' service-date window;
    # when is `created_at`.
    settled_late_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("settled late by"),
                                        on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                        db_index=False)
    late_reason = models.CharField(_("reason for settling late"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-setl_date", "-id"]
        permissions = [("reverse_settlement", _("Can reverse settlements")),
                       ("settle_late", _("Can settle bills outside the service-date window (late settlement)"))]
        constraints = [
            models.UniqueConstraint(fields=["facility", "medins_setl_id"], name="settlement_idempotency_key"),
            models.CheckConstraint(condition=Q(status__in=SettlementStatus.values), name="settlement_status_valid"),
        ]
        indexes = [models.Index(fields=["facility", "setl_date"]), models.Index(fields=["person", "setl_date"]),
                   models.Index(fields=["setl_date", "med_type"]), models.Index(fields=["medins_setl_id"]),
                   # The default order (newest service date first, then id): a page of the list, whole or of a
                   # year or month, reads 50 index entries instead of sorting a whole day's settlements.
                   models.Index(fields=["setl_date", "id"], name="settlement_order"),
                   models.Index(fields=["reversed_by"], condition=Q(reversed_by__isnull=False),
                                name="settlement_reversed_by"),
                   models.Index(fields=["reversed_by_token"], condition=Q(reversed_by_token__isnull=False),
                                name="settlement_reversed_by_token"),
                   # The few visits in another region, for their report (reports.selectors.cross_region_spending).
                   models.Index(fields=["setl_date"], condition=~Q(cross_region=""), name="settlement_cross_region"),
                   models.Index(fields=["settled_late_by"], condition=Q(settled_late_by__isnull=False),
                                name="settlement_settled_late_by")]

    def __str__(self) -> str:
        return self.setl_id

    @property
    def is_reversed(self) -> bool:
        return self.status == SettlementStatus.REVERSED


class SettlementLine(models.Model):
    settlement = models.ForeignKey(Settlement, verbose_name=_("settlement"), on_delete=models.PROTECT,
                                   related_name="lines")
    item_code = models.CharField(_("item code"), max_length=50)
    item = models.ForeignKey(Item, verbose_name=_("catalog item"), on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")
    chrg_item_lv = models.CharField(_("catalog class"), max_length=2, choices=ItemClass.choices)
    # The catalog terms the line was settled with (the catalog may change later).
    selfpay_prop = models.DecimalField(_("pre-self-pay share"), max_digits=5, decimal_places=4, default=0)
    pric_uplmt_amt = models.DecimalField(_("unit price limit"), max_digits=MONEY_MAX_DIGITS,
                                         decimal_places=MONEY_DECIMAL_PLACES, null=True, blank=True)
    sep_pay = models.BooleanField(_("paid separately"), default=False)
    qty = models.DecimalField(_("quantity"), max_digits=12, decimal_places=4)
    price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    amount = money_field(_("amount"))
    fulamt_ownpay_amt = money_field(_("out of scope"))
    overlmt_selfpay = money_field(_("over the price limit"))
    preselfpay_amt = money_field(_("pre-self-pay"))
    inscp_scp_amt = money_field(_("in scope"))
    acct_pay_forbidden = models.BooleanField(_("accounts may never pay"), default=False)

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["settlement_id", "id"]

    def __str__(self) -> str:
        return f"{self.item_code} × {self.qty}"


class PersonLookup(models.Model):
    """The last time a facility presented a person's full ID number (`persons/lookup/`, national 1101): one row per
    facility and person, moved forward by every lookup. A lookup in the last 24 hours ties the person to the
    facility (claims.ties)."""

    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.CASCADE, db_index=False,
                                 related_name="+")
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    looked_up_at = models.DateTimeField(_("last looked up"))

    class Meta:
        verbose_name = _("person lookup")
        verbose_name_plural = _("person lookups")
        ordering = ["-looked_up_at"]
        constraints = [models.UniqueConstraint(fields=["facility", "person"], name="personlookup_unique")]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.person_id} {timezone.localtime(self.looked_up_at):%Y-%m-%d %H:%M}"
