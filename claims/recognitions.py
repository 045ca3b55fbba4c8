"""Chronic-disease recognition as a workflow (门诊慢特病认定, Shandong 二(三)).

An application names the person, the disease, the facility and the period asked for; it carries the disease's
recognition criteria as they stand that day and the evidence that meets them. A second user approves or refuses it
(`recognition_decide`: never the user who applied), and the decision is recorded with its user, time and note. An
approved recognition lasts from `begndate` to `enddate` (the disease's validity period when the reviewer sets no end);
`recognition_renew` applies for the period that follows it. Facilities apply and cancel through the national
interface (2503 / 2504); imported recognitions are approved as they are (claims.resources).
"""

import calendar
import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Person
from claims.errors import ClaimError
from claims.models import (
    RECOGNITION_LIVE,
    Disease,
    Facility,
    Recognition,
    RecognitionSource,
    RecognitionStatus,
)


def _invalid(message: str) -> ClaimError:
    return ClaimError(ClaimError.INVALID_REQUEST, message)


def months_later(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` months later (the month's last day where it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def validity_end(disease: Disease, begndate: datetime.date) -> datetime.date | None:
    """The last day of a recognition from `begndate` under the disease's validity period (None: open-ended)."""
    if not disease.recognition_valid_months:
        return None
    return months_later(begndate, disease.recognition_valid_months) - datetime.timedelta(days=1)


def _overlapping(*, person: Person, disease: Disease, facility: Facility, begndate: datetime.date,
                 enddate: datetime.date | None, exclude: int | None = None) -> Recognition | None:
    """A live recognition or application of the same person, disease and facility sharing a day with the period."""
    qs = Recognition.objects.filter(person=person, disease=disease, facility=facility, status__in=RECOGNITION_LIVE)
    qs = qs.filter(Q(enddate__isnull=True) | Q(enddate__gte=begndate))
    if enddate is not None:
        qs = qs.filter(begndate__lte=enddate)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.order_by("begndate").first()


@transaction.atomic
def recognition_apply(*, person: Person, disease: Disease, facility: Facility, begndate: datetime.date,
                      evidence: str, enddate: datetime.date | None = None, user=None,  # noqa: ANN001
                      source: str = RecognitionSource.STAFF, renewal_of: Recognition | None = None) -> Recognition:
    """Apply for a recognition (status `applied`). The facility must be a medical institution designated on
    `begndate`; the evidence is required; the period must not meet another live recognition or application of the
    same person, disease and facility. Raises ClaimError INVALID_REQUEST with the reason."""
    evidence = (evidence or "").strip()
    if not evidence:
        raise _invalid(_("an application needs the evidence that meets the disease's recognition criteria"))
    if facility.is_pharmacy:
        raise _invalid(_("%(code)s is a pharmacy: a disease is recognised at a medical institution")
                       % {"code": facility.fixmedins_code})
    if not facility.designated_on(begndate):
        raise ClaimError(ClaimError.FACILITY_NOT_DESIGNATED, _("facility %(code)s is not designated on %(day)s")
                         % {"code": facility.fixmedins_code, "day": begndate})
    if enddate is not None and enddate < begndate:
        raise _invalid(_("the end date %(end)s is before the start date %(begin)s")
                       % {"end": enddate, "begin": begndate})
    Person.objects.select_for_update().filter(pk=person.pk).first()  # one application at a time per person
    clash = _overlapping(person=person, disease=disease, facility=facility, begndate=begndate, enddate=enddate)
    if clash is not None:
        raise _invalid(_("%(psn_no)s already has a recognition or application for %(disease)s at %(code)s from "
                         "%(begin)s (%(status)s)")
                       % {"psn_no": person.psn_no, "disease": disease.opsp_dise_code, "code": facility.fixmedins_code,
                          "begin": clash.begndate, "status": clash.get_status_display()})
    recognition = Recognition(person=person, disease=disease, facility=facility, begndate=begndate, enddate=enddate,
                              status=RecognitionStatus.APPLIED, source=source,
                              criteria=disease.recognition_criteria, evidence=evidence, renewal_of=renewal_of,
                              applied_by=user if getattr(user, "is_authenticated", False) else None,
                              applied_at=timezone.now())
    recognition._history_user = recognition.applied_by
    recognition.save()
    return recognition


@transaction.atomic
def recognition_decide(*, recognition: Recognition, user, approve: bool, note: str = "",  # noqa: ANN001
                       enddate: datetime.date | None = None) -> Recognition:
    """Approve or refuse an application, as a user other than the one who applied (maker-checker). A refusal needs
    its reason (`note`). An approval keeps the period asked for, `enddate` when the reviewer sets one, or else the
    disease's validity period from `begndate`. Raises ClaimError INVALID_REQUEST with the reason."""
    recognition = Recognition.objects.select_for_update().select_related("disease", "person", "facility").get(
        pk=recognition.pk)
    if recognition.status != RecognitionStatus.APPLIED:
        raise _invalid(_("the application was already decided: %(status)s") % {
            "status": recognition.get_status_display()})
    if not getattr(user, "is_authenticated", False):
        raise _invalid(_("a decision needs a staff user"))
    if recognition.applied_by_id is not None and recognition.applied_by_id == user.pk:
        raise _invalid(_("you applied for this recognition: another user must decide it"))
    note = (note or "").strip()
    if approve:
        end = enddate or recognition.enddate or validity_end(recognition.disease, recognition.begndate)
        if end is not None and end < recognition.begndate:
            raise _invalid(_("the end date %(end)s is before the start date %(begin)s")
                           % {"end": end, "begin": recognition.begndate})
        clash = _overlapping(person=recognition.person, disease=recognition.disease, facility=recognition.facility,
                             begndate=recognition.begndate, enddate=end, exclude=recognition.pk)
        if clash is not None:
            raise _invalid(_("the period meets the recognition from %(begin)s (%(status)s)")
                           % {"begin": clash.begndate, "status": clash.get_status_display()})
        recognition.status, recognition.enddate = RecognitionStatus.APPROVED, end
    else:
        if not note:
            raise _invalid(_("a refusal needs its reason"))
        recognition.status = RecognitionStatus.REFUSED
    recognition.decided_by, recognition.decided_at, recognition.decision_note = user, timezone.now(), note[:500]
    recognition._history_user = user
    recognition.save(update_fields=["status", "enddate", "decided_by", "decided_at", "decision_note"])
    return recognition


@transaction.atomic
def recognition_renew(*, recognition: Recognition, evidence: str, user=None,  # noqa: ANN001
                      source: str = RecognitionSource.STAFF) -> Recognition:
    """Apply for the period that follows an approved recognition with an end date: from the day after it ends, with
    new evidence; decided like any application."""
    recognition = Recognition.objects.select_related("disease", "person", "facility").get(pk=recognition.pk)
    if recognition.status != RecognitionStatus.APPROVED or recognition.enddate is None:
        raise _invalid(_("only an approved recognition with an end date is renewed"))
    return recognition_apply(person=recognition.person, disease=recognition.disease, facility=recognition.facility,
                             begndate=recognition.enddate + datetime.timedelta(days=1), evidence=evidence, user=user,
                             source=source, renewal_of=recognition)


@transaction.atomic
def recognition_cancel(*, recognition: Recognition, note: str, user=None,  # noqa: ANN001
                       facility: Facility | None = None) -> Recognition:
    """Withdraw an application not yet decided (by staff, or by the facility it was made at: national 2504). An
    application cancelled already is ALREADY_REVERSED; a decided one is INVALID_REQUEST (an approved recognition is
    ended by staff setting its end date)."""
    recognition = Recognition.objects.select_for_update().get(pk=recognition.pk)
    if facility is not None and recognition.facility_id != facility.pk:
        raise _invalid(_("this facility has no recognition application %(id)s") % {"id": recognition.pk})
    if recognition.status == RecognitionStatus.CANCELLED:
        raise ClaimError(ClaimError.ALREADY_REVERSED,
                         _("recognition application %(id)s was cancelled already") % {"id": recognition.pk})
    if recognition.status != RecognitionStatus.APPLIED:
        raise _invalid(_("recognition application %(id)s was already decided: %(status)s")
                       % {"id": recognition.pk, "status": recognition.get_status_display()})
    recognition.status = RecognitionStatus.CANCELLED
    recognition.decided_by = user if getattr(user, "is_authenticated", False) else None
    recognition.decided_at, recognition.decision_note = timezone.now(), (note or "").strip()[:500]
    recognition._history_user = recognition.decided_by
    recognition.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return recognition
