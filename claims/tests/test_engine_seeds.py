"""The engine on the rules issue 15 added, computed by hand from CONTRACT.md's numbers: items no account may ever pay
(`acct_pay_forbidden`), rates lowered for an unfiled visit in another region, the pockets of a benefit year already
rolled over, and JN-R-2024's resident terms (no account, level 3 paying nothing, one cap of 300)."""

from decimal import Decimal as D

from claims.engine import CLASS_A, HISTORICAL, STEP_LINES, STEP_OWN_ACCOUNT, EngineOptions, LineIn
from claims.tests.test_engine import JN, SH, a, expect, jn, pockets, relative, settle
from policies.selectors import BenefitTerms


def forbidden(code: str, qty: str, price: str) -> LineIn:
    """A class A item outside basic medical insurance altogether (CONTRACT.md `items` `acct_pay_forbidden`)."""
    return LineIn(code, D(qty), D(price), CLASS_A, D("0"), None, acct_pay_forbidden=True)


def step(result, code):  # noqa: ANN001, ANN201
    return next(s for s in result.steps if s.code == code)


# --- items no account may ever pay -----------------------------------------------------------------------------

def test_a_forbidden_item_is_out_of_scope_and_paid_in_cash_by_neither_the_own_account_nor_mutual_aid():
    """JN-2024 in-service, level 1 (deductible 200 already met, 70%): a 100.00 consultation and a 60.00 fitness
    item marked acct_pay_forbidden. In scope 100.00, out of scope 60.00 (class A, but forbidden); the fund pays
    70% of 100.00 = 70.00; the personal part 90.00 = 30.00 of the consultation + 60.00. The own account (10.00)
    pays 10.00, the relative's (500.00) the 20.00 left of what accounts may pay; cash pays the 60.00."""
    result = settle([a("CONSULT", "1", "100"), forbidden("GYM", "1", "60")], jn("in_service", "1"), JN,
                    dedc_used="200", own=pockets(historical="10"),
                    payers=(relative("R1", historical="500", allowed=("current", HISTORICAL)),))
    expect(result, medfee_sumamt="160.00", fulamt_ownpay_amt="60.00", inscp_scp_amt="100.00", act_pay_dedc="0.00",
           hifp_pay="70.00", psn_part_amt="90.00", acct_pay="10.00", acct_mulaid_pay="20.00", psn_cash_pay="60.00")
    assert [line.acct_pay_forbidden for line in result.lines] == [False, True]
    lines = step(result, STEP_LINES)
    assert dict(lines.detail)["acct_pay_forbidden"] == D("60.00")
    assert "GYM" in str(lines.label) and "60.00" in str(lines.label)
    assert dict(step(result, STEP_OWN_ACCOUNT).detail)["reserved_for_cash"] == D("60.00")


def test_the_current_year_pocket_never_touches_a_forbidden_item():
    """SH-2023-07 in-service, level 1 (deductible 500, 80%): in scope 100.00, forbidden 60.00; current pocket 30.00,
    historical 500.00. The current pocket pays 30.00 of the in-scope cost first; the other 70.00 goes to the
    deductible; the fund pays nothing. Personal part 160.00: own account 30.00 + 70.00 (historical) = 100.00,
    cash 60.00."""
    result = settle([a("CONSULT", "1", "100"), forbidden("MASSAGE", "2", "30")], _sh_in_service_level_1(), SH,
                    own=pockets(current="30", historical="500"))
    expect(result, medfee_sumamt="160.00", fulamt_ownpay_amt="60.00", act_pay_dedc="70.00", hifp_pay="0.00",
           acct_pay="100.00", acct_mulaid_pay="0.00", psn_cash_pay="60.00", balc="430.00")


def test_with_accounts_barred_from_all_out_of_scope_cost_a_forbidden_item_counts_once():
    """A policy whose accounts may not pay any out-of-scope cost: class C 40.00 and forbidden 60.00 are both kept
    for cash (100.00), not 160.00."""
    options = EngineOptions(current_pocket_first=False, acct_pays_out_of_scope=False)
    result = settle([a("CONSULT", "1", "100"), forbidden("GYM", "1", "60"),
                     LineIn("C1", D("1"), D("40"), "03")], jn("in_service", "1"), options,
                    dedc_used="200", own=pockets(historical="1000"))
    expect(result, fulamt_ownpay_amt="100.00", hifp_pay="70.00", acct_pay="30.00", psn_cash_pay="100.00")


def _sh_in_service_level_1() -> BenefitTerms:
    return BenefitTerms(version_code="SH-2023-07", fund_pays=True, med_group="general", bucket="general",
                        enrollee_class="in_service", facility_level="1", deductible=D("500"), rate=D("0.80"))


def test_debits_name_only_the_pockets_that_paid():
    result = settle([forbidden("GYM", "1", "60")], jn("in_service", "1"), JN, own=pockets(historical="100"))
    expect(result, acct_pay="0.00", psn_cash_pay="60.00")
    assert result.debits == ()
