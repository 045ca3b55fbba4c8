"""Clearing with facilities (清算, CONTRACT.md "Clearing with facilities"): what each fund owes each facility a
month, by payment method, after claim review, and its payment.

`Signing` is an enrollee's primary-care contract with a facility (家庭医生签约): the base of capitation.

`ClearingApplication` is a facility's own claim for a period (national 3203, cancelled by 3204): kept beside the
system's figures on the month's statement, never a source of them.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import money_field
from policies.models import InsuType


# The fund a clearing amount belongs to: a region's fund of one insurance type (employee 310, resident 390), kept on
# books of its own (CONTRACT.md: "what each fund owes each facility").
def insutype_field() -> models.CharField:
    return models.CharField(_("fund (insurance type)"), max_length=3, choices=InsuType.choices,
                            default=InsuType.EMPLOYEE)


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


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    REVIEWED = "reviewed", _("reviewed")
    APPROVED = "approved", _("approved")
    PAID = "paid", _("paid")


FROZEN_STATUSES = (StatementStatus.APPROVED.value, StatementStatus.PAID.value)


class ClrWay(models.TextChoices):
    """A statement line's `clr_way` (CONTRACT.md): the payment methods and the separately paid drugs' line."""

    ITEMISED = "itemised", _("itemised")
    CAPITATION = "capitation", _("capitation")
    PER_DISEASE = "per_disease", _("per disease")
    SEP_PAY = "sep_pay", _("separately paid drugs")


class LineGroup(models.TextChoices):
    GENERAL = "general", _("general outpatient")
    CHRONIC = "chronic", _("chronic disease")
    PHARMACY = "pharmacy", _("pharmacy purchase")
    SEP_PAY = "sep_pay", _("separately paid drugs")


class PaymentFile(models.Model):
    """A payment file of one region and month: the approved statements it pays, marked paid when it was made."""

    region = models.ForeignKey("policies.Region", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="+")
    month = models.DateField(_("month"))
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    statements_count = models.PositiveIntegerField(_("statements"))
    total = money_field(_("total"))
    carried_total = money_field(_("carried"), default=0,
                                help_text=_("funds' parts below zero: paid nothing, carried to the facilities' next "
                                            "statements"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("made by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("made at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment file")
        verbose_name_plural = _("payment files")
        ordering = ["-month", "region_id", "-id"]

    def __str__(self) -> str:
        return self.reference


class Statement(models.Model):
    """What the funds owe one facility for one month (CONTRACT.md "Clearing with facilities"): its lines by payment
    method, the separately paid drugs' line and the deductions it carries. Built and rebuilt by `run_clearing`
    while a draft (or reviewed: a rebuild that changes it sends it back to draft); approved and paid statements never
    change. `medfee_sumamt` … `cash_payamt` are the system's totals of the month's live settlements, shown beside the
    facility's own clearing applications (3203)."""

    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="statements")
    month = models.DateField(_("month"), help_text=_("its first day"))
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus.choices,
                              default=StatementStatus.DRAFT)
    settlements_count = models.PositiveIntegerField(_("settlements"), default=0)
    medfee_sumamt = money_field(_("total"), default=0)
    fund_pay_sumamt = money_field(_("fund payments"), default=0)
    acct_pay = money_field(_("account payments"), default=0)
    cash_payamt = money_field(_("cash payments"), default=0)
    lines_amount = money_field(_("lines"), default=0)
    deducted = money_field(_("deductions"), default=0)
    payable = money_field(_("payable"), default=0)
    built_at = models.DateTimeField(_("built at"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    payment_file = models.ForeignKey(PaymentFile, verbose_name=_("payment file"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="statements")
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("clearing statement")
        verbose_name_plural = _("clearing statements")
        ordering = ["-month", "facility_id"]
        permissions = [("review_statement", _("Can review clearing statements")),
                       ("approve_statement", _("Can approve clearing statements")),
                       ("pay_statement", _("Can make payment files"))]
        constraints = [
            models.UniqueConstraint(fields=["facility", "month"], name="statement_one_per_facility_month"),
            models.CheckConstraint(condition=Q(status__in=StatementStatus.values), name="statement_status_valid"),
            models.CheckConstraint(condition=~Q(status__in=FROZEN_STATUSES)
                                   | (Q(approved_by__isnull=False) & ~Q(approved_by=F("reviewed_by"))),
                                   name="statement_approved_by_another_user"),
            models.CheckConstraint(condition=~Q(status=StatementStatus.PAID) | Q(payment_file__isnull=False),
                                   name="statement_paid_in_a_file"),
        ]
        indexes = [models.Index(fields=["month", "status"])]

    def __str__(self) -> str:
        return f"{self.facility.fixmedins_code} {self.month:%Y-%m}"

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES

    @property
    def reference(self) -> str:
        return f"CLR{self.month:%Y%m}-{self.facility.fixmedins_code}"


class StatementLine(models.Model):
    """One line of a statement: a payment method (or the separately paid drugs) for a medical-type group (a disease
    for per-disease payment). `count` is the live settlements it stands for, or for capitation and per disease the
    enrollees paid for; `medfee_sumamt` and `fund_pay_sumamt` total the settlements it pays or covers (for the
    separately paid line: those drugs' lines and the fund's payment for them); `amount` is what it pays."""

    statement = models.ForeignKey(Statement, verbose_name=_("statement"), on_delete=models.CASCADE,
                                  related_name="lines")
    clr_way = models.CharField(_("payment method"), max_length=12, choices=ClrWay.choices)
    med_type_group = models.CharField(_("medical-type group"), max_length=10, choices=LineGroup.choices)
    dise_code = models.CharField(_("disease code"), max_length=6, blank=True)
    insutype = insutype_field()
    count = models.IntegerField(_("count"))
    medfee_sumamt = money_field(_("total"))
    fund_pay_sumamt = money_field(_("fund payments"))
    amount = money_field(_("amount"))

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement_id", "clr_way", "med_type_group", "dise_code", "insutype"]
        constraints = [models.UniqueConstraint(fields=["statement", "clr_way", "med_type_group", "dise_code",
                                                       "insutype"], name="statementline_unique_key")]

    def __str__(self) -> str:
        return f"{self.get_clr_way_display()} {self.get_med_type_group_display()} {self.dise_code}".strip()


class StatementAction(models.TextChoices):
    BUILT = "built", _("built")
    REBUILT = "rebuilt", _("rebuilt")
    REVIEWED = "reviewed", _("reviewed")
    APPROVED = "approved", _("approved")
    PAID = "paid", _("paid")


class StatementEvent(models.Model):
    """Who did what to a statement and when, written in the same transaction as the step."""

    statement = models.ForeignKey(Statement, verbose_name=_("statement"), on_delete=models.CASCADE,
                                  related_name="events")
    action = models.CharField(_("action"), max_length=10, choices=StatementAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", help_text=_("blank: run_clearing or the monthly task"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("statement event")
        verbose_name_plural = _("statement events")
        ordering = ["statement_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.statement} {self.get_action_display()}"


class DeductionKind(models.TextChoices):
    REVIEW = "review", _("refused in claim review")
    EXTRAPOLATED = "extrapolated", _("extrapolated from a random review sample")
    LATE_REVERSAL = "late_reversal", _("reversed after its month was approved")
    LATE_SETTLEMENT = "late_settlement", _("settled after its month was approved (a negative deduction pays it)")
    CARRIED = "carried", _("balance owed back by the facility, carried from an approved statement")


class Deduction(models.Model):
    """An amount taken off a facility's payable: the fund's share of what claim review refused, or a settlement
    reversed after its month's statement was approved (a settlement arriving so late is paid by a negative one). It
    belongs to the month of its settlement and sits on that month's statement while it is open, otherwise on the
    facility's next open statement; once on an approved statement it never changes."""

    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="deductions")
    month = models.DateField(_("month"), help_text=_("the month of the settlement (or sample) it comes from"))
    kind = models.CharField(_("kind"), max_length=16, choices=DeductionKind.choices)
    settlement = models.ForeignKey("claims.Settlement", verbose_name=_("settlement"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="deductions", db_index=False)
    insutype = insutype_field()
    amount = money_field(_("amount"))
    reason = models.CharField(_("reason"), max_length=300)
    statement = models.ForeignKey(Statement, verbose_name=_("statement"), on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="deductions",
                                  help_text=_("blank: waiting for the facility's next open statement"))
    carried_from = models.ForeignKey(Statement, verbose_name=_("carried from"), on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="carried_out",
                                     help_text=_("a carried balance: the approved statement whose fund part was "
                                                 "below zero"))
    review_batch = models.ForeignKey("clearing.ReviewBatch", verbose_name=_("review batch"),
                                     on_delete=models.PROTECT, null=True, blank=True, related_name="deductions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("deduction")
        verbose_name_plural = _("deductions")
        ordering = ["facility_id", "month", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DeductionKind.values), name="deduction_kind_valid"),
            # A late reversal or settlement is carried once, however often the listener or a retry runs.
            models.UniqueConstraint(fields=["settlement", "kind"], name="deduction_late_once",
                                    condition=Q(kind__in=["late_reversal", "late_settlement"])),
            models.UniqueConstraint(fields=["settlement", "review_batch"], name="deduction_review_once",
                                    condition=Q(kind="review")),
            models.UniqueConstraint(fields=["facility", "review_batch", "insutype"],
                                    name="deduction_extrapolated_once", condition=Q(kind="extrapolated")),
            # A fund's negative part of an approved statement is carried once.
            models.UniqueConstraint(fields=["carried_from", "insutype"], name="deduction_carried_once",
                                    condition=Q(kind="carried")),
        ]
        indexes = [models.Index(fields=["facility", "month"], condition=Q(statement__isnull=True),
                                name="deduction_waiting"),
                   models.Index(fields=["settlement"], condition=Q(settlement__isnull=False),
                                name="deduction_settlement")]

    def __str__(self) -> str:
        return f"{self.facility.fixmedins_code} {self.month:%Y-%m} {self.amount}"


class ReviewSelection(models.TextChoices):
    RANDOM = "random", _("a random share")
    THRESHOLD = "threshold", _("fund payments above a threshold")
    ALERT = "alert", _("settlements named by supervision alerts")
    MANUAL = "manual", _("chosen by hand")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class ReviewBatch(models.Model):
    """A claim review (审核) of a region's settlements of one month, chosen one way; closing it turns the fund's
    share of what was refused into deductions."""

    region = models.ForeignKey("policies.Region", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="+")
    month = models.DateField(_("month"))
    selection = models.CharField(_("selection"), max_length=10, choices=ReviewSelection.choices)
    share = models.DecimalField(_("share"), max_digits=5, decimal_places=4, null=True, blank=True,
                                help_text=_("random: the share of settlements drawn, 0 to 1"))
    seed = models.BigIntegerField(_("seed"), null=True, blank=True,
                                  help_text=_("random: the same seed draws the same settlements"))
    threshold = money_field(_("threshold"), null=True, blank=True,
                            help_text=_("fund payments above this amount"))
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("made by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("made at"), auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("claim review batch")
        verbose_name_plural = _("claim review batches")
        ordering = ["-month", "-id"]
        permissions = [("review_claims", _("Can review claims"))]
        constraints = [models.CheckConstraint(condition=Q(selection__in=ReviewSelection.values),
                                              name="reviewbatch_selection_valid")]

    def __str__(self) -> str:
        return f"{self.region_id} {self.month:%Y-%m} {self.get_selection_display()} #{self.pk}"


class ReviewItem(models.Model):
    """A settlement in a review batch."""

    batch = models.ForeignKey(ReviewBatch, verbose_name=_("review batch"), on_delete=models.CASCADE,
                              related_name="items")
    settlement = models.ForeignKey("claims.Settlement", verbose_name=_("settlement"), on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("reviewed settlement")
        verbose_name_plural = _("reviewed settlements")
        ordering = ["batch_id", "settlement_id"]
        constraints = [models.UniqueConstraint(fields=["batch", "settlement"], name="reviewitem_once")]

    def __str__(self) -> str:
        return str(self.settlement_id)


class Decision(models.TextChoices):
    ACCEPT = "accept", _("accepted")
    REFUSE = "refuse", _("refused")


class ReviewDecision(models.Model):
    """A reviewer's decision on one line of a reviewed settlement: accepted, or refused (all or part of its amount)
    with a reason."""

    item = models.ForeignKey(ReviewItem, verbose_name=_("reviewed settlement"), on_delete=models.CASCADE,
                             related_name="decisions")
    line = models.ForeignKey("claims.SettlementLine", verbose_name=_("line"), on_delete=models.PROTECT,
                             related_name="+")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    refused_amount = money_field(_("refused amount"), default=0)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"),
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        ordering = ["item_id", "line_id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "line"], name="reviewdecision_once_per_line"),
            models.CheckConstraint(condition=Q(decision=Decision.ACCEPT, refused_amount=0)
                                   | Q(decision=Decision.REFUSE, refused_amount__gt=0),
                                   name="reviewdecision_amount_fits"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.decision}"


class BankAccount(models.Model):
    """The account a facility is paid into (the payment file's bank fields)."""

    facility = models.OneToOneField("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                    related_name="bank_account")
    bank_name = models.CharField(_("bank"), max_length=100)
    account_name = models.CharField(_("account name"), max_length=200)
    account_no = models.CharField(_("account number"), max_length=40,
                                  validators=[RegexValidator(r"^[0-9]{8,32}$", _("8 to 32 digits"))])
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("facility bank account")
        verbose_name_plural = _("facility bank accounts")
        ordering = ["facility_id"]

    def __str__(self) -> str:
        return f"{self.bank_name} {self.account_no}"


class FundEntryKind(models.TextChoices):
    OWED = "owed", _("owed (statement approved)")
    CARRIED = "carried", _("carried (a part below zero, owed back through the next statement)")
    PAID = "paid", _("paid (payment file)")


class FundLedgerEntry(models.Model):
    """The fund side of clearing, per fund (a region's fund of one insurance type, 310 or 390): what it came to owe a
    facility when a statement was approved (the fund's part: its lines less its deductions), a part below zero
    carried to the facility's next statement (so the fund's books hold it once, there), and what it paid when the
    statement went out in a payment file. Entries are never changed; a fund's balance with a facility is owed plus
    carried less paid, which equals the fund's parts of the approved, unpaid statements above zero."""

    region = models.ForeignKey("policies.Region", verbose_name=_("fund (region)"), on_delete=models.PROTECT,
                               related_name="+")
    insutype = insutype_field()
    facility = models.ForeignKey("claims.Facility", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="+")
    statement = models.ForeignKey(Statement, verbose_name=_("statement"), on_delete=models.PROTECT,
                                  related_name="fund_entries")
    month = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=7, choices=FundEntryKind.choices)
    amount = money_field(_("amount"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("fund ledger entry")
        verbose_name_plural = _("fund ledger entries")
        ordering = ["region_id", "facility_id", "month", "id"]
        constraints = [models.UniqueConstraint(fields=["statement", "kind", "insutype"], name="fundledgerentry_once")]
        indexes = [models.Index(fields=["region", "month"])]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.month:%Y-%m} {self.kind} {self.amount}"


class AuditRun(models.Model):
    """A re-adjudication of settlements from their stored lines, version and the accumulators before them: a sample
    of a day's (nightly) or all of a month's (on demand). Each difference from what was paid is a finding."""

    class Scope(models.TextChoices):
        DAY = "day", _("a sample of a day")
        MONTH = "month", _("all of a month")

    scope = models.CharField(_("scope"), max_length=5, choices=Scope.choices)
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"))
    sample_share = models.DecimalField(_("share"), max_digits=5, decimal_places=4)
    seed = models.BigIntegerField(_("seed"))
    checked = models.PositiveIntegerField(_("checked"), default=0)
    differences = models.PositiveIntegerField(_("differences"), default=0)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+", help_text=_("blank: the nightly task"))

    class Meta:
        verbose_name = _("settlement audit")
        verbose_name_plural = _("settlement audits")
        ordering = ["-first_day", "-id"]
        indexes = [models.Index(fields=["first_day", "last_day"])]

    def __str__(self) -> str:
        return f"{self.first_day} – {self.last_day}"


class AuditFinding(models.Model):
    """A settlement whose re-adjudication differs from what was paid: the field, the paid and the recomputed value."""

    run = models.ForeignKey(AuditRun, verbose_name=_("audit"), on_delete=models.CASCADE, related_name="findings")
    settlement = models.ForeignKey("claims.Settlement", verbose_name=_("settlement"), on_delete=models.PROTECT,
                                   related_name="+")
    field = models.CharField(_("field"), max_length=30)
    paid = models.CharField(_("paid"), max_length=40)
    recomputed = models.CharField(_("recomputed"), max_length=40)

    class Meta:
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        ordering = ["run_id", "settlement_id", "field"]

    def __str__(self) -> str:
        return f"{self.settlement_id} {self.field}"


class ClearingReport(Statement):
    """The report of cleared, deducted and paid amounts per fund and facility by month (a page, no table)."""

    class Meta:
        proxy = True
        verbose_name = _("clearing by fund and facility")
        verbose_name_plural = _("clearing by fund and facility")


class JobKind(models.TextChoices):
    CLEARING = "clearing", _("run clearing")
    AUDIT = "audit", _("audit a month's settlements")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class ClearingJob(models.Model):
    """A clearing run (a region's or every region's statements of a month) or a month's re-adjudication audit,
    started by a member of staff from the admin and run in the background: who started it, when, its state while it
    runs and its result. The monthly and nightly tasks and `run_clearing` run without one."""

    kind = models.CharField(_("kind"), max_length=10, choices=JobKind.choices)
    region = models.ForeignKey("policies.Region", verbose_name=_("region"), on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+", help_text=_("blank: every region"))
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT,
                                   related_name="+")
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    audit_run = models.ForeignKey(AuditRun, verbose_name=_("audit"), on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="+")

    class Meta:
        verbose_name = _("clearing or audit run")
        verbose_name_plural = _("clearing and audit runs")
        ordering = ["-started_at", "-id"]
        permissions = [("run_clearing", _("Can run clearing for a region and month")),
                       ("run_audit", _("Can run the settlement audit for a month"))]
        constraints = [models.CheckConstraint(condition=Q(kind__in=JobKind.values), name="clearingjob_kind_valid"),
                       models.CheckConstraint(condition=Q(status__in=JobStatus.values),
                                              name="clearingjob_status_valid")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.month:%Y-%m}" + (f" {self.region.admdvs}" if self.region_id else "")
