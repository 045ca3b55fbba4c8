"""The statements' admin: the list without N+1, the page with lines, deductions, trail, the applications beside the
system's figures and the audit state; review and approval as actions of the clearing officer role, never both by
one user."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.roles import roles_sync
from clearing.models import Statement
from clearing.services import clearing_application_record
from clearing.statements import statements_build
from clearing.tests.test_services_application import data
from clearing.tests.test_statements import MARCH, month  # noqa: F401  (fixture)


def officer(name: str) -> Client:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="clearing_officer"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def officers(month):  # noqa: F811
    roles_sync()
    return officer("officer1"), officer("officer2")


def test_list_page_and_the_maker_checker_actions(month, officers, django_assert_max_num_queries):  # noqa: F811
    statements_build(month=MARCH)
    clearing_application_record(facility=month["facility"], msgid="m1", data=data())
    statement = Statement.objects.get()
    first, second = officers
    with django_assert_max_num_queries(12):
        page = first.get(reverse("admin:clearing_statement_changelist"))
    assert page.status_code == 200 and "884.00" in page.content.decode()
    detail = first.get(reverse("admin:clearing_statement_change", args=[statement.pk])).content.decode()
    # Applied 560.00 of fund payments against the system's 910.00: −350.00.
    assert "M03900" in detail and "560.00" in detail and "-350.00" in detail
    assert "not audited" in detail and "1 application(s) not cancelled" in detail

    url = reverse("admin:clearing_statement_changelist")
    first.post(url, {"action": "review_selected", "_selected_action": [statement.pk]})
    # The reviewer's own approval is refused with the service's message (ClearingError.err_msg), in the reader's
    # language.
    refused = first.post(url, {"action": "approve_selected", "_selected_action": [statement.pk]}, follow=True)
    assert f"You reviewed {statement}: another user must approve it" in refused.content.decode()  # capfirst
    first.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # chosen with the language switch
    first.post(url, {"action": "approve_selected", "_selected_action": [statement.pk]})
    page = first.get(url).content.decode()
    del first.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert f"{statement} 由您审核：须由其他用户批准" in page
    statement.refresh_from_db()
    assert statement.status == "reviewed"
    second.post(url, {"action": "approve_selected", "_selected_action": [statement.pk]})
    statement.refresh_from_db()
    assert (statement.status, statement.reviewed_by.username, statement.approved_by.username) == (
        "approved", "officer1", "officer2")


def test_a_reader_cannot_review(month):  # noqa: F811
    roles_sync()
    statements_build(month=MARCH)
    user = User.objects.create_user("reader", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="read_only"))
    client = Client()
    client.force_login(user)
    statement = Statement.objects.get()
    client.post(reverse("admin:clearing_statement_changelist"),
                {"action": "review_selected", "_selected_action": [statement.pk]})
    statement.refresh_from_db()
    assert statement.status == "draft"


def test_a_review_batch_through_the_admin(month, officers):  # noqa: F811
    from clearing.models import Deduction, ReviewBatch

    statements_build(month=MARCH)
    first, _second = officers
    b = month["settlements"]["B"]
    page = first.post(reverse("admin:clearing_reviewbatch_add"), {
        "region": month["region"].pk, "month": "2025-03-15", "selection": "manual", "setl_ids": b.setl_id,
        "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0"})
    assert page.status_code == 302
    batch = ReviewBatch.objects.get()
    assert (batch.month, batch.created_by.username) == (MARCH, "officer1")
    item = batch.items.get()
    assert first.get(reverse("admin:clearing_reviewbatch_change", args=[batch.pk])).status_code == 200
    url = reverse("admin:clearing_reviewitem_decide", args=[item.pk])
    [line] = b.lines.all()
    assert b.setl_id in first.get(url).content.decode()
    refused = first.post(url, {f"l{line.pk}-decision": "refuse", f"l{line.pk}-refused_amount": "",
                               f"l{line.pk}-reason": ""})
    assert "the refused amount must be above 0" in refused.content.decode()
    assert first.post(url, {f"l{line.pk}-decision": "refuse", f"l{line.pk}-refused_amount": "150.00",
                            f"l{line.pk}-reason": "over-treatment"}).status_code == 302
    first.post(reverse("admin:clearing_reviewbatch_changelist"),
               {"action": "close_selected", "_selected_action": [batch.pk]})
    # 150.00 × 70.00 / 300.00 = 35.00
    assert list(Deduction.objects.values_list("amount", "statement__month")) == [(Decimal("35.00"), MARCH)]
