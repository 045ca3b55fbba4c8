"""Resident insurance (390) through the partner API itself, `/api/v1/`: a Jinan resident child settles under
JN-R-2024 and the employee parent's account pays the child's part (family mutual aid); the child has no account
(NO_ACCOUNT). Every amount is worked out by hand from CONTRACT.md's JN-R-2024 (level 1: no deductible, 50%;
level 2: deductible 100, 40%; level 3: no pooled payment and nothing counted; one annual cap of 300 for general
outpatient) and JN-2024's mutual aid (the whole one-pocket balance)."""

import pytest

from accounts.models import InsuType
from accounts.tests.factories import EnrollmentFactory, FamilyLinkFactory, PersonFactory
from claims.tests.conftest import D, enrollee, fund, partner
from claims.tests.test_api_settlements import SETTLEMENTS, body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_today")]

PAYS = ("medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
        "acct_mulaid_pay", "psn_cash_pay", "balc")


@pytest.fixture
def family(world):
    """A Jinan resident child (390 from 2024-01-01, born 2016) linked to the employee parent, who has 1,000.00 in
    Jinan's one (historical) pocket."""
    jinan = world["regions"]["370100"]
    child = PersonFactory(brdy=D(2016, 4, 1))
    EnrollmentFactory(person=child, region=jinan, insutype=InsuType.RESIDENT, psn_type="", employer=None,
                      clct_base=None, begndate=D(2024, 1, 1))
    parent = enrollee(jinan, brdy=D(1985, 1, 1)).person
    fund(parent, historical="1000.00")
    FamilyLinkFactory(holder=parent, relative=child, relation="child", begndate=D(2024, 1, 1))
    return child, parent


def paid(answer: dict) -> tuple[str, ...]:
    return tuple(answer[name] for name in PAYS)


def test_a_resident_childs_level_1_visit_at_50_percent_the_parents_account_paying_the_rest(world, family):
    child, parent = family
    api = partner(world["facilities"]["JN1"], child, parent)
    created = api.post(SETTLEMENTS, body(child.psn_no, ("A50", "2", "50.00")), format="json")
    assert created.status_code == 201, created.json()
    answer = created.json()
    # JN-R-2024 level 1: no deductible, 50%. A50 2 × 50.00 = 100.00, in scope (at the 50.00 limit).
    # Fund 50% × 100.00 = 50.00; personal part 100.00 − 50.00 = 50.00. The child has no account (acct_pay 0.00,
    # balc 0.00); the parent's account pays the 50.00 (acct_mulaid_pay); cash 0.00.
    assert paid(answer) == ("100.00", "100.00", "0.00", "50.00", "50.00", "50.00", "0.00", "50.00", "0.00", "0.00")
    assert (answer["insutype"], answer["psn_type"], answer["policy_version"]) == ("390", "", "JN-R-2024")
    assert answer["setldetail"] == [{"fund_pay_type": "310100", "fund_payamt": "50.00"},
                                    {"fund_pay_type": "LOCAL_SUPP", "fund_payamt": "0.00"}]
    # The parent's balance: 1,000.00 − 50.00 = 950.00.
    assert api.get(f"/api/v1/persons/{parent.psn_no}/account/").json() == {
        "psn_no": parent.psn_no, "balc": "950.00", "pockets": {"current": "0.00", "historical": "950.00"}}
    # A resident has no personal account: NO_ACCOUNT, and the person answer shows 390 with a zero balance.
    no_account = api.get(f"/api/v1/persons/{child.psn_no}/account/")
    assert no_account.status_code == 404 and no_account.json()["err_code"] == "NO_ACCOUNT"
    insuinfo = api.get(f"/api/v1/persons/{child.psn_no}/").json()["insuinfo"]
    assert [(i["insutype"], i["psn_type"], i["psn_insu_stas"], i["insuplc_admdvs"], i["emp_name"], i["balc"])
            for i in insuinfo] == [("390", "", "1", "370100", "", "0.00")]
    # The year's counters: nothing to the deductible, 50.00 paid by the pool.
    assert api.get(f"/api/v1/persons/{child.psn_no}/accumulators/", {"year": 2025}).json() == {
        "psn_no": child.psn_no, "year": 2025,
        "buckets": [{"bucket": "general", "dedc_used": "0.00", "hifp_paid": "50.00"}]}


def test_level_3_pays_nothing_from_the_pool_and_counts_nothing(world, family):
    child, parent = family
    api = partner(world["facilities"]["JN3"], child, parent)
    answer = api.post(SETTLEMENTS, body(child.psn_no, ("A50", "2", "50.00")), format="json").json()
    # JN-R-2024 level 3: no pooled payment, nothing towards the deductible or the cap. 100.00 in scope: fund 0.00;
    # the parent's account pays all 100.00: 1,000.00 → 900.00.
    assert paid(answer) == ("100.00", "100.00", "0.00", "0.00", "0.00", "100.00", "0.00", "100.00", "0.00", "0.00")
    assert api.get(f"/api/v1/persons/{parent.psn_no}/account/").json()["balc"] == "900.00"
    buckets = api.get(f"/api/v1/persons/{child.psn_no}/accumulators/", {"year": 2025}).json()["buckets"]
    assert all((b["dedc_used"], b["hifp_paid"]) == ("0.00", "0.00") for b in buckets), buckets


def test_the_300_cap_is_reached_inside_a_visit_and_its_reversal_gives_it_back(world, family):
    child, parent = family
    api = partner(world["facilities"]["JN1"], child, parent)
    # 1st, 2025-03-01: A50 10 × 50.00 = 500.00; fund 50% = 250.00 (cap 300.00: 50.00 left after it); the parent
    # pays the other 250.00: 1,000.00 → 750.00.
    first = api.post(SETTLEMENTS, body(child.psn_no, ("A50", "10", "50.00"), medins_setl_id="R1",
                                       setl_date="2025-03-01"), format="json").json()
    assert paid(first) == ("500.00", "500.00", "0.00", "250.00", "250.00", "250.00", "0.00", "250.00", "0.00",
                           "0.00")
    # 2nd, 2025-03-10: A50 4 × 50.00 = 200.00; 50% would be 100.00, but only 300.00 − 250.00 = 50.00 of the cap
    # is left: the fund pays 50.00 and the cap is reached inside this visit; personal part 200.00 − 50.00 =
    # 150.00 from the parent: 750.00 → 600.00.
    second = api.post(SETTLEMENTS, body(child.psn_no, ("A50", "4", "50.00"), medins_setl_id="R2"),
                      format="json").json()
    assert paid(second) == ("200.00", "200.00", "0.00", "50.00", "50.00", "150.00", "0.00", "150.00", "0.00",
                            "0.00")
    # 3rd, 2025-03-10: A50 1 × 50.00 = 50.00; the cap is used up: fund 0.00, the parent pays 50.00: → 550.00.
    third = api.post(SETTLEMENTS, body(child.psn_no, ("A50", "1", "50.00"), medins_setl_id="R3"),
                     format="json").json()
    assert paid(third) == ("50.00", "50.00", "0.00", "0.00", "0.00", "50.00", "0.00", "50.00", "0.00", "0.00")
    accumulators = f"/api/v1/persons/{child.psn_no}/accumulators/"
    assert api.get(accumulators, {"year": 2025}).json()["buckets"] == [
        {"bucket": "general", "dedc_used": "0.00", "hifp_paid": "300.00"}]
    assert api.get(f"/api/v1/persons/{parent.psn_no}/account/").json()["balc"] == "550.00"
    # Reversing the 2nd gives back its 50.00 of the cap (300.00 → 250.00) and the parent's 150.00 (→ 700.00).
    reversed_ = api.post(f"{SETTLEMENTS}{second['setl_id']}/reversal/", {"reason": "test"}, format="json")
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    assert api.get(accumulators, {"year": 2025}).json()["buckets"] == [
        {"bucket": "general", "dedc_used": "0.00", "hifp_paid": "250.00"}]
    assert api.get(f"/api/v1/persons/{parent.psn_no}/account/").json()["balc"] == "700.00"
