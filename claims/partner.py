"""What a partner facility may do, checked in one place for the REST API and the national gateway alike
(CONTRACT.md, "Partner REST API"): read only the persons it has a tie to (claims.ties), settle service dates only
inside the window that ends today (Asia/Shanghai), and nothing at all once its designation has ended.

The settlement services themselves compute and write; staff settling a late bill in the admin go through them
directly, with a reason (`claims.services.settlement_create_late`).
"""

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Person
from claims.errors import ClaimError
from claims.models import Facility, PersonLookup
from claims.services import existing_answer, request_digest, settlement_create, settlement_preview
from claims.ties import person_tied


def person_not_found(psn_no: str | None = None) -> ClaimError:
    """The refusal for a person who does not exist, and the same for one the facility has no tie to."""
    if psn_no is None:
        return ClaimError(ClaimError.PERSON_NOT_FOUND, _("no person has this ID number"))
    return ClaimError(ClaimError.PERSON_NOT_FOUND, _("no person has the number %(psn_no)s") % {"psn_no": psn_no})


def partner_today() -> datetime.date:
    return timezone.localdate()


def facility_active(facility: Facility) -> bool:
    """A facility acts through its token only while designated today."""
    return facility.designated_on(partner_today())


@transaction.atomic
def person_lookup_record(*, facility: Facility, person: Person) -> None:
    """The facility presented the person's full ID number now: a tie for the next 24 hours."""
    now = timezone.now()
    updated = PersonLookup.objects.filter(facility=facility, person=person).update(looked_up_at=now)
    if not updated:
        PersonLookup.objects.bulk_create([PersonLookup(facility=facility, person=person, looked_up_at=now)],
                                         update_conflicts=True, unique_fields=["facility", "person"],
                                         update_fields=["looked_up_at"])


def person_visible(*, facility: Facility, person: Person | None) -> bool:
    return person is not None and person_tied(facility_id=facility.pk, person_id=person.pk, today=partner_today())


def setl_date_check(day: datetime.date) -> None:
    """The service date lies from today − SETTLEMENT_BACKDATE_DAYS to today, both included."""
    today = partner_today()
    first = today - datetime.timedelta(days=settings.SETTLEMENT_BACKDATE_DAYS)
    if not first <= day <= today:
        raise ClaimError(ClaimError.SETL_DATE_OUT_OF_RANGE,
                         _("the service date %(day)s is outside %(first)s to %(today)s: bills older than "
                           "%(days)s days are settled by the agency's staff")
                         % {"day": day, "first": first, "today": today, "days": settings.SETTLEMENT_BACKDATE_DAYS})


# A partner settles or previews only for a person its facility has a tie to (PERSON_NOT_FOUND, exactly as for
# nobody): the services check it in the statement that reads the patient (`tied_only`), after the service date's
# window here.

def partner_settlement_preview(*, facility: Facility, data: dict[str, Any]) -> dict[str, Any]:
    setl_date_check(data["setl_date"])
    return settlement_preview(facility=facility, data=data, tied_only=True)


def partner_settlement_create(*, facility: Facility, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """`settlement_create` for a partner. A retry of a settled request gets its first answer even when the request
    would be refused now (the window moved on at midnight, the tie lapsed, say), as a retry refused by the registry
    does."""
    try:
        setl_date_check(data["setl_date"])
    except ClaimError:
        answer = existing_answer(facility, data["medins_setl_id"], request_digest(data))
        if answer is None:
            raise
        return answer, False
    return settlement_create(facility=facility, data=data, tied_only=True)
