"""Cross-region filings (异地就医备案) made by facilities through the national interface (2501 / 2502); staff and
imports keep them through the admin and the `cross_region_filings` import kind."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Person
from claims.errors import ClaimError
from claims.models import CrossRegionFiling, Facility, FilingStatus, FilingType


@transaction.atomic
def cross_region_filing_create(*, person: Person, facility: Facility, mdtrtarea_admvs: str,
                               begndate: datetime.date, enddate: datetime.date | None = None,
                               filing_type: str = FilingType.REFERRAL, memo: str = "") -> CrossRegionFiling:
    """File the person for treatment in region `mdtrtarea_admvs` (a region or province code) from `begndate`, as
    `facility` asks (national 2501). A live filing with the same key is INVALID_REQUEST."""
    if enddate is not None and enddate < begndate:
        raise ClaimError(ClaimError.INVALID_REQUEST, _("the end date %(end)s is before the start date %(begin)s")
                         % {"end": enddate, "begin": begndate})
    if facility.region.admdvs == mdtrtarea_admvs:
        raise ClaimError(ClaimError.INVALID_REQUEST,
                         _("%(code)s is this facility's own region: a filing is for treatment in another region")
                         % {"code": mdtrtarea_admvs})
    existing = CrossRegionFiling.objects.select_for_update().filter(
        person=person, mdtrtarea_admvs=mdtrtarea_admvs, filing_type=filing_type, begndate=begndate).first()
    if existing is not None:
        if existing.status == FilingStatus.ACTIVE:
            raise ClaimError(ClaimError.INVALID_REQUEST,
                             _("%(psn_no)s is already filed for %(region)s from %(begin)s (filing %(id)s)")
                             % {"psn_no": person.psn_no, "region": mdtrtarea_admvs, "begin": begndate,
                                "id": existing.pk})
        # A cancelled filing with the same key is filed again.
        existing.status, existing.cancelled_at, existing.enddate = FilingStatus.ACTIVE, None, enddate
        existing.facility, existing.memo = facility, memo[:200]
        existing.save(update_fields=["status", "cancelled_at", "enddate", "facility", "memo"])
        return existing
    filing = CrossRegionFiling(person=person, facility=facility, mdtrtarea_admvs=mdtrtarea_admvs,
                               filing_type=filing_type, begndate=begndate, enddate=enddate, memo=memo[:200])
    filing.save()
    return filing


@transaction.atomic
def cross_region_filing_cancel(*, facility: Facility, filing_id: str, psn_no: str, memo: str = "") -> CrossRegionFiling:
    """Cancel a filing the facility made (national 2502): from then on it is valid on no day. Another facility's
    filing, or an unknown one, is INVALID_REQUEST (the same answer); one cancelled already is ALREADY_REVERSED."""
    filing = (CrossRegionFiling.objects.select_for_update().select_related("person")
              .filter(pk=int(filing_id) if str(filing_id).isdigit() else 0, facility=facility,
                      person__psn_no=psn_no).first())
    if filing is None:
        raise ClaimError(ClaimError.INVALID_REQUEST, _("this facility filed no filing %(id)s for %(psn_no)s")
                         % {"id": filing_id, "psn_no": psn_no})
    if filing.status == FilingStatus.CANCELLED:
        raise ClaimError(ClaimError.ALREADY_REVERSED, _("filing %(id)s was cancelled on %(at)s")
                         % {"id": filing.pk,
                            "at": timezone.localtime(filing.cancelled_at).strftime("%Y-%m-%d %H:%M")})
    filing.status, filing.cancelled_at = FilingStatus.CANCELLED, timezone.now()
    if memo:
        filing.memo = memo[:200]
    filing.save(update_fields=["status", "cancelled_at", "memo"])
    return filing
