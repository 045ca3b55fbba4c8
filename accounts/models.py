"""The registry of people: employers, persons (identified by resident ID), their employee-insurance enrollments
and the family links that let one person's account pay for another."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.certno import certno_clean, certno_mask
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, money_field
from policies.models import InsuType, Region


def certno_validator(value: str) -> None:
    certno_clean(value)


class Gender(models.TextChoices):
    MALE = "1", _("male")
    FEMALE = "2", _("female")


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
    # The history's user is checked once per statement (migration 0018), not by a foreign key.
    history = HistoricalRecords(user_db_constraint=False)

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
    psn_name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    gend = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    brdy = models.DateField(_("date of birth"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # History is read by the person's id (the admin's history page), never by number: its copies of the unique
    # numbers need no index (four btrees fewer for every person an import writes).
    history = HistoricalRecords(excluded_fields=["created_at"], no_db_index=["psn_no", "certno"],
                                user_db_constraint=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["psn_no"]
        permissions = [("view_full_certno", _("Can see full ID numbers"))]
        # The admin searches names by prefix; the pattern opclass lets PostgreSQL use the index for LIKE 'x%'.
        indexes = [models.Index(fields=["psn_name"], name="person_name_prefix", opclasses=["varchar_pattern_ops"])]
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
    """A person's enrollment (参保) in one region: employee insurance (310: person type, employer, base) or
    resident insurance (390: none of those, and no personal account); period and status.

    `psn_insu_stas` is the status as it stands; its dated history is in `EnrollmentStatus` (`stas_date`), and the
    status on a day is the last one that took effect on or before it (`status_on`). Saving a new status records it
    in the history, from `begndate` for a new enrollment and today for a change; a caller that sets the attribute
    `stas_date` records the status from that day (a change, or a correction of the history)."""

    # No index of its own on person or region: `enrollment_one_per_insutype` (person, insutype) and the
    # (region, psn_type) index lead with them. The references of enrollments, of their dated statuses and of the
    # history rows are checked once per statement by triggers on PostgreSQL (migration 0018), not by foreign keys.
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="enrollments", db_index=False, db_constraint=False)
    insutype = models.CharField(_("insurance type"), max_length=3, choices=InsuType.choices,
                                default=InsuType.EMPLOYEE)
    psn_type = models.CharField(_("person type"), max_length=4, choices=PsnType.choices, blank=True,
                                help_text=_("blank for resident insurance (390)"))
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="enrollments", db_index=False, db_constraint=False)
    employer = models.ForeignKey(Employer, verbose_name=_("employer"), on_delete=models.PROTECT,
                                 related_name="enrollments", null=True, blank=True, db_constraint=False)
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
    # History is read by the enrollment's id (the admin's history page).
    history = HistoricalRecords(no_db_index=["person", "region", "employer"], user_db_constraint=False)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["person__psn_no"]
        constraints = [
            models.UniqueConstraint(fields=["person", "insutype"], name="enrollment_one_per_insutype"),
            models.CheckConstraint(condition=Q(insutype__in=InsuType.values), name="enrollment_insutype_valid"),
            models.CheckConstraint(condition=Q(insutype=InsuType.EMPLOYEE, psn_type__in=PsnType.values)
                                   | Q(insutype=InsuType.RESIDENT, psn_type=""), name="enrollment_psn_type_valid"),
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

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._saved_status: str | None = None
        self.stas_date: datetime.date | None = None

    def save(self, *args: object, **kwargs: object) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        changed = self._saved_status is not None and self.psn_insu_stas != self._saved_status
        if adding or changed or self.stas_date is not None:
            day = self.stas_date or (self.begndate if adding else timezone.localdate())
            EnrollmentStatus.objects.update_or_create(enrollment=self, stas_date=day,
                                                      defaults={"psn_insu_stas": self.psn_insu_stas})
        self._saved_status, self.stas_date = self.psn_insu_stas, None

    @classmethod
    def from_db(cls, db: str | None, field_names: list[str], values: list[object]) -> "Enrollment":
        instance = super().from_db(db, field_names, values)
        if "psn_insu_stas" in field_names:
            instance._saved_status = instance.psn_insu_stas
        return instance

    def is_retired_on(self, day: datetime.date) -> bool:
        return self.psn_type in RETIRED_PSN_TYPES and self.retire_date is not None and self.retire_date <= day

    def psn_type_on(self, day: datetime.date) -> str:
        """The person type on `day`: a retired type counts as its in-service type before retire_date."""
        if self.psn_type in RETIRED_PSN_TYPES and not self.is_retired_on(day):
            return IN_SERVICE_BEFORE_RETIREMENT[PsnType(self.psn_type)]
        return self.psn_type

    @property
    def is_resident(self) -> bool:
        return self.insutype == InsuType.RESIDENT

    def status_history(self) -> list["EnrollmentStatus"]:
        """The dated statuses, oldest first (a prefetched `status_changes` is used as it is)."""
        return sorted(self.status_changes.all(), key=lambda c: (c.stas_date, c.pk))

    def status_change_on(self, day: datetime.date) -> "EnrollmentStatus | None":
        """The dated status in effect on `day`: the last that took effect on or before it (None: none had yet, or
        the enrollment has no dated status at all)."""
        known = [c for c in self.status_history() if c.stas_date <= day]
        return known[-1] if known else None

    def status_on(self, day: datetime.date) -> str | None:
        """The status that took effect last on or before `day` (None: none had yet). An enrollment without any
        dated status (written before the history existed, or by a bulk insert) has its present status throughout."""
        changes = self.status_history()
        if not changes:
            return self.psn_insu_stas
        known = [c.psn_insu_stas for c in changes if c.stas_date <= day]
        return known[-1] if known else None

    def covers(self, day: datetime.date) -> bool:
        """Insured and active on `day` (the status on that day, not today's)."""
        return (self.begndate <= day and (self.enddate is None or day <= self.enddate)
                and self.status_on(day) == InsuStatus.ACTIVE)


class EnrollmentStatus(models.Model):
    """One dated insured status of an enrollment (`stas_date`: the day it took effect; CONTRACT.md's roster
    column). The status on a day is the last one that took effect on or before it."""

    # No index of its own: `enrollmentstatus_one_a_day` (enrollment, stas_date) leads with it.
    enrollment = models.ForeignKey(Enrollment, verbose_name=_("enrollment"), on_delete=models.CASCADE,
                                   related_name="status_changes", db_index=False, db_constraint=False)
    stas_date = models.DateField(_("status effective from"))
    psn_insu_stas = models.CharField(_("insurance status"), max_length=1, choices=InsuStatus.choices)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("dated insurance status")
        verbose_name_plural = _("dated insurance statuses")
        ordering = ["enrollment_id", "stas_date"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "stas_date"], name="enrollmentstatus_one_a_day"),
            models.CheckConstraint(condition=Q(psn_insu_stas__in=InsuStatus.values),
                                   name="enrollmentstatus_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.stas_date} {self.get_psn_insu_stas_display()}"


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


# ---------------------------------------------------------------------------------------------------------------
# Personal accounts (个人账户): contributions that earn credits, the account's pockets, and its immutable ledger.
# ---------------------------------------------------------------------------------------------------------------



class Contribution(models.Model):
    """A paid monthly contribution (缴费) of an enrollee; in-service credits are computed from these."""

    # No index of its own: the unique (person, period) leads with the person and serves every lookup by person,
    # the month's included (a person's own index made the credit run read every contribution ever paid).
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="contributions", db_index=False)
    period = models.DateField(_("period"), help_text=_("the first day of the contribution month"))
    clct_base = money_field(_("contribution base"), validators=[MinValueValidator(0)])
    psn_clct_amt = money_field(_("enrollee's contribution"), validators=[MinValueValidator(0)])
    emp_clct_amt = money_field(_("employer's contribution"), validators=[MinValueValidator(0)])
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        ordering = ["person_id", "period"]
        constraints = [
            models.UniqueConstraint(fields=["person", "period"], name="contribution_unique_period"),
            models.CheckConstraint(condition=Q(period__day=1), name="contribution_period_first_day"),
            models.CheckConstraint(condition=Q(clct_base__gte=0, psn_clct_amt__gte=0, emp_clct_amt__gte=0),
                                   name="contribution_amounts_not_negative"),
        ]
        indexes = [models.Index(fields=["period"])]

    def __str__(self) -> str:
        return f"{self.person.psn_no} {self.period:%Y-%m}"


class PersonalAccount(models.Model):
    """An enrollee's personal account. The pocket balances are the sums of the ledger entries of each pocket
    (checked by `verify_ledger`) and change only together with a new entry, under a row lock."""

    # No foreign-key constraint: on PostgreSQL a trigger checks a statement's new accounts at once (a credit run
    # opens tens of thousands in one) and a person with an account cannot be deleted (migration 0020).
    person = models.OneToOneField(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                                  related_name="account", db_constraint=False)
    balc_current = money_field(_("current-year pocket"), default=0)
    balc_historical = money_field(_("historical pocket"), default=0)
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("personal account")
        verbose_name_plural = _("personal accounts")
        ordering = ["person_id"]
        constraints = [
            models.CheckConstraint(condition=Q(balc_current__gte=0), name="account_current_not_negative"),
            models.CheckConstraint(condition=Q(balc_historical__gte=0), name="account_historical_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.person.psn_no} {self.balc}"

    @property
    def balc(self):  # noqa: ANN201  (Decimal)
        return self.balc_current + self.balc_historical

    def pocket_balance(self, pocket: str):  # noqa: ANN201  (Decimal)
        return self.balc_current if pocket == "current" else self.balc_historical


class EntryKind(models.TextChoices):
    CREDIT_IN_SERVICE = "credit_in_service", _("credit, in-service")
    CREDIT_RETIRED = "credit_retired", _("credit, retired")
    OPENING_BALANCE = "opening_balance", _("opening balance")
    ROLLOVER = "rollover", _("rollover")
    SETTLEMENT = "settlement", _("own settlement")
    MULAID_SETTLEMENT = "mulaid_settlement", _("mutual-aid settlement")
    RELATIVE_CONTRIBUTION = "relative_contribution", _("relative's contribution")
    REVERSAL = "reversal", _("reversal")
    CORRECTION = "correction", _("correction")


CREDIT_KINDS = (EntryKind.CREDIT_IN_SERVICE, EntryKind.CREDIT_RETIRED)


class CreditRun(models.Model):
    """One run of `run_credits` or `run_rollover`: what it covers, who started it, its progress and totals."""

    class Kind(models.TextChoices):
        CREDITS = "credits", _("monthly and annual credits")
        ROLLOVER = "rollover", _("rollover")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    period = models.DateField(_("period"), help_text=_("the credited month, or the rollover date"))
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, null=True, blank=True,
                               related_name="credit_runs", help_text=_("blank: every region"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    entries_created = models.PositiveIntegerField(_("entries created"), default=0)
    amount_total = money_field(_("amount"), default=0)
    error = models.TextField(_("error"), blank=True)
    plan = models.JSONField(_("chunks planned"), default=list, blank=True,
                            help_text=_("[region id, first enrollment id, last enrollment id] of each chunk, in order"))
    resumed_at = models.DateTimeField(_("last resumed"), null=True, blank=True,
                                      help_text=_("when the check for stalled runs last queued its missing chunks"))
    resumes = models.PositiveIntegerField(_("times resumed"), default=0)

    class Meta:
        verbose_name = _("credit run")
        verbose_name_plural = _("credit runs")
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(chunks_done__lte=F("chunks_total")),
                                   name="creditrun_done_within_total"),
        ]
        indexes = [models.Index(fields=["status"], condition=Q(status="running"), name="creditrun_running")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period:%Y-%m-%d} {self.region.admdvs if self.region else ''}"

    @property
    def error_label(self) -> str:
        """The error in the reader's language where it is one of the catalog's (accounts.credits.UNPLANNED_RUN);
        a chunk's error comes back as it was raised."""
        return gettext(self.error) if self.error else ""

    @property
    def progress(self) -> int:
        """Percent of chunks done."""
        return 100 if not self.chunks_total else round(100 * self.chunks_done / self.chunks_total)


class CreditRunChunk(models.Model):
    """One committed chunk of a credit run: which worker ran it, when, and what it credited. Written in the chunk's
    own transaction, so a chunk delivered twice (its worker died after committing) counts once."""

    run = models.ForeignKey(CreditRun, verbose_name=_("credit run"), on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField(_("chunk"))
    worker = models.CharField(_("worker"), max_length=200, blank=True,
                              help_text=_("the Celery worker that ran it; blank: the command's own process"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    entries_created = models.PositiveIntegerField(_("entries created"), default=0)
    amount_total = money_field(_("amount"), default=0)

    class Meta:
        verbose_name = _("credit run chunk")
        verbose_name_plural = _("credit run chunks")
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="creditrunchunk_once")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.number}"


# A ledger entry's `ref_type` as staff read it.
REF_TYPE_LABELS = {
    "settlement": _("settlement"),
    "credit_run": _("credit run"),
    "relative_contribution": _("relative's contribution"),
    "ledger_entry": _("ledger entry"),
    "staff": _("staff member"),
    "balances_import": _("opening balances import"),
}


class LedgerEntry(models.Model):
    """One movement of a personal account's pocket. Never changed or deleted (a database trigger refuses it);
    a correction is a new entry with a reason. `balance_after` is the pocket's balance after this entry."""

    # References without a foreign-key constraint: on PostgreSQL one trigger checks a statement's entries at once
    # (a foreign key checks each entry on its own at COMMIT) and the referenced tables refuse to delete a row an
    # entry refers to (migration 0014).
    # No index of its own: the (account, id) index below leads with it.
    account = models.ForeignKey(PersonalAccount, verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="entries", db_index=False, db_constraint=False)
    kind = models.CharField(_("kind"), max_length=25, choices=EntryKind.choices)
    pocket = models.CharField(_("pocket"), max_length=10,
                              choices=[("current", _("current-year pocket")), ("historical", _("historical pocket"))])
    amount = money_field(_("amount"), help_text=_("positive: credit; negative: debit"))
    balance_after = money_field(_("pocket balance after"))
    period = models.DateField(_("period"), null=True, blank=True)
    policy_version = models.ForeignKey("policies.PolicyVersion", verbose_name=_("policy version"),
                                       on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                       db_constraint=False)
    # credit_rule, run and created_by are empty on most entries (settlements set none of them): indexed only where
    # set (partial indexes below), which spares every settlement's entries three index insertions.
    credit_rule = models.ForeignKey("policies.CreditRule", verbose_name=_("credit rule"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+", db_index=False, db_constraint=False)
    run = models.ForeignKey(CreditRun, verbose_name=_("credit run"), on_delete=models.PROTECT, null=True,
                            blank=True, related_name="entries", db_index=False, db_constraint=False)
    # Unique where set (`ledger_reverses_once`): a unique index over the column would hold a NULL for every entry
    # but the few reversals, one more index insertion for each of them.
    reverses = models.ForeignKey("self", verbose_name=_("reverses"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="reversed_by", db_index=False, db_constraint=False)
    ref_type = models.CharField(_("refers to"), max_length=30, blank=True)
    ref_id = models.CharField(_("reference"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", db_index=False, db_constraint=False)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["account_id", "id"]
        constraints = [
            # A credit lands once per enrollee, rule and period, whoever runs it and however often.
            models.UniqueConstraint(fields=["account", "credit_rule", "period"], condition=Q(credit_rule__isnull=False),
                                    name="ledger_credit_once"),
            models.UniqueConstraint(fields=["account", "pocket", "period"], condition=Q(kind="rollover"),
                                    name="ledger_rollover_once"),
            models.UniqueConstraint(fields=["account", "pocket"], condition=Q(kind="opening_balance"),
                                    name="ledger_opening_once"),
            # An entry is reversed once.
            models.UniqueConstraint(fields=["reverses"], condition=Q(reverses__isnull=False),
                                    name="ledger_reverses_once"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_not_negative"),
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="ledger_kind_valid"),
            models.CheckConstraint(condition=Q(pocket__in=["current", "historical"]), name="ledger_pocket_valid"),
        ]
        # The entries of a credit run are found by `run` (ledger_run); by reference only the others are looked
        # up (a settlement's, a contribution's), so a credit run's entries (about a million a month) skip that index.
        indexes = [models.Index(fields=["kind", "period"]),
                   models.Index(fields=["ref_type", "ref_id"], condition=~Q(ref_type="credit_run"),
                                name="ledger_ref"),
                   models.Index(fields=["credit_rule"], condition=Q(credit_rule__isnull=False),
                                name="ledger_credit_rule"),
                   models.Index(fields=["run"], condition=Q(run__isnull=False), name="ledger_run"),
                   models.Index(fields=["created_by"], condition=Q(created_by__isnull=False), name="ledger_created_by"),
                   # The admin's date hierarchy reads the first and last dates (MIN/MAX) and lists by range: one
                   # index read, not a scan of every entry (core.admin.DateRangeChangeList).
                   models.Index(fields=["created_at"], name="ledger_created_at"),
                   # The default order (account, id): the admin's first page of tens of millions of entries reads
                   # 50 index entries instead of sorting every entry of the first account.
                   models.Index(fields=["account", "id"], name="ledger_account_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("ledger entries are immutable; post a correction instead")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> None:
        raise PermissionError("ledger entries are immutable; post a correction instead")

    @property
    def ref_label(self) -> str:
        """What the entry refers to, its kind named in the reader's language: "结算 S2026…"."""
        label = REF_TYPE_LABELS.get(self.ref_type, self.ref_type)
        return f"{label} {self.ref_id}".strip()

    @property
    def reason_label(self) -> str:
        """The reason in the reader's language: a credit rule's seeded name or a fixed reason is stored in English
        (the catalog's msgid); a reason staff typed comes back as typed."""
        return gettext(self.reason) if self.reason else ""


class ContributionKind(models.TextChoices):
    RESIDENT = "resident", _("resident medical insurance (390)")
    LTC = "ltc", _("long-term care insurance (410)")
    COMMERCIAL = "commercial", _("government-guided commercial insurance")


class RelativeContribution(models.Model):
    """A relative's insurance contribution paid from an account holder's personal account (家庭共济缴费).

    `reference` is the payment order of the collecting body: the same reference is never paid twice."""

    holder = models.ForeignKey(Person, verbose_name=_("account holder"), on_delete=models.PROTECT,
                               related_name="relative_contributions_paid")
    relative = models.ForeignKey(Person, verbose_name=_("relative"), on_delete=models.PROTECT,
                                 related_name="relative_contributions_received")
    kind = models.CharField(_("kind"), max_length=12, choices=ContributionKind.choices)
    year = models.PositiveSmallIntegerField(_("contribution year"))
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    reference = models.CharField(_("payment reference"), max_length=64, unique=True)
    policy_version = models.ForeignKey("policies.PolicyVersion", verbose_name=_("policy version"),
                                       on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("paid at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("relative's contribution")
        verbose_name_plural = _("relatives' contributions")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="relativecontribution_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=ContributionKind.values), name="relativecontribution_kind"),
            models.CheckConstraint(condition=~Q(holder=F("relative")), name="relativecontribution_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_kind_display()} {self.amount}"


class AccountAdjustment(models.Model):
    """Money moved into or out of an account by hand: an opening balance, or a correction. Asked for by one user,
    it waits, pending, until a second user with `accounts.approve_accountadjustment` approves it (the ledger entry is
    posted then, once) or rejects it with a reason; both users and times are kept."""

    class Kind(models.TextChoices):
        OPENING_BALANCE = "opening_balance", _("opening balance")
        CORRECTION = "correction", _("correction")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT,
                               related_name="account_adjustments")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    pocket = models.CharField(_("pocket"), max_length=10,
                              choices=[("current", _("current-year pocket")), ("historical", _("historical pocket"))])
    amount = money_field(_("amount"), help_text=_("positive: into the pocket; negative: out of it"))
    as_of = models.DateField(_("as of"), null=True, blank=True,
                             help_text=_("an opening balance: the day the former system's balance stood"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"),
                                     on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved or rejected by"),
                                    on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejecting"), blank=True)
    entry = models.OneToOneField(LedgerEntry, verbose_name=_("ledger entry"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="adjustment")

    class Meta:
        verbose_name = _("account adjustment")
        verbose_name_plural = _("account adjustments")
        ordering = ["-requested_at"]
        permissions = [("approve_accountadjustment", _("Can approve or reject money moved by hand"))]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["opening_balance", "correction"]),
                                   name="adjustment_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=["pending", "approved", "rejected"]),
                                   name="adjustment_status_valid"),
            models.CheckConstraint(condition=Q(pocket__in=["current", "historical"]), name="adjustment_pocket_valid"),
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_amount_not_zero"),
            models.CheckConstraint(condition=~Q(kind="opening_balance") | Q(amount__gt=0, as_of__isnull=False),
                                   name="adjustment_opening_positive_dated"),
            # The entry exists exactly when approved; the approver is never the maker.
            models.CheckConstraint(condition=Q(status="approved", entry__isnull=False)
                                   | (~Q(status="approved") & Q(entry__isnull=True)),
                                   name="adjustment_entry_iff_approved"),
            models.CheckConstraint(condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("requested_by")),
                                   name="adjustment_reviewer_not_maker"),
            models.CheckConstraint(condition=Q(status="pending", reviewed_by__isnull=True)
                                   | (~Q(status="pending") & Q(reviewed_by__isnull=False)),
                                   name="adjustment_reviewed_iff_decided"),
        ]
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.person.psn_no} {self.get_kind_display()} {self.amount}"
