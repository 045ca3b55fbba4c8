"""What-if runs replayed by hand: Jinan's JN-2024 (illustrative, CONTRACT.md) at a level-1 hospital, in-service:
deductible 200, the pooled fund 70% above it, annual cap 4,500; one pocket (historical). Item A50 is class A with a
price limit of 50.00, bought at 50.00 (nothing over the limit, all in scope)."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from claims.services import settlement_create
from claims.tests.conftest import D, enrollee, fund, request
from policies.models import BenefitRule, FacilityLevel, MedGroup, PolicyVersion
from policies.services import policy_version_clone
from whatif.services import month_start, whatif_replay

pytestmark = pytest.mark.django_db


def draft_of_jn2024(code: str, **rule_changes: object) -> PolicyVersion:
    draft = policy_version_clone(version=PolicyVersion.objects.get(code="JN-2024"), code=code, actor=None)
    BenefitRule.objects.filter(version=draft, med_group=MedGroup.GENERAL,
                               facility_level=FacilityLevel.LEVEL_1).update(**rule_changes)
    return draft


def run(code: str, month_from: str = "2025-01", month_to: str = "2025-12") -> dict:
    out = io.StringIO()
    call_command("run_whatif", "--version", code, "--admdvs", "370100", "--from", month_from, "--to", month_to,
                 stdout=out)
    return json.loads(out.getvalue())


def settle(facility, person, n: int, day: str, setl_id: str) -> dict:  # noqa: ANN001
    answer, _ = settlement_create(facility=facility, data=request(person.psn_no, ("A50", str(n), "50"),
                                                                  setl_date=day, medins_setl_id=setl_id))
    return answer


def test_a_lower_level_1_deductible_pays_the_first_visits_more(world):
    h1, h2 = world["facilities"]["JN1"], world["facilities"]["JN2"]
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="1000")
    q = enrollee(world["regions"]["370100"], brdy=D(1981, 1, 1)).person
    fund(q, historical="1000")
    # Paid under JN-2024 (deductible 200 at level 1):
    #   S1 150.00: all to the deductible, the account pays 150.00.
    #   S2 100.00: 50.00 completes the deductible, the fund 70% of 50.00 = 35.00, the account 65.00.
    #   S3 200.00: the fund 70% = 140.00, the account 60.00.
    #   Q at level 2 (deductible 400, 60%): 500.00: 400.00 deductible, the fund 60% of 100.00 = 60.00, the
    #   account 440.00.
    # The accounts: 150.00 + 65.00 + 60.00 + 440.00 = 715.00; the fund 35.00 + 140.00 + 60.00 = 235.00.
    assert settle(h1, p, 3, "2025-03-10", "S1")["hifp_pay"] == "0.00"
    assert settle(h1, p, 2, "2025-03-12", "S2")["hifp_pay"] == "35.00"
    assert settle(h1, p, 4, "2025-03-14", "S3")["hifp_pay"] == "140.00"
    assert settle(h2, q, 10, "2025-03-11", "Q1")["hifp_pay"] == "60.00"
    draft_of_jn2024("JN-DRAFT-D100", deductible=Decimal("100.00"))
    # Under the draft (deductible 100 at level 1):
    #   S1 150.00: 100.00 deductible, the fund 70% of 50.00 = 35.00, the account 115.00.
    #   S2 100.00: deductible met, the fund 70.00, the account 30.00.
    #   S3 unchanged: 140.00 and 60.00; Q unchanged (level 2).
    # The accounts 115.00 + 30.00 + 60.00 + 440.00 = 645.00; the fund 35.00 + 70.00 + 140.00 + 60.00 = 305.00.
    answer = run("JN-DRAFT-D100")
    assert answer["settlements"] == 4
    assert answer["actual"] == {"fund_pay_sumamt": "235.00", "hifp_pay": "235.00", "acct_pay": "715.00",
                                "acct_mulaid_pay": "0.00", "psn_cash_pay": "0.00"}
    assert answer["whatif"] == {"fund_pay_sumamt": "305.00", "hifp_pay": "305.00", "acct_pay": "645.00",
                                "acct_mulaid_pay": "0.00", "psn_cash_pay": "0.00"}

    outcome = whatif_replay(version=PolicyVersion.objects.get(code="JN-DRAFT-D100"),
                            region=world["regions"]["370100"], month_from=month_start("2025-03"),
                            month_to=month_start("2025-03"))
    by_level = {key: sums for (dim, key), sums in outcome.cells.items() if dim == "hosp_lv"}
    assert by_level["1"].amount("whatif", "act_pay_dedc") == Decimal("100.00")
    assert by_level["1"].amount("actual", "act_pay_dedc") == Decimal("200.00")
    assert by_level["1"].changed == 2 and by_level["2"].changed == 0
    # Deductible met: by S2 under JN-2024, by S1 under the draft; Q's by Q1 under both.
    assert outcome.total.counts == {"actual": [2, 0], "whatif": [2, 0]}
    top = outcome.most_affected(outcome.persons)
    assert [(pk, s.amount("whatif", "fund_pay_sumamt") - s.amount("actual", "fund_pay_sumamt")) for pk, s in top] \
        == [(p.pk, Decimal("70.00"))]


def test_a_lower_cap_moves_the_excess_to_the_account_then_cash(world):
    h1 = world["facilities"]["JN1"]
    r = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(r, historical="300")
    # Paid under JN-2024 (cap 4,500):
    #   S1 500.00: 200.00 deductible, the fund 70% of 300.00 = 210.00, the account 290.00 (10.00 left).
    #   S2 100.00: the fund 70.00, the account its last 10.00, cash 20.00.
    assert settle(h1, r, 10, "2025-04-01", "R1")["psn_cash_pay"] == "0.00"
    assert settle(h1, r, 2, "2025-04-02", "R2")["psn_cash_pay"] == "20.00"
    draft_of_jn2024("JN-DRAFT-CAP100", annual_cap=Decimal("100.00"))
    # Under a cap of 100: S1 the fund 100.00 of the 210.00 due, personal part 400.00: the account its 300.00,
    # cash 100.00. S2: the cap is used up, the fund 0; the account is empty (the draft drew its last 10.00 in S1):
    # cash 100.00.
    answer = run("JN-DRAFT-CAP100", "2025-04", "2025-04")
    assert answer["actual"] == {"fund_pay_sumamt": "280.00", "hifp_pay": "280.00", "acct_pay": "300.00",
                                "acct_mulaid_pay": "0.00", "psn_cash_pay": "20.00"}
    assert answer["whatif"] == {"fund_pay_sumamt": "100.00", "hifp_pay": "100.00", "acct_pay": "300.00",
                                "acct_mulaid_pay": "0.00", "psn_cash_pay": "200.00"}
    outcome = whatif_replay(version=PolicyVersion.objects.get(code="JN-DRAFT-CAP100"),
                            region=world["regions"]["370100"], month_from=month_start("2025-04"),
                            month_to=month_start("2025-04"))
    # Reaching the cap: S1 under the draft, nobody under JN-2024.
    assert outcome.total.counts["whatif"][1] == 1 and outcome.total.counts["actual"][1] == 0


def test_the_months_before_the_period_count_towards_the_deductible(world):
    h1 = world["facilities"]["JN1"]
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="1000")
    settle(h1, p, 3, "2025-02-10", "F1")  # 150.00 to the deductible (the draft: 100.00, the fund 35.00)
    settle(h1, p, 2, "2025-03-12", "M1")  # 100.00: 50.00 deductible, the fund 35.00 (the draft: 70.00)
    draft_of_jn2024("JN-DRAFT-D100", deductible=Decimal("100.00"))
    answer = run("JN-DRAFT-D100", "2025-03", "2025-03")
    assert answer["settlements"] == 1
    assert (answer["actual"]["fund_pay_sumamt"], answer["whatif"]["fund_pay_sumamt"]) == ("35.00", "70.00")


def test_unknown_version_or_region_exits_1(world):
    with pytest.raises(CommandError) as e:
        run("NOPE")
    assert e.value.returncode == 1
    out = io.StringIO()
    with pytest.raises(CommandError) as e:
        call_command("run_whatif", "--version", "JN-2024", "--admdvs", "999999", "--from", "2025-01", "--to",
                     "2025-02", stdout=out)
    assert e.value.returncode == 1


def test_a_visit_the_version_does_not_settle_is_paid_by_the_account(world):
    h1 = world["facilities"]["JN1"]
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="1000")
    settle(h1, p, 3, "2025-03-10", "S1")  # 150.00: all deductible, the account 150.00
    settle(h1, p, 2, "2025-03-12", "S2")  # 100.00: the fund 35.00, the account 65.00
    draft = draft_of_jn2024("JN-DRAFT-NO-L1")
    BenefitRule.objects.filter(version=draft, med_group=MedGroup.GENERAL, facility_level=FacilityLevel.LEVEL_1).delete()
    # No level-1 rule: both visits refused (NO_BENEFIT_RULE); no fund pays and no deductible counts (S1's 150.00
    # was deductible: it changes too), the account pays 150.00 + 100.00.
    outcome = whatif_replay(version=draft, region=world["regions"]["370100"], month_from=month_start("2025-03"),
                            month_to=month_start("2025-03"))
    total = outcome.total
    assert (total.settlements, total.refused, total.changed) == (2, 2, 2)
    assert total.amount("actual", "fund_pay_sumamt") == Decimal("35.00")
    assert total.amount("whatif", "fund_pay_sumamt") == Decimal("0.00")
    assert total.amount("whatif", "acct_pay") == Decimal("250.00")
    assert total.amount("actual", "acct_pay") == Decimal("215.00")
    assert (total.amount("actual", "act_pay_dedc"), total.amount("whatif", "act_pay_dedc")) == (Decimal("200.00"),
                                                                                                  Decimal("0.00"))
