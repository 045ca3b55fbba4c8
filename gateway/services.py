"""The rules of a visit as the national interface builds it, and of what the gateway records.

A visit goes registration (2201) → visit information (2203) → fee-detail batches (2204) → settlement (2207). Its
settlement is a claims settlement like any other (`claims.partner.partner_settlement_create`: the tie rule, the
service-date window, the engine); what the visit adds is decided here:
- its registration fixes the service date: the date of `begntime` (Asia/Shanghai), inside the window when
  registering and again when settling;
- its lines are its live fee details, and the facility's `medfee_sumamt` must be their sum;
- it has at most one live settlement (ALREADY_SETTLED), and nothing changes under a live settlement: cancel it
  first (2208);
- the settlement's `medins_setl_id` is the 2207's `msgid` (unique per facility, as `medins_setl_id` is).

Every function that changes a visit locks its row first (`select_for_update`), before the settlement path's
accumulator and account locks: two messages about one visit wait for each other, two tills never deadlock.
"""

import datetime
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Person
from claims import engine
from claims.api.serializers import MONEY_LIMIT
from claims.errors import ClaimError
from claims.models import Facility, PartnerToken, Settlement, SettlementStatus
from claims.partner import (
    partner_settlement_create,
    partner_settlement_preview,
    person_not_found,
    person_visible,
    setl_date_check,
)
from claims.selectors import NUMBER_RE, person_get
from claims.services import bill_lines, settlement_reverse
from core.money import ZERO, fen
from gateway.models import (
    CLR_TYPE_MED_TYPES,
    Diagnosis,
    FeeBatch,
    FeeDetail,
    Reconciliation,
    SignIn,
    Visit,
    VisitInfo,
    VisitSettlement,
    VisitStatus,
)

ID_CARD = "02"
ALL_BATCHES = "0000"


def invalid(message: str) -> ClaimError:
    return ClaimError(ClaimError.INVALID_REQUEST, message)


def _new_id(day: datetime.date) -> str:
    return f"{day:%Y%m%d}{secrets.token_hex(8).upper()}"


# --- registration -------------------------------------------------------------------------------------------------

def _presented(person: Person, cert_type: str, cert_no: str) -> bool:
    """The registration carries the person's full ID number: the same evidence as a lookup (1101)."""
    return cert_type == ID_CARD and cert_no.strip().upper() == person.certno


@transaction.atomic
def visit_register(*, facility: Facility, psn_no: str, begntime: datetime.datetime, msgid: str, insutype: str,
                   mdtrt_cert_type: str = "", mdtrt_cert_no: str = "", **details: str) -> Visit:
    """Register an outpatient visit (national 2201). The person must be tied to the facility (claims.ties) or be
    presented with their ID card number in the registration itself; its date, the visit's service date, must lie
    in the window of `claims.partner.setl_date_check`. Whether the person is insured that day is the settlement's
    check, as for a REST bill. `details`: the registration's own fields (outpatient number, doctor, department)."""
    person = person_get(psn_no=psn_no)
    if person is None or not (_presented(person, mdtrt_cert_type, mdtrt_cert_no)
                              or person_visible(facility=facility, person=person)):
        raise person_not_found(psn_no)
    day = timezone.localdate(begntime)
    setl_date_check(day)
    return Visit.objects.create(mdtrt_id=_new_id(day), facility=facility, person=person, insutype=insutype,
                                begntime=begntime, service_date=day, mdtrt_cert_type=mdtrt_cert_type, msgid=msgid,
                                **details)


def visit_locked(*, facility: Facility, mdtrt_id: str, psn_no: str | None = None) -> Visit:
    """The facility's visit, locked until the transaction ends, with the setl_id of its live settlement if it has
    one (`live_setl_id`, read in the same statement); INVALID_REQUEST when there is none, or when `psn_no` is not its
    patient."""
    live = (VisitSettlement.objects.filter(visit=OuterRef("pk"), settlement__status=SettlementStatus.SETTLED)
            .values("settlement__setl_id")[:1])
    visit = (Visit.objects.select_for_update(of=("self",)).select_related("person")
             .annotate(live_setl_id=Subquery(live)).filter(facility=facility, mdtrt_id=mdtrt_id).first())
    if visit is None or (psn_no is not None and visit.person.psn_no != psn_no):
        raise invalid(_("this facility has no visit %(mdtrt_id)s of %(psn_no)s")
                      % {"mdtrt_id": mdtrt_id, "psn_no": psn_no or ""})
    return visit


def _open(visit: Visit) -> None:
    """Refuse a change to a cancelled registration or under a live settlement (a visit from `visit_locked`)."""
    if visit.is_cancelled:
        raise invalid(_("the registration of visit %(mdtrt_id)s was cancelled") % {"mdtrt_id": visit.mdtrt_id})
    if visit.live_setl_id:
        raise ClaimError(ClaimError.ALREADY_SETTLED,
                         _("visit %(mdtrt_id)s is settled (%(setl_id)s): cancel the settlement first (2208)")
                         % {"mdtrt_id": visit.mdtrt_id, "setl_id": visit.live_setl_id})


@transaction.atomic
def visit_cancel(*, facility: Facility, mdtrt_id: str, msgid: str, psn_no: str | None = None) -> bool:
    """Cancel a registration (2202, or 2601 of its 2201). Returns whether it was cancelled now (False: it was
    already). Refused while the visit has a live settlement."""
    visit = visit_locked(facility=facility, mdtrt_id=mdtrt_id, psn_no=psn_no)
    if visit.is_cancelled:
        return False
    _open(visit)
    visit.status, visit.cancelled_at, visit.cancelled_by_msgid = VisitStatus.CANCELLED, timezone.now(), msgid
    visit.save(update_fields=["status", "cancelled_at", "cancelled_by_msgid"])
    return True


# --- visit information ------------------------------------------------------------------------------------------

@transaction.atomic
def visit_info_record(*, facility: Facility, mdtrt_id: str, psn_no: str, msgid: str, info: dict[str, Any],
                      diagnoses: Sequence[dict[str, Any]]) -> VisitInfo:
    """Record what a 2203 says of the visit (medical type, disease, diagnoses); the latest not reversed counts."""
    visit = visit_locked(facility=facility, mdtrt_id=mdtrt_id, psn_no=psn_no)
    _open(visit)
    row = VisitInfo.objects.create(visit=visit, msgid=msgid, **info)
    Diagnosis.objects.bulk_create([Diagnosis(info=row, **diagnosis) for diagnosis in diagnoses])
    return row


def visit_info_current(visit: Visit) -> VisitInfo | None:
    return visit.infos.filter(reversed_at__isnull=True).order_by("-id").first()


@transaction.atomic
def visit_info_reverse(*, facility: Facility, info_id: int) -> None:
    """Undo one 2203 (2601): the visit information before it counts again."""
    info = VisitInfo.objects.select_related("visit").get(pk=info_id, visit__facility=facility)
    visit = visit_locked(facility=facility, mdtrt_id=info.visit.mdtrt_id)
    _open(visit)
    VisitInfo.objects.filter(pk=info_id, reversed_at__isnull=True).update(reversed_at=timezone.now())


# --- fee details ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SplitDetail:
    """A fee detail with how the catalog splits it (CONTRACT.md's line rule), as 2204 answers it."""

    detail: FeeDetail
    line: engine.LineIn
    split: engine.LineOut


@transaction.atomic
def fee_batch_record(*, facility: Facility, mdtrt_id: str, psn_no: str, chrg_bchno: str, msgid: str,
                     details: Sequence[dict[str, Any]]) -> tuple[FeeBatch, list[SplitDetail]]:
    """Upload one batch of fee details (2204). Each detail's `det_item_fee_sumamt` must be `cnt × pric` rounded
    to the fen (the amount the settlement will count); detail numbers are unique among the visit's live details; a
    batch number is live at most once."""
    visit = visit_locked(facility=facility, mdtrt_id=mdtrt_id, psn_no=psn_no)
    _open(visit)
    live = dict(FeeBatch.objects.filter(visit=visit, cancelled_at__isnull=True)
                .values_list("chrg_bchno", "medfee_sumamt"))
    if chrg_bchno in live:
        raise invalid(_("batch %(chrg_bchno)s of visit %(mdtrt_id)s is already uploaded: cancel it first (2205)")
                      % {"chrg_bchno": chrg_bchno, "mdtrt_id": mdtrt_id})
    numbers = [d["feedetl_sn"] for d in details]
    taken = set(FeeDetail.objects.filter(batch__visit=visit, batch__cancelled_at__isnull=True,
                                         feedetl_sn__in=numbers).values_list("feedetl_sn", flat=True))
    repeated = {n for n in numbers if numbers.count(n) > 1} | taken
    if repeated:
        raise invalid(_("detail numbers already used in visit %(mdtrt_id)s: %(numbers)s")
                      % {"mdtrt_id": mdtrt_id, "numbers": ", ".join(sorted(repeated))})
    for d in details:
        amount = fen(d["cnt"] * d["pric"])
        if d["det_item_fee_sumamt"] != amount:
            raise invalid(_("detail %(sn)s: det_item_fee_sumamt %(given)s is not cnt × pric = %(amount)s")
                          % {"sn": d["feedetl_sn"], "given": d["det_item_fee_sumamt"], "amount": amount})
    total = sum((d["det_item_fee_sumamt"] for d in details), ZERO)
    live_total = sum(live.values(), ZERO)
    if live_total + total > MONEY_LIMIT:
        raise invalid(_("the visit's total %(total)s would be above %(limit)s")
                      % {"total": live_total + total, "limit": MONEY_LIMIT})
    batch = FeeBatch.objects.create(visit=visit, chrg_bchno=chrg_bchno, medfee_sumamt=total, msgid=msgid)
    rows = FeeDetail.objects.bulk_create([FeeDetail(batch=batch, **d) for d in details])
    lines, _items = bill_lines([{"item_code": r.med_list_codg, "qty": r.cnt, "price": r.pric} for r in rows])
    return batch, [SplitDetail(detail=r, line=line, split=engine.split_line(line))
                   for r, line in zip(rows, lines, strict=True)]


@transaction.atomic
def fee_batch_cancel(*, facility: Facility, mdtrt_id: str, chrg_bchno: str, msgid: str,
                     psn_no: str | None = None) -> list[FeeBatch]:
    """Cancel a live batch of the visit, or every live batch for `0000` (2205). Returns the batches cancelled
    now: none when the batch was cancelled already. Refused under a live settlement."""
    visit = visit_locked(facility=facility, mdtrt_id=mdtrt_id, psn_no=psn_no)
    _open(visit)
    batches = FeeBatch.objects.filter(visit=visit, cancelled_at__isnull=True)
    if chrg_bchno != ALL_BATCHES:
        batches = batches.filter(chrg_bchno=chrg_bchno)
        if not batches.exists() and not FeeBatch.objects.filter(visit=visit, chrg_bchno=chrg_bchno).exists():
            raise invalid(_("visit %(mdtrt_id)s has no batch %(chrg_bchno)s")
                          % {"mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno})
    cancelled = list(batches.order_by("id"))
    FeeBatch.objects.filter(pk__in=[b.pk for b in cancelled]).update(cancelled_at=timezone.now(),
                                                                      cancelled_by_msgid=msgid)
    return cancelled


@transaction.atomic
def fee_batch_reverse(*, facility: Facility, batch_id: int, msgid: str) -> None:
    """Undo one 2204 (2601): cancel exactly the batch it uploaded (nothing when it is cancelled already)."""
    batch = FeeBatch.objects.select_related("visit").get(pk=batch_id, visit__facility=facility)
    visit = visit_locked(facility=facility, mdtrt_id=batch.visit.mdtrt_id)
    if FeeBatch.objects.filter(pk=batch_id, cancelled_at__isnull=True).exists():
        _open(visit)
        FeeBatch.objects.filter(pk=batch_id).update(cancelled_at=timezone.now(), cancelled_by_msgid=msgid)


# --- settlement ---------------------------------------------------------------------------------------------------

def visit_bill(visit: Visit) -> list[FeeDetail]:
    """The visit's live fee details, in the order they were uploaded."""
    return list(FeeDetail.objects.filter(batch__visit=visit, batch__cancelled_at__isnull=True)
                .order_by("batch_id", "id"))


def visit_settlement_request(*, visit: Visit, msgid: str, data: dict[str, Any]) -> dict[str, Any]:
    """The claims settlement request of a 2206/2207 (`data`: its input) for the visit: service date from the
    registration, lines from the live fee details, medical type from 2207 or else 2203, disease from 2203; the
    extensions `ext_rx`, `mulaid_psn_no` and `online` (an Internet+ follow-up, checked by the claims services as a
    REST request's `online`)."""
    chrg_bchno = data.get("chrg_bchno") or ""
    if chrg_bchno and chrg_bchno != ALL_BATCHES and not FeeBatch.objects.filter(
            visit=visit, chrg_bchno=chrg_bchno, cancelled_at__isnull=True).exists():
        raise invalid(_("batch %(chrg_bchno)s is not a live batch of visit %(mdtrt_id)s")
                      % {"chrg_bchno": chrg_bchno, "mdtrt_id": visit.mdtrt_id})
    info = visit_info_current(visit)
    med_type = data.get("med_type") or (info.med_type if info else "")
    if not med_type:
        raise invalid(_("med_type: give it in 2207 or in the visit information (2203)"))
    dise_codg = info.dise_codg if info else ""
    if med_type == "14" and not dise_codg:
        raise invalid(_("dise_codg: a chronic-disease visit (med_type 14) needs its disease code in 2203"))
    details = visit_bill(visit)
    if not details:
        raise invalid(_("visit %(mdtrt_id)s has no fee details to settle (2204)") % {"mdtrt_id": visit.mdtrt_id})
    total = sum((d.det_item_fee_sumamt for d in details), ZERO)
    if data["medfee_sumamt"] != total:
        raise invalid(_("medfee_sumamt %(given)s is not the sum of the visit's live fee details, %(total)s")
                      % {"given": data["medfee_sumamt"], "total": total})
    request = {"medins_setl_id": msgid, "psn_no": visit.person.psn_no, "med_type": med_type,
               "setl_date": visit.service_date, "dise_codg": dise_codg, "ext_rx": bool(data.get("ext_rx")),
               "acct_used_flag": data.get("acct_used_flag") or "1",
               "items": [{"item_code": d.med_list_codg, "qty": d.cnt, "price": d.pric} for d in details]}
    if data.get("mulaid_psn_no"):
        request["mulaid_psn_no"] = data["mulaid_psn_no"]
    if data.get("online"):
        request["online"] = True  # only when true, as the REST API's request (the idempotency digest)
    return request


@transaction.atomic
def visit_preview(*, facility: Facility, mdtrt_id: str, psn_no: str, msgid: str,
                  data: dict[str, Any]) -> dict[str, Any]:
    """What settling the visit would answer now (2206); nothing is written. The visit is locked while it is read, so
    that the preview sees its bill whole."""
    visit = visit_locked(facility=facility, mdtrt_id=mdtrt_id, psn_no=psn_no)
    _open(visit)
    return partner_settlement_preview(facility=facility,
                                      data=visit_settlement_request(visit=visit, msgid=msgid, data=data))


@transaction.atomic
def visit_settle(*, facility: Facility, mdtrt_id: str, psn_no: str, msgid: str,
                 data: dict[str, Any]) -> dict[str, Any]:
    """Settle the visit (2207) through the partner settlement path; the visit settles once. Returns the answer."""
    visit = visit_locked(facility=facility, mdtrt_id=mdtrt_id, psn_no=psn_no)
    _open(visit)
    answer, created = partner_settlement_create(
        facility=facility, data=visit_settlement_request(visit=visit, msgid=msgid, data=data))
    settlement = Settlement.objects.filter(facility=facility, setl_id=answer["setl_id"]).values("id")
    if created:
        VisitSettlement.objects.create(visit=visit, settlement_id=Subquery(settlement), msgid=msgid)
    elif not VisitSettlement.objects.filter(visit=visit, settlement__setl_id=answer["setl_id"]).exists():
        # A REST settlement under the same medins_setl_id: the first answer there belongs to another bill.
        raise ClaimError(ClaimError.IDEMPOTENCY_CONFLICT,
                         _("medins_setl_id %(id)s was settled by another request (settlement %(setl_id)s)")
                         % {"id": msgid, "setl_id": answer["setl_id"]})
    return answer


@transaction.atomic
def visit_settlement_cancel(*, facility: Facility, setl_id: str, reason: str, token: PartnerToken | None,
                            mdtrt_id: str = "", psn_no: str | None = None) -> tuple[Settlement, str]:
    """Cancel a settlement of the facility (2208, or 2601 of its 2207) through `settlement_reverse`: every
    balance and counter back, once; a settlement cancelled already is answered as it is. `mdtrt_id`, when given,
    must be the visit it settled. Returns the settlement and the visit id it settled ("" for a REST bill)."""
    settlement = (Settlement.objects.select_related("person", "visit_link__visit")
                  .filter(facility=facility, setl_id=setl_id).first()) if NUMBER_RE.fullmatch(setl_id) else None
    link = getattr(settlement, "visit_link", None) if settlement is not None else None
    visit_id = link.visit.mdtrt_id if link is not None else ""
    if settlement is None or (mdtrt_id and visit_id != mdtrt_id):
        raise invalid(_("this facility has no settlement %(setl_id)s of visit %(mdtrt_id)s")
                      % {"setl_id": setl_id, "mdtrt_id": mdtrt_id})
    if psn_no is not None and settlement.person.psn_no != psn_no:
        raise invalid(_("settlement %(setl_id)s is not %(psn_no)s's") % {"setl_id": setl_id, "psn_no": psn_no})
    if link is not None:
        visit_locked(facility=facility, mdtrt_id=visit_id)
    return settlement_reverse(settlement=settlement, reason=reason, token=token), visit_id


# --- operators ----------------------------------------------------------------------------------------------------

@transaction.atomic
def sign_in(*, facility: Facility, opter_no: str, mac: str = "", ip: str = "") -> SignIn:
    """An operator signs in (9001): a sign-in number for the session."""
    now = timezone.now()
    return SignIn.objects.create(facility=facility, sign_no=_new_id(timezone.localdate(now)), opter_no=opter_no,
                                 mac=mac, ip=ip, signed_in_at=now)


@transaction.atomic
def sign_out(*, facility: Facility, sign_no: str) -> SignIn:
    """Close a sign-in (9002, or 2601 of the 9001); signing out twice keeps the first time."""
    row = SignIn.objects.select_for_update().filter(facility=facility, sign_no=sign_no).first()
    if row is None:
        raise invalid(_("this facility has no sign-in %(sign_no)s") % {"sign_no": sign_no})
    if row.signed_out_at is None:
        row.signed_out_at = timezone.now()
        row.save(update_fields=["signed_out_at"])
    return row


# --- reconciliation -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    setl_cnt: int


def settlement_totals(*, facility: Facility, insutype: str, clr_type: str, first: datetime.date,
                      last: datetime.date) -> Totals:
    """The system's totals for a 3201: the facility's settlements with a service date in `first`..`last`, of that
    insurance type and clearing type, reversed ones netted out (a reversal cancels its settlement whole, so the
    settlements not reversed are the net), counted and summed in one aggregate."""
    totals = (Settlement.objects.filter(facility=facility, setl_date__gte=first, setl_date__lte=last,
                                        insutype=insutype, med_type__in=CLR_TYPE_MED_TYPES[clr_type],
                                        status=SettlementStatus.SETTLED)
              .aggregate(medfee=Sum("medfee_sumamt"), fund=Sum("fund_pay_sumamt"), acct=Sum("acct_pay"),
                         n=Count("id")))
    return Totals(medfee_sumamt=totals["medfee"] or ZERO, fund_pay_sumamt=totals["fund"] or ZERO,
                  acct_pay=totals["acct"] or ZERO, setl_cnt=totals["n"])


@transaction.atomic
def reconciliation_record(*, facility: Facility, msgid: str, insutype: str, clr_type: str, setl_optins: str,
                          stmt_begndate: datetime.date, stmt_enddate: datetime.date, medfee_sumamt: Decimal,
                          fund_pay_sumamt: Decimal, acct_pay: Decimal, fixmedins_setl_cnt: int) -> Reconciliation:
    """Compare the facility's totals of a period with the system's (3201) and keep both."""
    if stmt_enddate < stmt_begndate:
        raise invalid(_("stmt_enddate %(last)s is before stmt_begndate %(first)s")
                      % {"last": stmt_enddate, "first": stmt_begndate})
    system = settlement_totals(facility=facility, insutype=insutype, clr_type=clr_type, first=stmt_begndate,
                               last=stmt_enddate)
    agreed = (medfee_sumamt, fund_pay_sumamt, acct_pay, fixmedins_setl_cnt) == (
        system.medfee_sumamt, system.fund_pay_sumamt, system.acct_pay, system.setl_cnt)
    return Reconciliation.objects.create(
        facility=facility, msgid=msgid, insutype=insutype, clr_type=clr_type, setl_optins=setl_optins,
        stmt_begndate=stmt_begndate, stmt_enddate=stmt_enddate, medfee_sumamt=medfee_sumamt,
        fund_pay_sumamt=fund_pay_sumamt, acct_pay=acct_pay, fixmedins_setl_cnt=fixmedins_setl_cnt,
        sys_medfee_sumamt=system.medfee_sumamt, sys_fund_pay_sumamt=system.fund_pay_sumamt,
        sys_acct_pay=system.acct_pay, sys_setl_cnt=system.setl_cnt, agreed=agreed)


def reconciliation_settlements(reconciliation: Reconciliation) -> Q:
    """The settlements a reconciliation was about, reversed ones included (what staff read to explain a
    difference), as a filter on Settlement."""
    return Q(facility_id=reconciliation.facility_id, setl_date__gte=reconciliation.stmt_begndate,
             setl_date__lte=reconciliation.stmt_enddate, insutype=reconciliation.insutype,
             med_type__in=CLR_TYPE_MED_TYPES[reconciliation.clr_type])
