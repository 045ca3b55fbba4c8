"""The account income-and-spending report follows the ledger without a rebuild by hand: a month's summary holds the
entries written before the end of the last closed day, and the report adds those written since, read live; the
night's sweep moves them into the summary, and the figures neither change nor count an entry twice.

The figures are conftest's book (March 2025, Jinan): p1's credit 200.00 (2% of 10,000.00), p2's retired credit
80.00, p5's pharmacy purchase e 100.00 from the own account (h 200.00 and its reversal net to nothing), and f
150.00 paid from the holder's account for the child (mutual aid)."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from claims.models import Settlement
from claims.services import settlement_reverse
from reports.definitions import REPORTS, report_run
from reports.models import AccountFlow, RebuildTrigger, SummaryRebuild
from reports.summaries import account_flows_live, account_flows_rebuild, closed_days_end
from reports.tasks import account_flows_rebuild_task
from reports.tests.conftest import D, settle

pytestmark = pytest.mark.django_db
M = Decimal
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MARCH = D(2025, 3, 1)


def flows(month: str = "2025-03") -> tuple[dict, dict, list[str]]:
    form, result = report_run(REPORTS["account-flows"], {"month": month, "region": "370100"})
    assert result is not None, form.errors
    rows = {(r["direction"], r["kind"]): (r["entries"], r["income"], r["spending"]) for r in result.rows}
    return rows, result.totals, result.notes


BOOK = {
    ("income", "credit_in_service"): (1, M("200.00"), M("0.00")),
    ("income", "credit_retired"): (1, M("80.00"), M("0.00")),
    ("spending", "settlement"): (1, M("0.00"), M("100.00")),
    ("spending", "mulaid_settlement"): (1, M("0.00"), M("150.00")),
}


def test_the_closed_day_ends_at_shanghai_midnight_a_quarter_of_an_hour_on() -> None:
    at = datetime.datetime(2026, 12, 1, 0, 20, tzinfo=SHANGHAI)
    assert closed_days_end(at) == datetime.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    # 00:10: the day before may still be committing its last writes; the summary stops a day earlier.
    assert closed_days_end(at - datetime.timedelta(minutes=10)) == datetime.datetime(2026, 11, 30, tzinfo=SHANGHAI)


def test_the_report_follows_settlements_and_reversals_live_and_the_sweep_sums_them_once(book: dict,
                                                                                       world: dict) -> None:
    # Nothing summarised yet: the report says so and shows nothing (missing, not zero).
    rows, _totals, notes = flows()
    assert rows == {} and notes == ["Not rebuilt yet for these months: run the rebuild."]

    # Summarised up to the end of yesterday: every entry of the book was written today, so the summary is empty and
    # the report reads all of them live, to the fen.
    rebuild = account_flows_rebuild(month=MARCH)
    assert (rebuild.rows, rebuild.through) == (0, closed_days_end())
    assert not AccountFlow.objects.filter(month=MARCH).exists()
    rows, totals, notes = flows()
    assert rows == BOOK
    assert (totals["income"], totals["spending"]) == (M("280.00"), M("250.00"))
    assert "read live from the ledger" in notes[-1]

    # A settlement now, then its reversal: the report follows each at once. p5 buys at the pharmacy again:
    # 2 × 50.00 = 100.00, all from the own account (200.00 left after e and h's reversal).
    answer = settle(world["facilities"]["JNP"], book["persons"]["p5"].psn_no, ("A50", "2", "50"), med_type="41",
                    setl_date="2025-03-28", medins_setl_id="LIVE")
    assert M(answer["acct_pay"]) == M("100.00")
    rows, totals, _notes = flows()
    assert rows[("spending", "settlement")] == (2, M("0.00"), M("200.00"))
    assert totals["spending"] == M("350.00")
    settlement_reverse(settlement=Settlement.objects.get(setl_id=answer["setl_id"]), reason="test")
    rows, totals, _notes = flows()
    assert rows == BOOK and totals["spending"] == M("250.00")

    # The night's sweep (02:00 tomorrow): March was written to today, so it is summed again up to tomorrow's
    # midnight; the figures are the same, now from the summary alone, and nothing is left to read live.
    tomorrow = datetime.datetime.combine(timezone.localdate() + datetime.timedelta(days=1), datetime.time(2),
                                         tzinfo=SHANGHAI)
    with time_machine.travel(tomorrow, tick=False):
        account_flows_rebuild_task()
        swept = SummaryRebuild.objects.filter(table="account_flows", trigger=RebuildTrigger.SCHEDULE)
        assert {r.month for r in swept} >= {MARCH, tomorrow.date().replace(day=1)}
        march = swept.get(month=MARCH)
        assert (march.rebuilt_by, march.through) == (None, datetime.datetime.combine(tomorrow.date(), datetime.time(),
                                                                                    tzinfo=SHANGHAI))
        assert account_flows_live({MARCH: march.through}) == []
        rows, totals, notes = flows()
        assert rows == BOOK and (totals["income"], totals["spending"]) == (M("280.00"), M("250.00"))
        assert "nightly schedule" in notes[-1]
        # Summed in the summary: the credit 200.00 once, the settlement row net of both reversals.
        settled = AccountFlow.objects.get(month=MARCH, kind="settlement", region__admdvs="370100")
        assert (settled.entries, settled.amount) == (1, M("-100.00"))
        # A second sweep the same night finds March already summed that far and leaves it alone.
        before = SummaryRebuild.objects.count()
        account_flows_rebuild_task()
        assert SummaryRebuild.objects.count() == before


def test_a_month_summarised_by_hand_counts_what_was_written_before_and_reads_the_rest_live(book: dict) -> None:
    """Summarised up to now (as the tests and `reports_rebuild` over a quiet ledger may): the summary holds the book
    and the live part is empty; the report's figures are the book's either way."""
    rebuild = account_flows_rebuild(month=MARCH, through=timezone.now(), trigger=RebuildTrigger.COMMAND)
    assert rebuild.rows == 4  # the two credits, the settlement and the mutual-aid payment (d was paid in cash)
    assert account_flows_live({MARCH: rebuild.through}) == []
    rows, _totals, notes = flows()
    assert rows == BOOK and "server command" in notes[-1]
