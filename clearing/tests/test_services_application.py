"""The facility's clearing application (national 3203) and its cancellation (3204), as the gateway calls them."""

import datetime
from decimal import Decimal

import pytest

from claims.errors import ClaimError
from clearing.models import ApplicationStatus, ClearingApplication
from clearing.services import clearing_application_cancel, clearing_application_record

D = datetime.date


def data(**overrides) -> dict:
    values = {"clr_type": "11", "clr_way": "1", "setl_optins": "370100", "begndate": D(2025, 3, 1),
              "enddate": D(2025, 3, 31), "medfee_sumamt": Decimal("1000.00"), "fund_appy_sumamt": Decimal("560.00"),
              "acct_pay": Decimal("300.00"), "cash_payamt": Decimal("140.00")}
    values.update(overrides)
    return values


def test_record_keeps_the_application_as_sent(world):
    facility = world["facilities"]["JN1"]
    application = clearing_application_record(facility=facility, msgid="HJN1" + "0" * 26, data=data())
    assert isinstance(application.clr_appy_evt_id, str) and len(application.clr_appy_evt_id) == 24
    stored = ClearingApplication.objects.get(clr_appy_evt_id=application.clr_appy_evt_id)
    assert (stored.facility, stored.month, stored.clr_type, stored.status) == (
        facility, D(2025, 3, 1), "11", ApplicationStatus.APPLIED)
    assert (stored.medfee_sumamt, stored.fund_appy_sumamt, stored.acct_pay, stored.cash_payamt) == (
        Decimal("1000.00"), Decimal("560.00"), Decimal("300.00"), Decimal("140.00"))


def test_the_same_message_again_returns_the_first_application(world):
    facility = world["facilities"]["JN1"]
    first = clearing_application_record(facility=facility, msgid="m1", data=data())
    again = clearing_application_record(facility=facility, msgid="m1", data=data())
    assert again.pk == first.pk and ClearingApplication.objects.count() == 1
    with pytest.raises(ClaimError) as refused:
        clearing_application_record(facility=facility, msgid="m1", data=data(acct_pay=Decimal("1.00")))
    assert refused.value.err_code == ClaimError.IDEMPOTENCY_CONFLICT
    # Another facility may use the same message id: ids are the sender's own.
    other = clearing_application_record(facility=world["facilities"]["JN2"], msgid="m1", data=data())
    assert other.pk != first.pk


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"clr_type": "21"}, "clr_type 21"),
    ({"enddate": D(2025, 2, 28)}, "before it starts"),
    ({"enddate": D(2025, 4, 2)}, "spans several"),
    ({"acct_pay": Decimal("-1.00")}, "acct_pay"),
    ({"cash_payamt": Decimal("1.005")}, "cash_payamt"),
    ({"medfee_sumamt": None}, "medfee_sumamt"),
])
def test_bad_applications_are_refused(world, overrides, fragment):
    with pytest.raises(ClaimError) as refused:
        clearing_application_record(facility=world["facilities"]["JN1"], msgid="m", data=data(**overrides))
    assert refused.value.err_code == ClaimError.INVALID_REQUEST
    assert fragment in refused.value.err_msg
    assert not ClearingApplication.objects.exists()


def test_cancel(world):
    facility = world["facilities"]["JN1"]
    application = clearing_application_record(facility=facility, msgid="m1", data=data())
    clearing_application_cancel(facility=facility, clr_appy_evt_id=application.clr_appy_evt_id)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CANCELLED and application.cancelled_at is not None
    with pytest.raises(ClaimError) as twice:
        clearing_application_cancel(facility=facility, clr_appy_evt_id=application.clr_appy_evt_id)
    assert twice.value.err_code == ClaimError.ALREADY_REVERSED


def test_cancel_refuses_unknown_and_other_facilities_ids_alike(world):
    application = clearing_application_record(facility=world["facilities"]["JN1"], msgid="m1", data=data())
    answers = []
    for facility, evt_id in ((world["facilities"]["JN2"], application.clr_appy_evt_id),
                             (world["facilities"]["JN1"], "NOSUCHID")):
        with pytest.raises(ClaimError) as refused:
            clearing_application_cancel(facility=facility, clr_appy_evt_id=evt_id)
        answers.append(refused.value.err_code)
    assert answers == [ClaimError.INVALID_REQUEST, ClaimError.INVALID_REQUEST]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPLIED
