"""Demo clearing for `seed_demo` (issue 14, item 7): primary-care signings, a closed claim review, bank accounts and
the statements of the demo's last full month of settlements, so that every clearing page has data. Everything goes
through the services, as staff would do it; run once (a second `seed_demo` adds nothing).

The month is October 2026, the last full month of the demo's settlements (`core.demo.SERVICE_TO`). Jinan's statements
are reviewed by the clearing officer, approved by another user and paid in a payment file; Shanghai's first statement
is reviewed and the others stay drafts, so the statement list shows each state. One line in three of the reviewed
settlements that the fund paid for is refused in part, which leaves deductions on the statements.
"""

import datetime
import random

from django.contrib.auth.models import User
from simple_history.utils import bulk_create_with_history

from accounts.models import Enrollment
from claims.models import Facility, Settlement, SettlementStatus
from clearing.audit import audit_month
from clearing.models import BankAccount, Decision, ReviewBatch, ReviewSelection, Signing, Statement
from clearing.paying import payment_file_create
from clearing.review import review_batch_close, review_batch_create, review_decide
from clearing.statements import statement_approve, statement_review, statements_build
from core.demo import FACILITIES, SERVICE_TO
from core.money import fen
from policies.models import InsuType, Region

DEMO_CLEARING_MONTH = SERVICE_TO.replace(day=1)
SIGNED_FROM = datetime.date(2026, 1, 1)
SIGNED_SHARE = 4  # one employee enrollee in four of each region signs with its level-1 hospital


def demo_clearing_exists() -> bool:
    return Statement.objects.filter(month=DEMO_CLEARING_MONTH,
                                    facility__fixmedins_code__in=[row[0] for row in FACILITIES]).exists()


def _signings_create() -> int:
    """One employee enrollee in four of each region signed with its level-1 demo hospital from 2026-01-01 (Jinan's
    JN-2024 pays that hospital's general outpatient by capitation; Shanghai itemises everything)."""
    signings = []
    for facility in Facility.objects.filter(fixmedins_code__in=[row[0] for row in FACILITIES], hosp_lv="1",
                                            fixmedins_type="1").order_by("pk"):
        people = (Enrollment.objects.filter(region_id=facility.region_id, insutype=InsuType.EMPLOYEE)
                  .exclude(person__signings__isnull=False).order_by("pk").values_list("person_id", flat=True))
        signings += [Signing(person_id=pk, facility=facility, begndate=SIGNED_FROM)
                     for n, pk in enumerate(people) if n % SIGNED_SHARE == 0]
    bulk_create_with_history(signings, Signing, batch_size=1000)
    return len(signings)


def _bank_accounts_create() -> None:
    for n, facility in enumerate(Facility.objects.filter(fixmedins_code__in=[row[0] for row in FACILITIES])
                                 .exclude(bank_account__isnull=False).order_by("fixmedins_code"), start=1):
        BankAccount.objects.create(facility=facility, bank_name="中国工商银行（演示）",
                                   account_name=facility.fixmedins_name, account_no=f"62220200{n:08d}")


def _review(region: Region, reviewer: User) -> ReviewBatch | None:
    """A random half of the region's month, seeded; one line in three the fund paid for refused in part."""
    live = Settlement.objects.filter(facility__region=region, status=SettlementStatus.SETTLED,
                                     setl_date__range=(DEMO_CLEARING_MONTH, SERVICE_TO)).count()
    if not live:
        return None
    # Half of them; all of a month of one settlement (half of one rounds to none).
    batch = review_batch_create(region=region, month=DEMO_CLEARING_MONTH, selection=ReviewSelection.RANDOM,
                                user=reviewer, share=fen("0.5" if live > 1 else "1"), seed=20261001)
    rng = random.Random(20261001)
    for item in batch.items.select_related("settlement").prefetch_related("settlement__lines").order_by("pk"):
        for line in item.settlement.lines.order_by("pk"):
            if item.settlement.fund_pay_sumamt and line.inscp_scp_amt and rng.random() < 1 / 3:
                review_decide(item=item, line=line, decision=Decision.REFUSE, user=reviewer,
                              refused_amount=fen(line.amount / 2) or line.amount,
                              reason="超量开药（演示）")
            else:
                review_decide(item=item, line=line, decision=Decision.ACCEPT, user=reviewer)
    review_batch_close(batch=batch, user=reviewer)
    return batch


def demo_clearing_create(*, officer: User, approver: User) -> dict[str, int] | None:
    """Signings, bank accounts, a closed review batch per region, the statements of October 2026 (Jinan's paid,
    Shanghai's one reviewed and the rest drafts) and the month's re-adjudication audit; None when done already."""
    if demo_clearing_exists():
        return None
    signings = _signings_create()
    _bank_accounts_create()
    regions = {r.admdvs: r for r in Region.objects.filter(admdvs__in=["310000", "370100"])}
    statements_build(month=DEMO_CLEARING_MONTH)
    batches = [batch for batch in (_review(region, officer) for region in regions.values()) if batch]
    statements_build(month=DEMO_CLEARING_MONTH)
    shanghai = Statement.objects.filter(month=DEMO_CLEARING_MONTH, facility__region=regions["310000"]).order_by(
        "facility__fixmedins_code").first()
    if shanghai is not None:
        statement_review(statement=shanghai, user=officer)
    jinan = list(Statement.objects.filter(month=DEMO_CLEARING_MONTH, facility__region=regions["370100"]))
    for statement in jinan:
        statement_approve(statement=statement_review(statement=statement, user=officer), user=approver)
    paid = 0
    if jinan:
        paid = payment_file_create(region=regions["370100"], month=DEMO_CLEARING_MONTH, user=officer).statements_count
    audit = audit_month(month=DEMO_CLEARING_MONTH, user=officer)
    return {"signings": signings, "review batches": len(batches),
            "statements": Statement.objects.filter(month=DEMO_CLEARING_MONTH).count(), "paid": paid,
            "audited": audit.checked}
