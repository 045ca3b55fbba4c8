"""The national interface's own records: visits as the hospital systems send them (registration, visit information
with diagnoses, fee-detail batches and their cancellations, the settlements of a visit), operator sign-ins, every
message received (its answer kept for a resend of the same `msgid`) and every daily reconciliation (3201).

A visit (就诊, `mdtrt_id`) exists only through the gateway: the REST API settles a bill in one request. The visit
decides a gateway settlement's service date (its registration's `begntime`) and lines (its live fee details); the
settlement itself is the claims app's, linked here by `VisitSettlement`."""

from functools import partial

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from claims.models import Facility, MedType, PartnerToken, Settlement
from core.money import money_field as core_money_field

money_field = partial(core_money_field, default=0)


class VisitStatus(models.TextChoices):
    OPEN = "open", _("registered")
    CANCELLED = "cancelled", _("registration cancelled")


class Visit(models.Model):
    """An outpatient registration (national 2201) and the visit it opens. Its `begntime` fixes the service date of
    the visit's settlement; 2202 cancels it while it has no live settlement."""

    mdtrt_id = models.CharField(_("visit id"), max_length=30, unique=True)
    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT, db_index=False,
                                 related_name="+")
    person = models.ForeignKey("accounts.Person", verbose_name=_("person"), on_delete=models.PROTECT,
                               db_index=False, related_name="visits")
    insutype = models.CharField(_("insurance type"), max_length=3)
    begntime = models.DateTimeField(_("registered for"))
    service_date = models.DateField(_("service date"), help_text=_("the date of begntime, Asia/Shanghai"))
    mdtrt_cert_type = models.CharField(_("document type"), max_length=3, blank=True)
    ipt_otp_no = models.CharField(_("outpatient number"), max_length=30, blank=True)
    atddr_no = models.CharField(_("doctor code"), max_length=30, blank=True)
    dr_name = models.CharField(_("doctor"), max_length=50, blank=True)
    dept_code = models.CharField(_("department code"), max_length=30, blank=True)
    dept_name = models.CharField(_("department"), max_length=100, blank=True)
    caty = models.CharField(_("clinical specialty"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.OPEN)
    msgid = models.CharField(_("registered by message"), max_length=64)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by_msgid = models.CharField(_("cancelled by message"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-begntime", "-id"]
        indexes = [models.Index(fields=["facility", "person"]), models.Index(fields=["person", "service_date"]),
                   models.Index(fields=["facility", "service_date"])]
        constraints = [models.CheckConstraint(condition=Q(status__in=VisitStatus.values), name="visit_status_valid")]

    def __str__(self) -> str:
        return self.mdtrt_id

    @property
    def is_cancelled(self) -> bool:
        return self.status == VisitStatus.CANCELLED


class VisitInfo(models.Model):
    """What one 2203 said of the visit. The latest not reversed is the visit's: its medical type and disease code
    go into the settlement (2207's `med_type` wins when both are given)."""

    visit = models.ForeignKey(Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="infos")
    med_type = models.CharField(_("medical type"), max_length=2, choices=MedType.choices)
    begntime = models.DateTimeField(_("visit began"), null=True, blank=True)
    main_cond_dscr = models.CharField(_("main complaint"), max_length=500, blank=True)
    dise_codg = models.CharField(_("disease code"), max_length=20, blank=True)
    dise_name = models.CharField(_("disease name"), max_length=100, blank=True)
    msgid = models.CharField(_("message"), max_length=64)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit information")
        verbose_name_plural = _("visit information")
        ordering = ["visit_id", "-id"]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.med_type} {self.dise_codg}"


class DiagnosisType(models.TextChoices):
    WESTERN = "1", _("western medicine diagnosis")
    TCM_DISEASE = "2", _("traditional Chinese medicine: main disease")
    TCM_SYNDROME = "3", _("traditional Chinese medicine: main syndrome")


class Diagnosis(models.Model):
    """One diagnosis (`diseinfo`) of a 2203."""

    info = models.ForeignKey(VisitInfo, verbose_name=_("visit information"), on_delete=models.CASCADE,
                             related_name="diagnoses")
    diag_type = models.CharField(_("diagnosis type"), max_length=3, blank=True)
    diag_srt_no = models.PositiveIntegerField(_("order"), default=1)
    diag_code = models.CharField(_("diagnosis code"), max_length=30)
    diag_name = models.CharField(_("diagnosis"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        ordering = ["info_id", "diag_srt_no", "id"]

    def __str__(self) -> str:
        return f"{self.diag_code} {self.diag_name}"


class FeeBatch(models.Model):
    """One charge batch (`chrg_bchno`) of fee details (national 2204), live until cancelled (2205, or 2601 of the
    2204). A visit holds at most one live batch of a number; a cancelled number may be sent again."""

    visit = models.ForeignKey(Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="batches")
    chrg_bchno = models.CharField(_("charge batch"), max_length=30)
    medfee_sumamt = money_field(_("total"))
    msgid = models.CharField(_("uploaded by message"), max_length=64)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by_msgid = models.CharField(_("cancelled by message"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("fee batch")
        verbose_name_plural = _("fee batches")
        ordering = ["visit_id", "id"]
        constraints = [models.UniqueConstraint(fields=["visit", "chrg_bchno"], condition=Q(cancelled_at__isnull=True),
                                               name="feebatch_live_number_unique")]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.chrg_bchno}"

    @property
    def is_live(self) -> bool:
        return self.cancelled_at is None


class FeeDetail(models.Model):
    """One fee detail (`feedetail`) of a batch: the settlement's line is `med_list_codg` × `cnt` at `pric`."""

    batch = models.ForeignKey(FeeBatch, verbose_name=_("fee batch"), on_delete=models.CASCADE, related_name="details")
    feedetl_sn = models.CharField(_("detail number"), max_length=30)
    med_type = models.CharField(_("medical type"), max_length=2, blank=True)
    fee_ocur_time = models.DateTimeField(_("charged at"))
    med_list_codg = models.CharField(_("item code"), max_length=50)
    medins_list_codg = models.CharField(_("facility's item code"), max_length=50, blank=True)
    det_item_fee_sumamt = money_field(_("amount"))
    cnt = models.DecimalField(_("quantity"), max_digits=12, decimal_places=4)
    pric = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    bilg_dept_codg = models.CharField(_("billing department"), max_length=30, blank=True)
    bilg_dr_codg = models.CharField(_("billing doctor"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("fee detail")
        verbose_name_plural = _("fee details")
        ordering = ["batch_id", "id"]

    def __str__(self) -> str:
        return f"{self.feedetl_sn} {self.med_list_codg} × {self.cnt}"


class VisitSettlement(models.Model):
    """A settlement of a visit (national 2207). A visit has at most one live settlement; after a cancellation
    (2208) it may be settled again."""

    visit = models.ForeignKey(Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="settlements")
    settlement = models.OneToOneField(Settlement, verbose_name=_("settlement"), on_delete=models.PROTECT,
                                      related_name="visit_link")
    msgid = models.CharField(_("settled by message"), max_length=64)

    class Meta:
        verbose_name = _("settlement of a visit")
        verbose_name_plural = _("settlements of visits")
        ordering = ["visit_id", "id"]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.settlement_id}"


class SignIn(models.Model):
    """An operator's sign-in at a facility (9001), closed by 9002."""

    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT, related_name="+")
    sign_no = models.CharField(_("sign-in number"), max_length=30, unique=True)
    opter_no = models.CharField(_("operator"), max_length=30)
    mac = models.CharField(_("MAC address"), max_length=50, blank=True)
    ip = models.CharField(_("IP address"), max_length=50, blank=True)
    signed_in_at = models.DateTimeField(_("signed in"))
    signed_out_at = models.DateTimeField(_("signed out"), null=True, blank=True)

    class Meta:
        verbose_name = _("operator sign-in")
        verbose_name_plural = _("operator sign-ins")
        ordering = ["-signed_in_at"]

    def __str__(self) -> str:
        return self.sign_no


class Outcome(models.TextChoices):
    DONE = "done", _("done")
    REFUSED = "refused", _("refused")
    REPLAYED = "replayed", _("resent: first answer repeated")
    CONFLICT = "conflict", _("resent with another body: refused")
    REVERSED_BEFORE_ARRIVAL = "reversed_early", _("reversed (2601) before it arrived")


class Message(models.Model):
    """One message received through the gateway: who sent it, what, how long it took and how it ended. IDs in it are
    the facility's and the message's; no payload is kept but the answer of a message that `kept` binds its
    `msgid`: a resend of that msgid gets it again. A 2601 for a msgid that never arrived leaves a kept row that
    refuses the late original."""

    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT, db_index=False,
                                 related_name="+")
    token = models.ForeignKey(PartnerToken, verbose_name=_("partner token"), on_delete=models.PROTECT, null=True,
                              blank=True, db_index=False, related_name="+")
    infno = models.CharField(_("transaction"), max_length=8)
    msgid = models.CharField(_("message id"), max_length=64)
    opter = models.CharField(_("operator"), max_length=30, blank=True)
    received_at = models.DateTimeField(_("received"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    outcome = models.CharField(_("result"), max_length=20, choices=Outcome.choices)
    infcode = models.SmallIntegerField(_("answer code"))
    err_code = models.CharField(_("error code"), max_length=30, blank=True)
    kept = models.BooleanField(_("binds its message id"), default=False)
    digest = models.CharField(_("request digest"), max_length=64, blank=True)
    answer = models.JSONField(_("answer"), null=True, blank=True)
    effect = models.CharField(_("what it did"), max_length=64, blank=True,
                              help_text=_("what a reversal (2601) of this message undoes: a settlement, a fee "
                                          "batch, a visit, …"))
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by_msgid = models.CharField(_("reversed by message"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("gateway message")
        verbose_name_plural = _("gateway messages")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["facility", "msgid"], condition=Q(kept=True),
                                               name="message_msgid_kept_unique")]
        indexes = [models.Index(fields=["received_at"]), models.Index(fields=["facility", "received_at"]),
                   models.Index(fields=["infno", "received_at"])]

    def __str__(self) -> str:
        return f"{self.infno} {self.msgid}"


class ClrType(models.TextChoices):
    OUTPATIENT = "11", _("outpatient and emergency")
    CHRONIC = "14", _("outpatient chronic or special disease")
    PHARMACY = "41", _("pharmacy purchase")


# The medical types each clearing type (清算类别) of a 3201 counts.
CLR_TYPE_MED_TYPES = {ClrType.OUTPATIENT: ("11", "13"), ClrType.CHRONIC: ("14",), ClrType.PHARMACY: ("41",)}


class Reconciliation(models.Model):
    """One daily totals reconciliation (3201): the facility's figures beside the system's for the same period,
    insurance type and clearing type."""

    facility = models.ForeignKey(Facility, verbose_name=_("facility"), on_delete=models.PROTECT, db_index=False,
                                 related_name="+")
    msgid = models.CharField(_("message id"), max_length=64)
    insutype = models.CharField(_("insurance type"), max_length=3)
    clr_type = models.CharField(_("clearing type"), max_length=2, choices=ClrType.choices)
    setl_optins = models.CharField(_("clearing agency"), max_length=10, blank=True)
    stmt_begndate = models.DateField(_("from"))
    stmt_enddate = models.DateField(_("until"))
    medfee_sumamt = money_field(_("total (facility)"))
    fund_pay_sumamt = money_field(_("funds (facility)"))
    acct_pay = money_field(_("own account (facility)"))
    fixmedins_setl_cnt = models.PositiveIntegerField(pgettext_lazy("count", "settlements (facility)"), default=0)
    sys_medfee_sumamt = money_field(_("total (system)"))
    sys_fund_pay_sumamt = money_field(_("funds (system)"))
    sys_acct_pay = money_field(_("own account (system)"))
    sys_setl_cnt = models.PositiveIntegerField(pgettext_lazy("count", "settlements (system)"), default=0)
    agreed = models.BooleanField(_("agreed"))
    created_at = models.DateTimeField(_("reconciled at"), auto_now_add=True)

    class Meta:
        verbose_name = _("daily reconciliation")
        verbose_name_plural = _("daily reconciliations")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["facility", "created_at"]),
                   models.Index(fields=["created_at"], condition=Q(agreed=False),
                                name="reconciliation_disagreed")]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.stmt_begndate}..{self.stmt_enddate} {self.clr_type}"
