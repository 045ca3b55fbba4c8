"""Late settlement (补结算) in the admin: staff with `claims.settle_late` settle a bill dated before the partners'
window through the same services as the API, with a reason recorded on the settlement and in its history; others
may not; a reason is required; the same bill is never settled twice; a future date is refused even here."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.ledger import ledger_verify
from accounts.roles import roles_sync
from claims.models import Accumulator, Settlement
from claims.tests.conftest import D, enrollee, fund, partner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

LATE = reverse("admin:claims_settlement_late")


def staff(username: str, group: str) -> tuple[User, Client]:
    roles_sync()
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def jinan(world):
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="500.00")
    return p


def late_bill(psn_no: str) -> dict:
    # Today is 2025-03-20 (api_today): the partners' window starts 2025-02-18; 2025-01-10 is outside it.
    return {"facility": "HJN1", "medins_setl_id": "LATE-1", "psn_no": psn_no, "med_type": "11",
            "setl_date": "2025-01-10", "dise_codg": "", "acct_used_flag": "1", "mulaid_psn_no": "",
            "items": "A50,10,50.00", "reason": "HIS outage in January; bill handed in on paper", "_settle": "1"}


def test_an_auditor_settles_a_late_bill_through_the_services(world, jinan):
    # The partner API refuses the bill: outside the window.
    api = partner(world["facilities"]["JN1"], jinan)
    refused = api.post("/api/v1/settlements/", {"medins_setl_id": "LATE-1", "psn_no": jinan.psn_no, "med_type": "11",
                                                "setl_date": "2025-01-10",
                                                "items": [{"item_code": "A50", "qty": "10", "price": "50.00"}]},
                       format="json")
    assert refused.json()["err_code"] == "SETL_DATE_OUT_OF_RANGE"

    auditor, client = staff("auditor", "settlement_auditor")
    assert "Settle a late bill" in client.get(reverse("admin:claims_settlement_changelist")).content.decode()
    response = client.post(LATE, late_bill(jinan.psn_no))
    settlement = Settlement.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{settlement.pk}/change/")
    # JN-2024, level 1: A50 10 × 50.00 = 500.00 in scope; deductible 200.00; fund 70% × 300.00 = 210.00;
    # personal part 290.00 from the 500.00 account, 210.00 left.
    assert (settlement.setl_date, settlement.policy_version.code, settlement.medfee_sumamt, settlement.act_pay_dedc,
            settlement.hifp_pay, settlement.acct_pay, settlement.psn_cash_pay, settlement.balc) == (
        D(2025, 1, 10), "JN-2024", Decimal("500.00"), Decimal("200.00"), Decimal("210.00"), Decimal("290.00"),
        Decimal("0.00"), Decimal("210.00"))
    assert (settlement.settled_late_by, settlement.late_reason) == (
        auditor, "HIS outage in January; bill handed in on paper")
    counters = Accumulator.objects.get(person=jinan)
    assert (counters.year_start, counters.dedc_used, counters.hifp_paid) == (
        D(2025, 1, 1), Decimal("200.00"), Decimal("210.00"))
    entry = LogEntry.objects.get(object_id=str(settlement.pk))
    assert entry.user == auditor and "HIS outage in January" in entry.change_message
    page = client.get(reverse("admin:claims_settlement_change", args=[settlement.pk])).content.decode()
    assert "HIS outage in January" in page and "auditor" in page
    assert ledger_verify() == []

    # The same bill again: nothing settled twice.
    again = client.post(LATE, late_bill(jinan.psn_no), follow=True)
    assert "was settled already" in again.content.decode()
    assert Settlement.objects.count() == 1 and Accumulator.objects.get(person=jinan).hifp_paid == Decimal("210.00")


def test_a_preview_writes_nothing(world, jinan):
    _, client = staff("auditor", "settlement_auditor")
    page = client.post(LATE, {**late_bill(jinan.psn_no), "_preview": "1", "_settle": ""}).content.decode()
    assert "Preview: nothing is saved" in page and "210.00" in page and "290.00" in page
    assert not Settlement.objects.exists() and not Accumulator.objects.exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"reason": ""}, "This field is required."),
    ({"reason": "   "}, "This field is required."),
    ({"setl_date": "2025-03-21"}, "SETL_DATE_OUT_OF_RANGE: the service date 2025-03-21 is after today (2025-03-20)"),
    ({"items": "A50,10"}, "line 1: item code, quantity and unit price, separated by commas"),
    ({"items": "A50,10,50.005"}, "price"),
    ({"items": "A50,1,9999989999.99"}, "AMOUNT_IMPLAUSIBLE"),
    ({"facility": "NOPE"}, "no designated facility has the code NOPE"),
    ({"psn_no": "P9999999999"}, "PERSON_NOT_FOUND"),
])
def test_refusals_write_nothing(world, jinan, changes, message):
    _, client = staff("auditor", "settlement_auditor")
    response = client.post(LATE, {**late_bill(jinan.psn_no), **changes})
    assert response.status_code == 200 and message in response.content.decode()
    assert not Settlement.objects.exists() and not Accumulator.objects.exists()


@pytest.mark.parametrize("group", ["registry_clerk", "read_only", "supervisor", "policy_manager"])
def test_only_the_dedicated_permission_settles_late(world, jinan, group):
    _, client = staff("someone", group)
    assert client.get(LATE).status_code == 403
    assert client.post(LATE, late_bill(jinan.psn_no)).status_code == 403
    assert "Settle a late bill" not in client.get(reverse("admin:claims_settlement_changelist")).content.decode()
    assert not Settlement.objects.exists()


def test_the_service_itself_checks_the_permission_and_the_reason(world, jinan):
    from django.core.exceptions import PermissionDenied

    from claims.errors import ClaimError
    from claims.services import settlement_create_late
    from claims.tests.conftest import request

    clerk, _ = staff("clerk", "registry_clerk")
    auditor, _ = staff("auditor", "settlement_auditor")
    data = request(jinan.psn_no, ("A50", "1", "50"), setl_date="2025-01-10")
    with pytest.raises(PermissionDenied):
        settlement_create_late(facility=world["facilities"]["JN1"], data=data, reason="x", user=clerk)
    with pytest.raises(ClaimError, match="needs a reason"):
        settlement_create_late(facility=world["facilities"]["JN1"], data=data, reason=" ", user=auditor)
    assert not Settlement.objects.exists()
