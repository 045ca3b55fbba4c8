"""Each supervision rule fires on its case and stays quiet on a near miss; reruns do not duplicate; reviews need
the supervisor's permission and a note."""

import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from accounts.tests.factories import FamilyLinkFactory, PersonFactory
from claims.services import settlement_create
from reports.models import Alert, AlertRank, AlertStatus, Rule, SupervisionSetting
from reports.supervision import alert_finding, alert_review, supervision_run
from reports.tests.conftest import D, enrollee, fund, request, user_in

pytestmark = pytest.mark.django_db
MARCH = D(2025, 3, 1)
_ids = itertools.count(1)


def settle(facility, person, *items, day="2025-03-10", **kw):  # noqa: ANN001, ANN002, ANN003, ANN201
    answer, _ = settlement_create(facility=facility, data=request(person.psn_no, *items, setl_date=day,
                                                                  medins_setl_id=f"S{next(_ids)}", **kw))
    return answer


def person(world, historical="0"):  # noqa: ANN001, ANN201
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical=historical)
    return p


def alerts(rule: str) -> dict[str, Alert]:
    supervision_run(month=MARCH, rules=[rule])
    return {a.subject_key: a for a in Alert.objects.filter(rule=rule)}


def test_several_facilities_on_one_day(world):
    f = world["facilities"]
    hit, near = person(world), person(world)
    for code in ("JN1", "JN2", "JN3"):
        settle(f[code], hit, ("C", "1", "20"))
    settle(f["JN1"], near, ("C", "1", "20"))
    settle(f["JN2"], near, ("C", "1", "20"))
    settle(f["JN3"], near, ("C", "1", "20"), day="2025-03-11")  # another day: only 2 facilities on each
    found = alerts(Rule.MULTI_FACILITY_DAY)
    assert set(found) == {hit.psn_no}
    alert = found[hit.psn_no]
    # The score is the money at stake, the day's bills: 3 × 20.00 = 60.00; the count is in the detail.
    assert alert.period_start == alert.period_end == D(2025, 3, 10) and alert.score == Decimal("60.00")
    assert alert.detail == {"facilities": 3}
    assert alert.settlements.count() == 3


def test_visits_far_above_the_usual_count(world):
    SupervisionSetting.objects.filter(rule=Rule.FREQUENT_VISITS).update(min_count=10, ratio=3)
    f = world["facilities"]
    heavy, near, *others = (person(world) for _ in range(5))
    for n in range(10):
        settle(f["JN1"], heavy, ("C", "1", "20"), day=f"2025-03-{n + 1:02d}")
    for n in range(9):  # near miss: 9 visits, under the minimum of 10
        settle(f["JN1"], near, ("C", "1", "20"), day=f"2025-03-{n + 1:02d}")
    for p in others:
        settle(f["JN1"], p, ("C", "1", "20"))
    # mean = (10 + 9 + 3) / 5 = 4.40; 10 > 3 × 4.40 = 13.20? no → raise the bar first, then lower it.
    assert alerts(Rule.FREQUENT_VISITS) == {}
    SupervisionSetting.objects.filter(rule=Rule.FREQUENT_VISITS).update(ratio=2)
    # 10 > 2 × 4.40 = 8.80 and 10 ≥ 10: heavy; 9 > 8.80 but 9 < 10: near miss.
    found = alerts(Rule.FREQUENT_VISITS)
    assert set(found) == {heavy.psn_no} and found[heavy.psn_no].settlements.count() == 10
    assert found[heavy.psn_no].score == Decimal("200.00")  # the month's bills at stake: 10 × 20.00


def _relative_spending(world, amounts: list[str]) -> list:  # noqa: ANN001
    relatives = []
    for amount in amounts:
        holder = person(world, historical="5000.00")
        relative = PersonFactory(brdy=D(2012, 1, 1))
        FamilyLinkFactory(holder=holder, relative=relative, relation="child", begndate=D(2024, 1, 1))
        # No insurance: the whole bill is personal, paid from the holder's account (mutual aid).
        answer = settle(world["facilities"]["JN1"], relative, ("C", "1", amount))
        assert answer["acct_mulaid_pay"] == f"{Decimal(amount):.2f}"
        relatives.append(relative)
    return relatives


def test_mutual_aid_far_above_peers(world):
    # mean = (1000 + 3 × 100) / 4 = 325.00; 1000.00 > 3 × 325.00 = 975.00 and ≥ 500.00: fires.
    outlier, *_ = _relative_spending(world, ["1000", "100", "100", "100"])
    assert set(alerts(Rule.MULAID_OUTLIER)) == {outlier.psn_no}


def test_mutual_aid_near_miss(world):
    # mean = (900 + 300) / 4 = 300.00; 900.00 > 3 × 300.00 = 900.00? no.
    _relative_spending(world, ["900", "100", "100", "100"])
    assert alerts(Rule.MULAID_OUTLIER) == {}


def test_repeated_bills_just_under_a_cap(world):
    SupervisionSetting.objects.filter(rule=Rule.JUST_UNDER_CAP).update(amount=Decimal("200"), ratio=Decimal("0.05"),
                                                                       min_count=3)
    f = world["facilities"]
    hit, near = person(world), person(world)
    for day in ("2025-03-03", "2025-03-10", "2025-03-17"):
        settle(f["JN1"], hit, ("C", "1", "195"), day=day)  # 190.00 ≤ 195.00 < 200.00
    settle(f["JN1"], near, ("C", "1", "195"), day="2025-03-03")
    settle(f["JN1"], near, ("C", "1", "199.99"), day="2025-03-10")
    settle(f["JN1"], near, ("C", "1", "200"), day="2025-03-17")  # at the cap, not under it
    found = alerts(Rule.JUST_UNDER_CAP)
    # The money at stake: 3 × 195.00 = 585.00.
    assert set(found) == {hit.psn_no} and found[hit.psn_no].score == Decimal("585.00")
    assert found[hit.psn_no].detail["bills"] == 3
    # What staff read on the alert: the finding as a sentence in their language (200 × 0.95 = 190.00).
    with translation.override("en"):
        assert alert_finding(found[hit.psn_no]) == (
            "3 bills from 190.00 yuan up to, not including, the cap of 200.00 yuan")
    with translation.override("zh-hans"):
        assert alert_finding(found[hit.psn_no]) == "3 张单据金额在 190.00 元及以上、不到限额 200.00 元"


def test_items_over_their_price_limit(world):
    f = world["facilities"]
    p = person(world)
    settle(f["JN1"], p, ("A50", "2", "55"))  # limit 50.00: 2 × 5.00 over
    settle(f["JN2"], p, ("A50", "2", "50"))  # at the limit: near miss
    found = alerts(Rule.OVER_PRICE_LIMIT)
    assert set(found) == {"HJN1"}
    assert found["HJN1"].detail["overlmt_selfpay"] == "10.00" and found["HJN1"].settlements.count() == 1
    assert found["HJN1"].score == Decimal("10.00")  # at stake: what was priced over the limit


def _pharmacy_months(world, previous: str, march: str) -> None:  # noqa: ANN001
    buyer = person(world, historical="100000.00")
    for month in ("2024-12", "2025-01", "2025-02"):
        settle(world["facilities"]["JNP"], buyer, ("C", "1", previous), med_type="41", day=f"{month}-15")
    settle(world["facilities"]["JNP"], buyer, ("C", "1", march), med_type="41", day="2025-03-15")


def test_pharmacy_account_spending_jumps(world):
    # previous 3 months average 100.00; March 1,100.00 > 2 × 100.00 and ≥ 1,000.00.
    _pharmacy_months(world, "100", "1100")
    found = alerts(Rule.PHARMACY_JUMP)
    assert set(found) == {"PJN"} and found["PJN"].score == Decimal("1100.00")


def test_pharmacy_near_miss(world):
    # previous average 600.00; March 1,200.00 > 2 × 600.00? no.
    _pharmacy_months(world, "600", "1200")
    assert alerts(Rule.PHARMACY_JUMP) == {}


def test_rerun_does_not_duplicate_and_leaves_reviews_alone(world):
    f = world["facilities"]
    p = person(world)
    for code in ("JN1", "JN2", "JN3"):
        settle(f[code], p, ("C", "1", "20"))
    supervision_run(month=MARCH)
    supervision_run(month=MARCH)
    alert = Alert.objects.get(rule=Rule.MULTI_FACILITY_DAY)
    supervisor = user_in("supervisor", "sup")
    alert_review(alert=alert, status=AlertStatus.DISMISSED, note="a referral chain", user=supervisor)
    settle(f["SH1"], p, ("C", "1", "20"))  # a fourth facility that day
    supervision_run(month=MARCH)
    alert.refresh_from_db()
    assert Alert.objects.filter(rule=Rule.MULTI_FACILITY_DAY).count() == 1
    assert alert.status == AlertStatus.DISMISSED and alert.settlements.count() == 3 and alert.reviewer == supervisor


def test_review_needs_the_permission_and_a_note(world):
    f = world["facilities"]
    p = person(world)
    for code in ("JN1", "JN2", "JN3"):
        settle(f[code], p, ("C", "1", "20"))
    supervision_run(month=MARCH)
    alert = Alert.objects.get()
    with pytest.raises(PermissionDenied):
        alert_review(alert=alert, status=AlertStatus.CONFIRMED, note="x", user=user_in("read_only", "ro"))
    supervisor = user_in("supervisor", "sup")
    with pytest.raises(ValueError):
        alert_review(alert=alert, status=AlertStatus.CONFIRMED, note=" ", user=supervisor)
    reviewed = alert_review(alert=alert, status=AlertStatus.CONFIRMED, note="billing three times", user=supervisor)
    assert reviewed.status == AlertStatus.CONFIRMED and reviewed.reviewed_at is not None


def test_money_at_stake_and_the_plausibility_limit_rank_the_alerts(world):
    # Issue 11: the over-price rule scored a 9,999,989,999.99 bill 2.00 (its two lines) below a case of 112.97.
    # HJN1, three lines over A50's limit of 50.00: (87.99 − 50) + (87.99 − 50) + (86.99 − 50) = 112.97 over.
    f = world["facilities"]
    settle(f["JN1"], person(world), ("A50", "1", "87.99"), ("A50", "1", "87.99"), ("A50", "1", "86.99"))
    # HJN2: the bill of the attack, settled before the plausibility limits were set (raised here for the moment):
    # 4,999,995,000.00 + 4,999,994,999.99 = 9,999,989,999.99; over the limit: the same less 2 × 50.00,
    # 9,999,989,899.99.
    from core.cache import process_caches_clear
    from policies.models import PolicyVersion

    jn24 = PolicyVersion.objects.filter(code="JN-2024")
    jn24.update(plausible_line_max="9999999999.99", plausible_bill_max="9999999999.99")
    process_caches_clear()
    answer = settle(f["JN2"], person(world), ("A50", "1", "4999995000.00"), ("A50", "1", "4999994999.99"))
    assert answer["medfee_sumamt"] == "9999989999.99"
    jn24.update(plausible_line_max="100000.00", plausible_bill_max="200000.00")
    process_caches_clear()

    supervision_run(month=MARCH)
    over_price = {a.subject_key: a for a in Alert.objects.filter(rule=Rule.OVER_PRICE_LIMIT)}
    assert (over_price["HJN2"].score, over_price["HJN2"].detail["lines"]) == (Decimal("9999989899.99"), 2)
    assert (over_price["HJN1"].score, over_price["HJN1"].detail["lines"]) == (Decimal("112.97"), 3)
    implausible = Alert.objects.get(rule=Rule.IMPLAUSIBLE_BILL)
    assert (implausible.subject_key, implausible.rank, implausible.score) == (
        "HJN2", AlertRank.HIGHEST, Decimal("9999989999.99"))
    assert implausible.detail == {"bills": 1, "total": "9999989999.99"}
    # The list a reviewer works down: the implausible bill first, then by the money at stake.
    assert [(a.rule, a.subject_key) for a in Alert.objects.all()] == [
        (Rule.IMPLAUSIBLE_BILL, "HJN2"), (Rule.OVER_PRICE_LIMIT, "HJN2"), (Rule.OVER_PRICE_LIMIT, "HJN1")]
    with translation.override("en"):
        assert alert_finding(implausible) == (
            "1 bills over their policy version's plausibility limit, 9999989999.99 yuan in all")


def test_a_bill_whose_line_alone_is_over_the_limit_is_found(world):
    # One line of 150,000.00 over the 100,000.00 line limit, the bill 150,000.00 under the 200,000.00 bill limit.
    from core.cache import process_caches_clear
    from policies.models import PolicyVersion

    jn24 = PolicyVersion.objects.filter(code="JN-2024")
    jn24.update(plausible_line_max="200000.00")
    process_caches_clear()
    settle(world["facilities"]["JN1"], person(world), ("C", "1", "150000.00"))
    settle(world["facilities"]["JN2"], person(world), ("C", "2", "50000.00"))  # two lines' worth, one line
    jn24.update(plausible_line_max="100000.00")
    process_caches_clear()
    found = alerts(Rule.IMPLAUSIBLE_BILL)
    assert set(found) == {"HJN1"} and found["HJN1"].score == Decimal("150000.00")
