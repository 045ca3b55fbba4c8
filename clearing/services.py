"""Writes of clearing with facilities. Every service is keyword-only, typed and atomic, and records who acted."""

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.errors import ClaimError
from claims.models import Facility
from clearing.models import ApplicationStatus, ClearingApplication
from core.money import fen

CLR_TYPES = ("11", "14", "41")
APPLICATION_MONEY = ("medfee_sumamt", "fund_appy_sumamt", "acct_pay", "cash_payamt")


def _invalid(message: str) -> ClaimError:
    return ClaimError(ClaimError.INVALID_REQUEST, message)


def _application_values(data: dict[str, Any]) -> dict[str, Any]:
    """The application's fields from a 3203 `data`, checked; INVALID_REQUEST naming what is wrong."""
    missing = [name for name in ("clr_type", "begndate", "enddate", *APPLICATION_MONEY) if data.get(name) is None]
    if missing:
        raise _invalid(_("the clearing application lacks %(fields)s") % {"fields": ", ".join(missing)})
    clr_type = str(data["clr_type"])
    if clr_type not in CLR_TYPES:
        raise _invalid(_("clr_type %(value)s is not one of %(known)s")
                       % {"value": clr_type, "known": ", ".join(CLR_TYPES)})
    begndate, enddate = data["begndate"], data["enddate"]
    if not isinstance(begndate, datetime.date) or not isinstance(enddate, datetime.date):
        raise _invalid(_("begndate and enddate must be dates"))
    if enddate < begndate:
        raise _invalid(_("the period ends (%(end)s) before it starts (%(begin)s)")
                       % {"end": enddate, "begin": begndate})
    if (begndate.year, begndate.month) != (enddate.year, enddate.month):
        raise _invalid(_("a clearing application covers days of one month; %(begin)s to %(end)s spans several")
                       % {"begin": begndate, "end": enddate})
    values: dict[str, Any] = {
        "clr_type": clr_type, "clr_way": str(data.get("clr_way") or "")[:10],
        "setl_optins": str(data.get("setl_optins") or "")[:10], "begndate": begndate, "enddate": enddate,
        "month": begndate.replace(day=1),
    }
    for name in APPLICATION_MONEY:
        value = data[name]
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or fen(value) != value:
            raise _invalid(_("%(field)s must be an amount of at least 0 with at most two decimals")
                           % {"field": name})
        values[name] = value
    return values


def _same(application: ClearingApplication, values: dict[str, Any]) -> bool:
    return all(getattr(application, name) == value for name, value in values.items())


def clearing_application_record(*, facility: Facility, msgid: str, data: dict[str, Any]) -> ClearingApplication:
    """Record a facility's clearing application (national 3203) and return it (its `clr_appy_evt_id` is the
    answer). The same `msgid` of the facility again returns the application it recorded; with other figures it is
    IDEMPOTENCY_CONFLICT. Bad figures are INVALID_REQUEST. The application is kept beside the system's figures on
    the month's statement; it changes nothing the system computes."""
    values = _application_values(data)
    try:
        with transaction.atomic():
            application = ClearingApplication(
                clr_appy_evt_id=f"{timezone.localdate():%Y%m%d}{secrets.token_hex(8).upper()}",
                facility=facility, msgid=msgid, **values)
            application.save()
            return application
    except IntegrityError:
        existing = ClearingApplication.objects.filter(facility=facility, msgid=msgid).first()
        if existing is None:
            raise
        if not _same(existing, values):
            raise ClaimError(ClaimError.IDEMPOTENCY_CONFLICT,
                             _("message %(msgid)s already filed clearing application %(id)s with other figures")
                             % {"msgid": msgid, "id": existing.clr_appy_evt_id}) from None
        return existing


@transaction.atomic
def clearing_application_cancel(*, facility: Facility, clr_appy_evt_id: str) -> None:
    """Cancel a clearing application of the facility (national 3204). An unknown id, or another facility's, is
    INVALID_REQUEST (the same answer for both); an application already cancelled is ALREADY_REVERSED."""
    application = (ClearingApplication.objects.select_for_update()
                   .filter(clr_appy_evt_id=str(clr_appy_evt_id), facility=facility).first())
    if application is None:
        raise _invalid(_("this facility has no clearing application %(id)s") % {"id": clr_appy_evt_id})
    if application.is_cancelled:
        raise ClaimError(ClaimError.ALREADY_REVERSED,
                         _("clearing application %(id)s was cancelled on %(at)s")
                         % {"id": application.clr_appy_evt_id,
                            "at": timezone.localtime(application.cancelled_at).strftime("%Y-%m-%d %H:%M")})
    application.status = ApplicationStatus.CANCELLED
    application.cancelled_at = timezone.now()
    application.save(update_fields=["status", "cancelled_at"])
