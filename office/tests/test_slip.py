"""The printable settlement slip (结算单): its content from the hand-computed book (reports/tests/conftest.py) and
the PDF the settlement's page links to, the ID number masked for a reader."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from claims.models import Settlement
from claims.slips import settlement_slip
from core.certno import certno_mask
from reports.tests.conftest import user_in

pytestmark = pytest.mark.django_db


def test_the_slip_says_who_paid_what(book: dict) -> None:
    d = Settlement.objects.select_related("person", "facility", "policy_version").get(setl_id=book["d"]["setl_id"])
    slip = settlement_slip(d, full_certno=False)
    facts = dict(slip.facts)
    assert facts["ID number"] == certno_mask(d.person.certno)
    assert facts["policy version"] == "SH-2023-07"
    # d: 20 × A50 at 50.00 = 1,000.00; deductible 500.00; pooled fund 70% × 500.00 = 350.00; cash 650.00.
    assert slip.lines == [("A50", slip.lines[0][1], "20", "50.00", "1,000.00")]
    assert dict(slip.amounts) == {
        "total": Decimal("1000.00"), "in-scope amount": Decimal("1000.00"), "deductible paid": Decimal("500.00"),
        "pooled fund": Decimal("350.00"), "local supplementary fund": Decimal("0.00"),
        "own account": Decimal("0.00"), "relatives' accounts": Decimal("0.00"), "cash": Decimal("650.00")}
    assert slip.reversed_note == ""


def test_a_reversed_settlement_s_slip_says_so(book: dict) -> None:
    h = Settlement.objects.select_related("person", "facility").get(setl_id=book["h"]["setl_id"])
    assert settlement_slip(h, full_certno=True).reversed_note.endswith(": duplicate")


def test_the_settlement_page_links_to_its_slip_as_a_pdf(book: dict) -> None:
    reader = Client()
    reader.force_login(user_in("read_only", "reader"))
    d = Settlement.objects.get(setl_id=book["d"]["setl_id"])
    url = reverse("admin:claims_settlement_slip", args=[d.pk])
    assert url in reader.get(reverse("admin:claims_settlement_change", args=[d.pk])).content.decode()
    response = reader.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and b"STSong-Light" in response.content
    assert reader.get(reverse("admin:claims_settlement_slip", args=[999999])).status_code == 404


def test_no_slip_without_the_view_permission(book: dict) -> None:
    # Every role views settlements (VIEW_ALL), so the case is a staff member with no role: no settlement list and no
    # slip (the role-matrix test covers the roles).
    clerk = Client()
    clerk.force_login(User.objects.create_user("newcomer", password="pw", is_staff=True))
    d = Settlement.objects.get(setl_id=book["d"]["setl_id"])
    assert clerk.get(reverse("admin:claims_settlement_changelist")).status_code == 403
    assert clerk.get(reverse("admin:claims_settlement_slip", args=[d.pk])).status_code in (403, 404)


def test_the_slip_labels_the_person_s_name_as_a_person_s(book: dict) -> None:
    """In Chinese a person's name is 姓名; 名称 is a thing's (a facility's, an item's)."""
    d = Settlement.objects.select_related("person", "facility", "policy_version").get(setl_id=book["d"]["setl_id"])
    with translation.override("zh-hans"):
        facts = dict(settlement_slip(d, full_certno=False).facts)
    assert facts["姓名"] == d.person.psn_name and "名称" not in facts
