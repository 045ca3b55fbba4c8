"""Money moved by hand needs two people (issue 11, item 3): corrections and opening balances asked for one by one,
and balances files uploaded by staff, wait pending until a second user with the approving permission approves them
(applied once) or rejects them with a reason; the maker never decides his own."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.adjustments import account_adjustment_approve, account_adjustment_reject, account_adjustment_request
from accounts.credits import credits_run_month
from accounts.errors import AccountError
from accounts.ledger import account_correct, ledger_verify
from accounts.models import AccountAdjustment, EntryKind, LedgerEntry, PersonalAccount
from accounts.roles import roles_sync
from accounts.tests.conftest import contribution, enrollee
from core.approvals import ApprovalError
from core.imports.jobs import import_job_approve, import_job_reject, import_job_submit
from core.models import ImportJob

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _user(username: str, group: str) -> User:
    roles_sync()
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(db):
    return {"officer": _user("officer", "account_officer"), "approver": _user("approver", "money_approver"),
            "approver2": _user("approver2", "money_approver"), "clerk": _user("clerk", "registry_clerk")}


@pytest.fixture
def holder(seeded):
    return enrollee(seeded["310000"], brdy=D(1980, 1, 1)).person


def _balance(person) -> tuple[Decimal, Decimal]:
    account = PersonalAccount.objects.filter(person=person).first()
    return (account.balc_current, account.balc_historical) if account else (Decimal("0.00"), Decimal("0.00"))


def test_a_correction_moves_nothing_until_a_second_person_approves_it_once(people, holder):
    account_correct(person=holder, pocket="historical", amount=Decimal("500.00"), reason="opening, test")
    asked = account_adjustment_request(person=holder, kind="correction", pocket="historical",
                                       amount=Decimal("-120.35"), reason="double credit in 2023",
                                       user=people["officer"])
    assert (asked.status, _balance(holder)) == ("pending", (Decimal("0.00"), Decimal("500.00")))

    with pytest.raises(ApprovalError) as own:
        account_adjustment_approve(adjustment_id=asked.pk, user=people["officer"])
    assert own.value.err_code == "APPROVAL_NOT_ALLOWED"  # the officer has no approving permission at all
    people["officer"].user_permissions.add(*Group.objects.get(name="money_approver").permissions.all())
    officer = User.objects.get(pk=people["officer"].pk)
    with pytest.raises(ApprovalError) as own:
        account_adjustment_approve(adjustment_id=asked.pk, user=officer)
    assert own.value.err_code == "APPROVAL_OWN_REQUEST"  # even with it, never his own
    with pytest.raises(ApprovalError):
        account_adjustment_approve(adjustment_id=asked.pk, user=people["clerk"])
    assert _balance(holder) == (Decimal("0.00"), Decimal("500.00"))

    approved = account_adjustment_approve(adjustment_id=asked.pk, user=people["approver"])
    # 500.00 − 120.35 = 379.65.
    assert _balance(holder) == (Decimal("0.00"), Decimal("379.65"))
    entry = approved.entry
    assert (entry.kind, entry.amount, entry.balance_after, entry.reason, entry.ref_type, entry.ref_id,
            entry.created_by_id) == ("correction", Decimal("-120.35"), Decimal("379.65"), "double credit in 2023",
                                     "account_adjustment", str(asked.pk), people["officer"].pk)
    assert (approved.requested_by, approved.reviewed_by) == (people["officer"], people["approver"])
    assert approved.requested_at <= approved.reviewed_at

    # Applied exactly once: a second approval, by anyone, is refused and posts nothing.
    with pytest.raises(ApprovalError) as again:
        account_adjustment_approve(adjustment_id=asked.pk, user=people["approver2"])
    assert again.value.err_code == "APPROVAL_ALREADY_DECIDED"
    with pytest.raises(ApprovalError):
        account_adjustment_reject(adjustment_id=asked.pk, user=people["approver2"], reason="late")
    assert LedgerEntry.objects.filter(kind=EntryKind.CORRECTION, ref_type="account_adjustment").count() == 1
    assert ledger_verify() == []


def test_a_rejection_needs_a_reason_and_posts_nothing(people, holder):
    asked = account_adjustment_request(person=holder, kind="correction", pocket="current", amount=Decimal("88888.00"),
                                       reason="manual top-up", user=people["officer"])
    with pytest.raises(ApprovalError) as no_reason:
        account_adjustment_reject(adjustment_id=asked.pk, user=people["approver"], reason="  ")
    assert no_reason.value.err_code == "APPROVAL_REASON_REQUIRED"
    rejected = account_adjustment_reject(adjustment_id=asked.pk, user=people["approver"], reason="no evidence")
    assert (rejected.status, rejected.rejection_reason, rejected.reviewed_by, rejected.entry) == (
        "rejected", "no evidence", people["approver"], None)
    with pytest.raises(ApprovalError):
        account_adjustment_approve(adjustment_id=asked.pk, user=people["approver2"])
    assert not LedgerEntry.objects.exists()


def test_an_opening_balance_only_for_an_account_with_nothing_but_opening_balances(people, holder, seeded):
    opening = account_adjustment_request(person=holder, kind="opening_balance", pocket="historical",
                                         amount=Decimal("1234.56"), as_of=D(2024, 6, 30), reason="former system",
                                         user=people["officer"])
    account_adjustment_approve(adjustment_id=opening.pk, user=people["approver"])
    # A second opening of the same pocket is refused; of the other pocket it is accepted (only openings there).
    with pytest.raises(AccountError) as twice:
        account_adjustment_request(person=holder, kind="opening_balance", pocket="historical",
                                   amount=Decimal("1.00"), as_of=D(2024, 6, 30), reason="again", user=people["officer"])
    assert twice.value.err_code == "LIVE_ACCOUNT"
    other = account_adjustment_request(person=holder, kind="opening_balance", pocket="current",
                                       amount=Decimal("20.00"), as_of=D(2024, 6, 30), reason="former system",
                                       user=people["officer"])
    # Meanwhile the account gets its first credit: 10,000 × 2% = 200.00; the approval is refused, nothing posted.
    contribution(holder.enrollments.get(), "2024-07", "10000.00")
    credits_run_month(month=D(2024, 7, 1), admdvs="310000")
    with pytest.raises(AccountError) as live:
        account_adjustment_approve(adjustment_id=other.pk, user=people["approver"])
    assert live.value.err_code == "LIVE_ACCOUNT"
    assert AccountAdjustment.objects.get(pk=other.pk).status == "pending"
    assert _balance(holder) == (Decimal("200.00"), Decimal("1234.56"))
    with pytest.raises(AccountError):
        account_adjustment_request(person=holder, kind="opening_balance", pocket="current", amount=Decimal("5.00"),
                                   as_of=D(2024, 6, 30), reason="late", user=people["officer"])


def test_a_debit_larger_than_the_pocket_is_refused_at_approval(people, holder):
    asked = account_adjustment_request(person=holder, kind="correction", pocket="current", amount=Decimal("-0.01"),
                                       reason="rounding", user=people["officer"])
    with pytest.raises(AccountError) as short:
        account_adjustment_approve(adjustment_id=asked.pk, user=people["approver"])
    assert short.value.err_code == "INSUFFICIENT_BALANCE"
    assert AccountAdjustment.objects.get(pk=asked.pk).status == "pending"


def test_the_database_refuses_a_maker_who_approves_his_own(people, holder):
    asked = account_adjustment_request(person=holder, kind="correction", pocket="current", amount=Decimal("1.00"),
                                       reason="x", user=people["officer"])
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountAdjustment.objects.filter(pk=asked.pk).update(status="rejected", reviewed_by=people["officer"])


def _balances_job(user: User, holder, amount: str) -> ImportJob:
    job = ImportJob(kind="balances")
    job.file.save("b.csv", ContentFile(f"psn_no,pocket,amount,as_of\n{holder.psn_no},historical,{amount},2024-06-30\n"
                                       .encode()), save=False)
    return import_job_submit(job=job, user=user)


def test_a_balances_file_waits_for_approval_then_is_imported_once(people, holder,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        job = _balances_job(people["officer"], holder, "88888.00")
    assert (job.status, queued, PersonalAccount.objects.count()) == ("pending", [], 0)  # nothing queued, read, written
    with pytest.raises(ApprovalError):
        import_job_approve(job_id=job.pk, user=people["clerk"])
    with django_capture_on_commit_callbacks(execute=True) as queued:
        approved = import_job_approve(job_id=job.pk, user=people["approver"])
    assert queued and approved.reviewed_by == people["approver"]
    job.refresh_from_db()
    assert (job.status, job.created, job.started_by, job.reviewed_by) == (
        "done", 1, people["officer"], people["approver"])
    assert _balance(holder) == (Decimal("0.00"), Decimal("88888.00"))
    with django_capture_on_commit_callbacks(execute=True) as queued, pytest.raises(ApprovalError):
        import_job_approve(job_id=job.pk, user=people["approver2"])
    assert queued == [] and LedgerEntry.objects.count() == 1

    rejected_job = _balances_job(people["officer"], holder, "99.00")
    import_job_reject(job_id=rejected_job.pk, user=people["approver"], reason="wrong file")
    rejected_job.refresh_from_db()
    assert (rejected_job.status, rejected_job.rejection_reason, rejected_job.finished) == (
        "rejected", "wrong file", True)
    assert LedgerEntry.objects.count() == 1


def test_dry_runs_and_other_kinds_need_no_approval(people, holder, django_capture_on_commit_callbacks):
    job = ImportJob(kind="balances", dry_run=True)
    job.file.save("b.csv", ContentFile(f"psn_no,pocket,amount,as_of\n{holder.psn_no},historical,1,2024-06-30\n"
                                       .encode()), save=False)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        import_job_submit(job=job, user=people["officer"])
    job.refresh_from_db()
    assert (len(queued), job.status, LedgerEntry.objects.count()) == (1, "done", 0)


def test_the_admin_pages_of_approvals(people, holder, seeded, django_capture_on_commit_callbacks):
    officer, approver = _client(people["officer"]), _client(people["approver"])
    add = reverse("admin:accounts_accountadjustment_add")
    assert officer.get(add).status_code == 200
    assert _client(people["clerk"]).get(add).status_code == 403
    assert approver.get(add).status_code == 403  # the approver moves no money himself
    response = officer.post(add, {"person": holder.psn_no, "kind": "correction", "pocket": "current",
                                  "amount": "12.30", "reason": "refund of a wrong debit"})
    assert response.status_code == 302
    asked = AccountAdjustment.objects.get()
    page = reverse("admin:accounts_accountadjustment_change", args=[asked.pk])
    assert "Approve and post" not in officer.get(page).content.decode()  # his own: no buttons
    assert "Approve and post" in approver.get(page).content.decode()
    listing = approver.get(reverse("admin:accounts_accountadjustment_changelist")).content.decode()
    assert "refund of a wrong debit" not in listing and holder.psn_no in listing  # the pending request is listed
    assert officer.post(reverse("admin:accounts_accountadjustment_approve", args=[asked.pk])).status_code == 302
    assert AccountAdjustment.objects.get().status == "pending"  # refused: his own
    approver.post(reverse("admin:accounts_accountadjustment_approve", args=[asked.pk]))
    assert _balance(holder) == (Decimal("12.30"), Decimal("0.00"))
    decided = approver.get(reverse("admin:accounts_accountadjustment_changelist") + "?status=approved")
    assert holder.psn_no in decided.content.decode()
    assert holder.psn_no not in approver.get(reverse("admin:accounts_accountadjustment_changelist")).content.decode()

    # The ledger's import button: the preview validates, confirming hands the file to a pending import job.
    newcomer = enrollee(seeded["310000"], brdy=D(1990, 1, 1)).person
    url = reverse("admin:accounts_ledgerentry_import")
    content = (f"psn_no,pocket,amount,as_of\n{newcomer.psn_no},historical,50.00,2024-06-30\n"
               f"{holder.psn_no},historical,50.00,2024-06-30\n").encode()
    refused = officer.post(url, {"format": "0", "resource": "0", "import_file": SimpleUploadedFile("b.csv", content)})
    # The holder's account has a correction by hand now (12.30): live, so the preview refuses its row.
    assert "no opening balance for a live account" in refused.content.decode()
    content = f"psn_no,pocket,amount,as_of\n{newcomer.psn_no},historical,50.00,2024-06-30\n".encode()
    preview = officer.post(url, {"format": "0", "resource": "0", "import_file": SimpleUploadedFile("b.csv", content)})
    assert preview.status_code == 200, preview.content.decode()[:2000]
    confirm = preview.context["confirm_form"].initial
    done = officer.post(reverse("admin:accounts_ledgerentry_process_import"), confirm)
    job = ImportJob.objects.get()
    assert (done.status_code, done["Location"], job.status, job.started_by) == (
        302, reverse("admin:core_importjob_change", args=[job.pk]), "pending", people["officer"])
    assert _balance(newcomer) == (Decimal("0.00"), Decimal("0.00"))  # nothing imported yet
    job_page = approver.get(reverse("admin:core_importjob_change", args=[job.pk])).content.decode()
    assert "Approve and import" in job_page
    with django_capture_on_commit_callbacks(execute=True):
        approver.post(reverse("admin:core_importjob_approve", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created, job.reviewed_by) == ("done", 1, people["approver"])
    assert _balance(newcomer) == (Decimal("0.00"), Decimal("50.00"))
    pending = approver.get(reverse("admin:core_importjob_changelist") + "?status__exact=pending")
    assert pending.status_code == 200


def test_import_csv_on_the_server_applies_at_once_recorded_with_its_operator(holder, tmp_path):
    import io

    from django.core.management import call_command

    path = tmp_path / "b.csv"
    path.write_text(f"psn_no,pocket,amount,as_of\n{holder.psn_no},historical,300.00,2024-06-30\n")
    out = io.StringIO()
    call_command("import_csv", "balances", str(path), "--operator", "ops:zhang", stdout=out)
    assert out.getvalue() == "balances: created 1, updated 0, unchanged 0\n"
    assert _balance(holder) == (Decimal("0.00"), Decimal("300.00"))  # no approval for the operators' tool
    job = ImportJob.objects.get()
    assert (job.kind, job.status, job.operator, job.started_by, job.created, job.rows_written) == (
        "balances", "done", "ops:zhang", None, 1, 1)
