"""Settlement services: preview (nothing written), settle and reverse.

`settlement_create` runs in one transaction: it locks the patient's accumulator row, then every account that may
pay (in primary-key order, so two tills settling against one family never deadlock), calls the pure engine, and
writes the settlement, its lines, the ledger debits and the accumulator change together. It is idempotent on
(facility, medins_setl_id): the same request again returns the first answer; another request under that id is a
conflict. `settlement_reverse` restores every balance and counter, one reversal entry per debit, once.
"""

import datetime
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.credits import year_rolled_over
from accounts.ledger import Posting, accounts_lock, ledger_post_many
from accounts.models import Enrollment, EntryKind, InsuStatus, InsuType, LedgerEntry, Person, PersonalAccount
from accounts.mulaid import mulaid_refusal
from claims import engine, events
from claims.errors import ClaimError
from claims.models import (
    Accumulator,
    CrossRegion,
    CrossRegionFiling,
    Facility,
    Item,
    PartnerToken,
    Recognition,
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from claims.selectors import Patient, accumulator_locked, catalog_items, settlement_patient
from core.money import ZERO, fen
from core.queries import instances_insert, only_row, prepared_statements
from policies.cache import policy_version_resolved
from policies.errors import PolicyError
from policies.models import PolicyVersion
from policies.selectors import BenefitTerms, SepPayTerms, benefit_rule_for, facility_level_of, sep_pay_terms_for

PHARMACY_PURCHASE = "41"
CHRONIC = "14"


@dataclass
class Payer:
    """A relative whose account may pay: `allowed` pockets (empty: none) under the `version` of their region."""

    person_id: int
    psn_no: str
    relation: str
    allowed: tuple[str, ...]
    version: PolicyVersion | None


@dataclass
class Visit:
    """Everything a settlement is computed from, resolved and checked (no locks yet)."""

    facility: Facility
    person: Person
    enrollment: Enrollment | None
    version: PolicyVersion | None
    terms: BenefitTerms | None
    options: engine.EngineOptions
    year_start: datetime.date | None
    lines: list[engine.LineIn]
    items: dict[str, Item]
    payers: list[Payer] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    sep_terms: SepPayTerms | None = None  # set only when the bill has separately paid drugs settled apart
    cross_region: str = ""  # CrossRegion: treated outside the insured region, filed or not
    rate_cut: Decimal = Decimal(0)  # the points every rate loses (an unfiled visit in another region)
    own_pockets: tuple[str, ...] = engine.POCKETS  # the own pockets holding the service date's benefit year

    @property
    def has_account(self) -> bool:
        """Only employee insurance has a personal account (residents and uninsured relatives have none)."""
        return self.enrollment is not None and self.enrollment.insutype == InsuType.EMPLOYEE

    @property
    def bucket(self) -> str:
        return self.terms.bucket if self.terms is not None and self.terms.fund_pays else ""

    @property
    def sep_bucket(self) -> str:
        return self.sep_terms.bucket if self.sep_terms is not None else ""


def request_digest(data: dict[str, Any]) -> str:
    """A digest of the request as the facility meant it: key order, number formatting ("2" or "2.00") and an
    absent versus empty optional field do not matter."""

    def norm(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items()) if v not in (None, "")}
        if isinstance(value, list | tuple):
            return [norm(v) for v in value]
        return value

    return hashlib.sha256(json.dumps(norm(data), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _policy(admdvs: str, day: datetime.date, insutype: str = InsuType.EMPLOYEE) -> PolicyVersion:
    try:
        return policy_version_resolved(admdvs, day, insutype)
    except PolicyError as e:
        raise ClaimError(ClaimError.NO_POLICY_IN_FORCE, e.err_msg) from None


def _cross_region(*, person: Person, enrollment: Enrollment, facility: Facility, version: PolicyVersion,
                  day: datetime.date) -> tuple[str, Decimal]:
    """Whether the visit is in another region than the insured one (CONTRACT.md "Resident insurance and treatment
    in another region"), and the points its rates lose: a filing valid on `day` for the facility's region or its
    province settles it at the insured region's full rates; without one the insured region's version refuses it
    (CROSS_REGION_NOT_FILED) or lowers every rate."""
    if facility.region_id == enrollment.region_id:
        return "", Decimal(0)
    treated_in = facility.region.admdvs
    if CrossRegionFiling.objects.filter(person=person).valid_on(day).covering(treated_in).exists():
        return CrossRegion.FILED, Decimal(0)
    cut = version.unfiled_rate_cut
    if cut is None:
        raise ClaimError(ClaimError.CROSS_REGION_NOT_FILED,
                         _("%(psn_no)s, insured in %(insured)s, has no filing for treatment in %(region)s valid on "
                           "%(day)s, and policy %(code)s settles no unfiled visit there")
                         % {"psn_no": person.psn_no, "insured": enrollment.region.admdvs, "region": treated_in,
                            "day": day, "code": version.code})
    return CrossRegion.UNFILED, cut


def _payers(patient: Patient, day: datetime.date, mulaid_psn_no: str | None, admdvs: str) -> list[Payer]:
    """The relatives whose accounts may pay for the patient on `day`, in the links' order, each with the policy
    of the region where the relative holds employee insurance. A holder outside mutual aid's bounds on `day`
    (accounts.mulaid: not active then, or insured in another region than `admdvs`) is left out; named in
    `mulaid_psn_no`, the request is refused."""
    if mulaid_psn_no and not patient.links:
        raise ClaimError(ClaimError.MULAID_NOT_LINKED,
                         _("%(holder)s's account is not linked to %(psn_no)s on %(day)s")
                         % {"holder": mulaid_psn_no, "psn_no": patient.person.psn_no, "day": day})
    payers = []
    for link in patient.links:
        refusal = mulaid_refusal(holder_psn_no=link.holder_psn_no, holder_admdvs=link.admdvs, active=link.active,
                                 patient_admdvs=admdvs, day=day)
        if refusal is not None:
            if mulaid_psn_no:
                raise ClaimError(ClaimError.MULAID_NOT_LINKED, refusal)
            continue
        version = None
        if link.admdvs:
            try:
                version = policy_version_resolved(link.admdvs, day)
            except PolicyError:
                version = None
        allowed = tuple(version.mulaid_pockets) if version is not None else ()
        payers.append(Payer(person_id=link.holder_id, psn_no=link.holder_psn_no, relation=link.relation,
                            allowed=allowed, version=version))
    return payers


def _check_online(facility: Facility, med_type: str, day: datetime.date) -> None:
    """An online visit (Internet+ follow-up, `online`) settles only as a chronic-disease visit (14) at a facility
    designated for online services; its recognition is checked as any chronic visit's."""
    if not facility.online_service:
        raise ClaimError(ClaimError.FACILITY_NOT_DESIGNATED,
                         _("facility %(code)s is not designated for online services: online visits are not settled "
                           "there")
                         % {"code": facility.fixmedins_code})
    if med_type != CHRONIC:
        raise ClaimError(ClaimError.MED_TYPE_NOT_ALLOWED,
                         _("an online visit is a chronic-disease follow-up (medical type 14), not medical type "
                           "%(med_type)s")
                         % {"med_type": med_type})


def bill_lines(bill: list[dict[str, Any]]) -> tuple[list[engine.LineIn], dict[str, Item]]:
    """A bill's lines (`item_code`, `qty`, `price`) with their catalog entries, as the engine takes them, and the
    catalog items found by code (a code not in the catalog is class C)."""
    items = catalog_items([line["item_code"] for line in bill])
    lines = []
    for line in bill:
        item = items.get(line["item_code"])
        lines.append(engine.LineIn(
            item_code=line["item_code"], qty=Decimal(line["qty"]), price=Decimal(line["price"]),
            chrg_item_lv=item.chrg_item_lv if item else None,
            selfpay_prop=item.selfpay_prop if item else Decimal(0),
            pric_uplmt_amt=item.pric_uplmt_amt if item else None,
            acct_pay_forbidden=bool(item and item.acct_pay_forbidden), sep_pay=bool(item and item.sep_pay_flag)))
    return lines, items


def visit_resolve(*, facility: Facility, data: dict[str, Any], tied_only: bool = False) -> Visit:
    """Check a settlement request against the registry and the policy in force on the service date
    (POLICY.md step 1) and gather what the engine needs. Raises ClaimError with CONTRACT.md's codes. With
    `tied_only` (a partner's request), a person the facility has no tie to (claims.ties) is PERSON_NOT_FOUND, as
    one who does not exist."""
    day: datetime.date = data["setl_date"]
    med_type: str = data["med_type"]
    patient = settlement_patient(psn_no=data["psn_no"], day=day, holder_psn_no=data.get("mulaid_psn_no") or None,
                                 tied_to=facility.pk if tied_only else None)
    if patient is None:
        raise ClaimError(ClaimError.PERSON_NOT_FOUND, _("no person has the number %(psn_no)s")
                         % {"psn_no": data["psn_no"]})
    person, enrollment = patient.person, patient.enrollment
    if not facility.designated_on(day):
        raise ClaimError(ClaimError.FACILITY_NOT_DESIGNATED,
                         _("facility %(code)s is not designated on %(day)s")
                         % {"code": facility.fixmedins_code, "day": day})
    if facility.is_pharmacy:
        allowed = {PHARMACY_PURCHASE} | ({"11", "13"} if data.get("ext_rx") else set())
    else:
        allowed = {"11", "13", CHRONIC}
    if med_type not in allowed:
        raise ClaimError(ClaimError.MED_TYPE_NOT_ALLOWED,
                         _("medical type %(med_type)s is not settled at a %(kind)s")
                         % {"med_type": med_type, "kind": facility.get_fixmedins_type_display()})

    online = bool(data.get("online"))
    if online:
        _check_online(facility, med_type, day)

    version, terms = None, None
    cross_region, rate_cut = "", Decimal(0)
    own_pockets = engine.POCKETS
    if enrollment is not None:
        if not (enrollment.begndate <= day and (enrollment.enddate is None or day <= enrollment.enddate)
                and patient.status == InsuStatus.ACTIVE):
            raise ClaimError(ClaimError.NOT_INSURED_ON_DATE,
                             _("%(psn_no)s is not insured and active on %(day)s")
                             % {"psn_no": person.psn_no, "day": day})
        version = _policy(enrollment.region.admdvs, day, enrollment.insutype)
        cross_region, rate_cut = _cross_region(person=person, enrollment=enrollment, facility=facility,
                                               version=version, day=day)
        if med_type == CHRONIC:
            recognised = Recognition.objects.valid_on(day).filter(
                person=person, disease__opsp_dise_code=data.get("dise_codg", ""), facility=facility).exists()
            if not recognised:
                raise ClaimError(ClaimError.DISEASE_NOT_RECOGNISED,
                                 _("%(psn_no)s is not recognised for %(dise)s at %(code)s on %(day)s")
                                 % {"psn_no": person.psn_no, "dise": data.get("dise_codg", ""),
                                    "code": facility.fixmedins_code, "day": day})
        try:
            terms = benefit_rule_for(version=version, psn_type=enrollment.psn_type_on(day),
                                     retire_date=enrollment.retire_date if enrollment.is_retired_on(day) else None,
                                     facility_level=facility_level_of(facility), med_type=med_type,
                                     ext_rx=bool(data.get("ext_rx")), dise_code=data.get("dise_codg", ""))
        except PolicyError as e:
            code = e.err_code if e.err_code in (ClaimError.MED_TYPE_NOT_ALLOWED, ClaimError.DISEASE_NOT_COVERED,
                                                ClaimError.NO_POLICY_IN_FORCE) else ClaimError.MED_TYPE_NOT_ALLOWED
            raise ClaimError(code, e.err_msg) from None
    if version is None:
        # No employee insurance here: no fund; the facility's region decides nothing but the options' defaults.
        options = engine.EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=True)
        year_start = None
    else:
        options = engine.EngineOptions.of(version)
        year_start = version.benefit_year_start_for(day)
        if options.current_pocket_first and enrollment.insutype == InsuType.EMPLOYEE and year_rolled_over(
                region_id=enrollment.region_id, person_id=person.pk, today=timezone.localdate(),
                next_year_start=version.benefit_year_end_for(day) + datetime.timedelta(days=1)):
            # A bill of a benefit year already rolled over: that year's money is in the historical pocket now.
            own_pockets = (engine.HISTORICAL,)

    lines, items = bill_lines(data["items"])
    plausibility_check(version or _facility_version(facility, day), lines)
    sep_terms = None
    if terms is not None and terms.fund_pays and any(line.sep_pay for line in lines):
        sep_terms = sep_pay_terms_for(version)
    visit = Visit(facility=facility, person=person, enrollment=enrollment, version=version, terms=terms,
                  options=options, year_start=year_start, lines=lines, items=items, data=data, sep_terms=sep_terms,
                  cross_region=cross_region, rate_cut=rate_cut, own_pockets=own_pockets)
    admdvs = enrollment.region.admdvs if enrollment is not None else facility.region.admdvs
    visit.payers = _payers(patient, day, data.get("mulaid_psn_no") or None, admdvs)
    return visit


def _facility_version(facility: Facility, day: datetime.date) -> PolicyVersion | None:
    """The version in force where the facility is: the limits for a patient with no employee insurance here."""
    try:
        return policy_version_resolved(facility.region.admdvs, day)
    except PolicyError:
        return None


def plausibility_check(version: PolicyVersion | None, lines: list[engine.LineIn]) -> None:
    """Refuse a bill line or a bill above the version's plausibility limits (AMOUNT_IMPLAUSIBLE), before anything is
    computed or locked: no price limit or cap may make such a bill cost the fund."""
    if version is None:
        return
    amounts = [fen(line.qty * line.price) for line in lines]
    for number, (line, amount) in enumerate(zip(lines, amounts, strict=True), start=1):
        if amount > version.plausible_line_max:
            raise ClaimError(ClaimError.AMOUNT_IMPLAUSIBLE,
                             _("line %(n)s (%(code)s) comes to %(amount)s, above %(version)s's plausibility limit "
                               "of %(limit)s a line") % {"n": number, "code": line.item_code, "amount": amount,
                                                           "version": version.code,
                                                           "limit": version.plausible_line_max})
    total = sum(amounts, ZERO)
    if total > version.plausible_bill_max:
        raise ClaimError(ClaimError.AMOUNT_IMPLAUSIBLE,
                         _("the bill comes to %(amount)s, above %(version)s's plausibility limit of %(limit)s a bill")
                         % {"amount": total, "version": version.code, "limit": version.plausible_bill_max})


def _pockets(account: PersonalAccount | None) -> engine.Pockets | None:
    return None if account is None else engine.Pockets(current=account.balc_current,
                                                      historical=account.balc_historical)


def _counters(row: Accumulator | None) -> engine.Accumulator:
    return engine.Accumulator() if row is None else engine.Accumulator(dedc_used=row.dedc_used,
                                                                      hifp_paid=row.hifp_paid)


def _compute(visit: Visit, counters: dict[str, Accumulator | None],
             accounts: dict[int, PersonalAccount]) -> engine.Adjudication:
    """The engine's answer for the visit, with the counters rows of its buckets (by bucket) and the accounts."""
    own = accounts.get(visit.person.pk) if visit.has_account else None
    mulaid = [engine.MulaidPayer(psn_no=p.psn_no, pockets=_pockets(accounts[p.person_id]), allowed=p.allowed)
              for p in visit.payers if p.allowed and p.person_id in accounts]
    return engine.adjudicate(lines=visit.lines, terms=visit.terms, options=visit.options,
                             accumulator=_counters(counters.get(visit.bucket)), own=_pockets(own),
                             acct_used=visit.data.get("acct_used_flag", "1") == "1", mulaid_payers=mulaid,
                             sep_terms=visit.sep_terms, sep_accumulator=_counters(counters.get(visit.sep_bucket)),
                             rate_cut=visit.rate_cut, own_pockets=visit.own_pockets)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def settlement_answer(*, visit: Visit, result: engine.Adjudication, setl_id: str, status: str) -> dict[str, Any]:
    """The settlement as CONTRACT.md answers it (money as strings with two decimals)."""
    data = visit.data
    return {
        "setl_id": setl_id, "medins_setl_id": data["medins_setl_id"], "status": status,
        "psn_no": visit.person.psn_no, "insutype": visit.enrollment.insutype if visit.enrollment else "",
        "psn_type": visit.enrollment.psn_type_on(data["setl_date"]) if visit.enrollment else "",
        "med_type": data["med_type"], "setl_date": data["setl_date"].isoformat(),
        "fixmedins_code": visit.facility.fixmedins_code,
        "policy_version": visit.version.code if visit.version else "",
        **{name: _money(getattr(result, name)) for name in MONEY_FIELDS},
        "setldetail": setldetail_of(result),
        "warnings": [str(w) for w in result.warnings],
    }


def setldetail_of(result: engine.Adjudication) -> list[dict[str, str]]:
    """One row per fund, in one order, whatever paid (0.00 for a fund that paid nothing): a partner's system reads
    the same shape for every settlement."""
    paid = {f.fund_pay_type: f.fund_payamt for f in result.setldetail}
    return [{"fund_pay_type": fund_type, "fund_payamt": _money(paid.get(fund_type, ZERO))}
            for fund_type in engine.FUND_PAY_TYPES]


MONEY_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                "act_pay_dedc", "hifp_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
                "acct_mulaid_pay", "psn_cash_pay", "balc")


EXPLANATION_LANGUAGES = ("zh-hans", "en")


def explanation_of(result: engine.Adjudication) -> list[dict[str, Any]]:
    """The engine's steps, with their labels in both shipped languages (staff read them in the admin)."""
    labels = {language: [engine.label_text(step.label, language) for step in result.steps]
              for language in EXPLANATION_LANGUAGES}
    return [{"code": step.code, "label": {language: labels[language][i] for language in EXPLANATION_LANGUAGES},
             "amount_in": _money(step.amount_in), "amount_out": _money(step.amount_out),
             "detail": {name: _money(value) for name, value in step.detail}}
            for i, step in enumerate(result.steps)]


@prepared_statements()
def settlement_preview(*, facility: Facility, data: dict[str, Any], tied_only: bool = False) -> dict[str, Any]:
    """What settling would answer now (national 2206); nothing is written or locked. `tied_only`: as
    `visit_resolve`."""
    visit = visit_resolve(facility=facility, data=data, tied_only=tied_only)
    counters = {bucket: only_row(Accumulator.objects.filter(person=visit.person, year_start=visit.year_start,
                                                            bucket=bucket))
                for bucket in (visit.bucket, visit.sep_bucket) if bucket}
    ids = [visit.person.pk] + [p.person_id for p in visit.payers]
    accounts = {a.person_id: a for a in PersonalAccount.objects.filter(person_id__in=ids)}
    result = _compute(visit, counters, accounts)
    return settlement_answer(visit=visit, result=result, setl_id="", status="preview")


def existing_answer(facility: Facility, medins_setl_id: str, digest: str) -> dict[str, Any] | None:
    existing = only_row(Settlement.objects.filter(facility=facility, medins_setl_id=medins_setl_id))
    if existing is None:
        return None
    if existing.request_digest != digest:
        raise ClaimError(ClaimError.IDEMPOTENCY_CONFLICT,
                         _("medins_setl_id %(id)s was settled with another request (settlement %(setl_id)s)")
                         % {"id": medins_setl_id, "setl_id": existing.setl_id})
    # The first answer as it stands now: a retry of a settlement reversed since learns it was reversed.
    return settlement_current(existing)


def settlement_create(*, facility: Facility, data: dict[str, Any],
                      tied_only: bool = False) -> tuple[dict[str, Any], bool]:
    """Settle a request (national 2207). Returns the answer and whether it was created now (False: a retry).
    `tied_only` (a partner's request): only for a person the facility has a tie to, as `visit_resolve`.

    A retry is recognised by the unique (facility, medins_setl_id) of the settlement row, not by a read before
    settling: the first attempt costs no extra query, and a retry that gets as far as writing (or a concurrent
    duplicate) is rolled back and answered from the row that is there. A retry refused on the way (the registry
    changed since, say) is answered the same way: the first answer stands.

    The request is checked (`visit_resolve`, reads only) before the transaction that locks and writes begins: a
    refusal then rolls nothing back, and keeps the connection's prepared statements (core.queries)."""
    digest = request_digest(data)
    with prepared_statements():
        try:
            return _settle(visit=visit_resolve(facility=facility, data=data, tied_only=tied_only),
                           digest=digest), True
        except (IntegrityError, ClaimError):
            answer = existing_answer(facility, data["medins_setl_id"], digest)
            if answer is None:
                raise
            return answer, False


@transaction.atomic
def settlement_create_late(*, facility: Facility, data: dict[str, Any], reason: str,
                           user) -> tuple[dict[str, Any], bool]:  # noqa: ANN001
    """A late settlement (补结算): staff with `claims.settle_late` settle a facility's bill whose service date lies
    before the partners' window (`claims.partner.setl_date_check`), through `settlement_create` itself (the same
    checks, engine, locks and idempotency on the facility's `medins_setl_id`), with a reason. The settlement
    records who and why; when is its `created_at`. A service date after today is refused here too."""
    if not user.has_perm("claims.settle_late"):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ClaimError(ClaimError.INVALID_REQUEST, _("a late settlement needs a reason"))
    today = timezone.localdate()
    if data["setl_date"] > today:
        raise ClaimError(ClaimError.SETL_DATE_OUT_OF_RANGE,
                         _("the service date %(day)s is after today (%(today)s)")
                         % {"day": data["setl_date"], "today": today})
    answer, created = settlement_create(facility=facility, data=data)
    if created:
        Settlement.objects.filter(setl_id=answer["setl_id"]).update(settled_late_by=user, late_reason=reason[:200])
    return answer, created


def _lock_counters(person_id: int, year_start: datetime.date | None,
                   buckets: list[str]) -> dict[str, Accumulator]:
    """The person's counters rows of these buckets, created where missing, locked in bucket order (a settlement
    with separately paid drugs has two; every path locks them in this one order)."""
    rows = {}
    for bucket in sorted({b for b in buckets if b}):
        row = accumulator_locked(person_id=person_id, year_start=year_start, bucket=bucket)
        if row is None:
            Accumulator.objects.bulk_create([Accumulator(person_id=person_id, year_start=year_start,
                                                         bucket=bucket)], ignore_conflicts=True)
            row = accumulator_locked(person_id=person_id, year_start=year_start, bucket=bucket)
        rows[bucket] = row
    return rows


def accumulator_save(counters: Accumulator) -> None:
    """Write a locked counters row's two amounts (the settlement path's UPDATE, written out: core.queries)."""
    meta = Accumulator._meta
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {meta.db_table} SET {meta.get_field('dedc_used').column} = %s, "
                       f"{meta.get_field('hifp_paid').column} = %s WHERE id = %s",
                       [counters.dedc_used, counters.hifp_paid, counters.pk])


@transaction.atomic
def _settle(*, visit: Visit, digest: str) -> dict[str, Any]:
    facility, data = visit.facility, visit.data
    counters = _lock_counters(visit.person.pk, visit.year_start, [visit.bucket, visit.sep_bucket])
    payer_ids = [p.person_id for p in visit.payers if p.allowed]
    accounts = accounts_lock(person_ids=([visit.person.pk] if visit.has_account else []) + payer_ids)
    result = _compute(visit, counters, accounts)

    setl_id = f"{data['setl_date']:%Y%m%d}{secrets.token_hex(8).upper()}"
    answer = settlement_answer(visit=visit, result=result, setl_id=setl_id, status=SettlementStatus.SETTLED)
    settlement = Settlement(
        setl_id=setl_id, facility=facility, medins_setl_id=data["medins_setl_id"], request_digest=digest,
        person=visit.person, insutype=answer["insutype"], psn_type=answer["psn_type"], med_type=data["med_type"],
        setl_date=data["setl_date"], dise_codg=data.get("dise_codg") or "", ext_rx=bool(data.get("ext_rx")),
        online=bool(data.get("online")),
        acct_used_flag=data.get("acct_used_flag", "1"), policy_version=visit.version,
        benefit_rule_id=visit.terms.rule_id if visit.terms else None,
        enrollee_class=visit.terms.enrollee_class if visit.terms else "", hosp_lv=facility_level_of(facility),
        bucket=visit.bucket, year_start=visit.year_start if visit.bucket else None, response=answer,
        cross_region=visit.cross_region,
        sep_bucket=result.sep_bucket, sep_hifp_pay=result.sep_hifp_pay,
        explanation=explanation_of(result), **{name: getattr(result, name) for name in MONEY_FIELDS})
    instances_insert([settlement])
    instances_insert([
        SettlementLine(settlement=settlement, item_code=out.item_code, item=visit.items.get(out.item_code),
                       chrg_item_lv=out.chrg_item_lv, selfpay_prop=line.selfpay_prop,
                       pric_uplmt_amt=line.pric_uplmt_amt, sep_pay=line.sep_pay, qty=line.qty, price=line.price,
                       amount=out.amount,
                       fulamt_ownpay_amt=out.fulamt_ownpay_amt, overlmt_selfpay=out.overlmt_selfpay,
                       preselfpay_amt=out.preselfpay_amt, inscp_scp_amt=out.inscp_scp_amt,
                       acct_pay_forbidden=out.acct_pay_forbidden)
        for line, out in zip(visit.lines, result.lines, strict=True)])

    by_psn_no = {p.psn_no: p for p in visit.payers}
    postings = []
    for debit in result.debits:
        own = debit.payer == engine.OWN
        postings.append(Posting(
            account=accounts[visit.person.pk if own else by_psn_no[debit.payer].person_id], pocket=debit.pocket,
            amount=-debit.amount,
            kind=EntryKind.SETTLEMENT if own else EntryKind.MULAID_SETTLEMENT, ref_type="settlement", ref_id=setl_id,
            period=data["setl_date"], policy_version=visit.version if own else by_psn_no[debit.payer].version,
            reason="" if own else _("mutual aid for %(psn_no)s") % {"psn_no": visit.person.psn_no}))
    ledger_post_many(postings)
    for bucket, delta in ((visit.bucket, result.accumulator_delta), (result.sep_bucket,
                                                                     result.sep_accumulator_delta)):
        if bucket:
            counters[bucket].dedc_used += delta.dedc
            counters[bucket].hifp_paid += delta.hifp
    for row in counters.values():
        accumulator_save(row)
    # Last, after the accumulator and account locks: what is kept from settlements (report summaries, …).
    events.settlement_applied(settlement, sign=+1)
    return answer


def settlement_current(settlement: Settlement) -> dict[str, Any]:
    """The settlement as it stands now: the first answer, with its status after a reversal."""
    return {**settlement.response, "status": settlement.status}


def _reversal_pockets(settlement: Settlement, debits: list[LedgerEntry]) -> dict[int, str]:
    """The pocket each debit goes back to: the one that now holds the money of the settlement's benefit year. A
    current-year pocket debited before that year was rolled over goes back to the historical pocket."""
    pockets = {debit.pk: debit.pocket for debit in debits}
    version = settlement.policy_version
    current = [d for d in debits if d.pocket == engine.CURRENT]
    if not current or version is None:
        return pockets
    next_year_start = version.benefit_year_end_for(settlement.setl_date) + datetime.timedelta(days=1)
    today = timezone.localdate()
    rolled = {person_id: year_rolled_over(region_id=version.region_id, person_id=person_id,
                                          next_year_start=next_year_start, today=today)
              for person_id in {d.account.person_id for d in current}}
    for debit in current:
        if rolled[debit.account.person_id]:
            pockets[debit.pk] = engine.HISTORICAL
    return pockets


@prepared_statements()
@transaction.atomic
def settlement_reverse(*, settlement: Settlement, reason: str, user=None,  # noqa: ANN001
                       token: PartnerToken | None = None) -> Settlement:
    """Reverse a settlement (national 2208): every ledger debit gets its reversal entry and the accumulators go
    back by what it added. A second call returns the settlement as it is (reversed once). The actor is a staff
    `user` or a partner `token`."""
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if settlement.is_reversed:
        return settlement
    buckets = sorted({b for b in (settlement.bucket, settlement.sep_bucket) if b})
    counters = {row.bucket: row for row in Accumulator.objects.select_for_update().filter(
        person=settlement.person_id, year_start=settlement.year_start, bucket__in=buckets).order_by("bucket")}
    debits = list(LedgerEntry.objects.select_related("account").filter(
        ref_type="settlement", ref_id=settlement.setl_id,
        kind__in=[EntryKind.SETTLEMENT, EntryKind.MULAID_SETTLEMENT]).order_by("id"))
    accounts = accounts_lock(person_ids=[d.account.person_id for d in debits])
    pockets = _reversal_pockets(settlement, debits)
    ledger_post_many([Posting(account=accounts[debit.account.person_id], pocket=pockets[debit.pk],
                              amount=-debit.amount,
                              kind=EntryKind.REVERSAL, reverses=debit, ref_type="settlement",
                              ref_id=settlement.setl_id, period=debit.period, policy_version=debit.policy_version,
                              reason=reason[:200]) for debit in debits], user=user)
    if settlement.bucket:
        counters[settlement.bucket].dedc_used -= settlement.act_pay_dedc
        counters[settlement.bucket].hifp_paid -= settlement.hifp_pay - settlement.sep_hifp_pay
    if settlement.sep_bucket:
        counters[settlement.sep_bucket].hifp_paid -= settlement.sep_hifp_pay
    for row in counters.values():
        accumulator_save(row)
    settlement.status = SettlementStatus.REVERSED
    settlement.reversed_at = timezone.now()
    settlement.reversal_reason = reason[:200]
    settlement.reversed_by = user if getattr(user, "is_authenticated", False) else None
    settlement.reversed_by_token = token
    settlement.save(update_fields=["status", "reversed_at", "reversal_reason", "reversed_by", "reversed_by_token"])
    events.settlement_applied(settlement, sign=-1)
    return settlement
