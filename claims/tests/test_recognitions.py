"""Chronic-disease recognition as a workflow (Shandong 二(三)): application with the criteria and the evidence,
approval or refusal by a second user, the validity period, renewal, withdrawal; and the admin pages that drive it."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.roles import roles_sync
from accounts.tests.factories import PersonFactory, RegionFactory
from claims.errors import ClaimError
from claims.models import Recognition, RecognitionSource, RecognitionStatus
from claims.recognitions import (
    months_later,
    recognition_apply,
    recognition_cancel,
    recognition_decide,
    recognition_renew,
)
from claims.tests.factories import DiseaseFactory, FacilityFactory, RecognitionFactory
from claims.ties import person_tied

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def case(db):
    region = RegionFactory(admdvs="370100", name="济南市")
    return {
        "person": PersonFactory(psn_no="P1", psn_name="李娜"),
        "disease": DiseaseFactory(opsp_dise_code="M03900", opsp_dise_name="高血压",
                                  recognition_criteria="非同日三次血压 ≥140/90 mmHg", recognition_valid_months=24),
        "facility": FacilityFactory(fixmedins_code="H1", region=region, hosp_lv="2"),
        "maker": User.objects.create_user("maker", is_staff=True),
        "checker": User.objects.create_user("checker", is_staff=True),
    }


def apply(case, **kw) -> Recognition:
    args = {"person": case["person"], "disease": case["disease"], "facility": case["facility"],
            "begndate": D(2025, 3, 1), "evidence": "血压 150/95、148/92、152/96", "user": case["maker"], **kw}
    return recognition_apply(**args)


def test_months_later_keeps_the_day_or_takes_the_months_last():
    assert months_later(D(2025, 3, 1), 24) == D(2027, 3, 1)
    assert months_later(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert months_later(D(2025, 11, 15), 3) == D(2026, 2, 15)


def test_an_application_keeps_the_criteria_and_counts_only_once_a_second_user_approves_it(case):
    application = apply(case)
    assert (application.status, application.source, application.criteria, application.applied_by) == (
        RecognitionStatus.APPLIED, RecognitionSource.STAFF, "非同日三次血压 ≥140/90 mmHg", case["maker"])
    assert not Recognition.objects.valid_on(D(2025, 3, 10)).exists()
    assert not person_tied(facility_id=case["facility"].pk, person_id=case["person"].pk, today=D(2025, 3, 10))
    with pytest.raises(ClaimError, match="another user"):
        recognition_decide(recognition=application, user=case["maker"], approve=True)
    approved = recognition_decide(recognition=application, user=case["checker"], approve=True, note="符合标准")
    # 24 months from 2025-03-01: to 2027-02-28.
    assert (approved.status, approved.begndate, approved.enddate, approved.decided_by, approved.decision_note) == (
        RecognitionStatus.APPROVED, D(2025, 3, 1), D(2027, 2, 28), case["checker"], "符合标准")
    assert list(Recognition.objects.valid_on(D(2027, 2, 28))) == [approved]
    assert not Recognition.objects.valid_on(D(2027, 3, 1)).exists()
    assert approved.expired_on(D(2027, 3, 1))
    assert person_tied(facility_id=case["facility"].pk, person_id=case["person"].pk, today=D(2025, 3, 10))
    # The history records who applied and who decided.
    assert [(h.history_type, h.status, h.history_user) for h in approved.history.order_by("history_id")] == [
        ("+", "applied", case["maker"]), ("~", "approved", case["checker"])]
    with pytest.raises(ClaimError, match="already decided"):
        recognition_decide(recognition=approved, user=case["checker"], approve=False, note="x")


def test_a_refusal_needs_its_reason_and_frees_the_period_for_a_new_application(case):
    application = apply(case)
    with pytest.raises(ClaimError, match="reason"):
        recognition_decide(recognition=application, user=case["checker"], approve=False)
    with pytest.raises(ClaimError, match="already has a recognition or application"):
        apply(case, begndate=D(2025, 6, 1))
    refused = recognition_decide(recognition=application, user=case["checker"], approve=False,
                                 note="血压记录不足三次非同日")
    assert refused.status == RecognitionStatus.REFUSED
    again = apply(case)  # the same key: a refused application does not hold it
    assert again.status == RecognitionStatus.APPLIED and again.pk != refused.pk


def test_an_application_needs_evidence_and_a_designated_medical_institution(case):
    with pytest.raises(ClaimError, match="evidence"):
        apply(case, evidence="  ")
    pharmacy = FacilityFactory(fixmedins_code="P1", fixmedins_type="2", hosp_lv="")
    with pytest.raises(ClaimError, match="pharmacy"):
        apply(case, facility=pharmacy)
    with pytest.raises(ClaimError) as not_designated:
        apply(case, begndate=case["facility"].begndate - datetime.timedelta(days=1))
    assert not_designated.value.err_code == ClaimError.FACILITY_NOT_DESIGNATED


def test_renewal_applies_for_the_following_period(case):
    approved = recognition_decide(recognition=apply(case), user=case["checker"], approve=True,
                                  enddate=D(2025, 12, 31))
    renewal = recognition_renew(recognition=approved, evidence="复查血压 145/92", user=case["maker"])
    assert (renewal.status, renewal.begndate, renewal.renewal_of) == (RecognitionStatus.APPLIED, D(2026, 1, 1),
                                                                     approved)
    # 24 months from 2026-01-01: to 2027-12-31.
    renewed = recognition_decide(recognition=renewal, user=case["checker"], approve=True)
    assert renewed.enddate == D(2027, 12, 31)
    with pytest.raises(ClaimError, match="already has"):
        recognition_renew(recognition=approved, evidence="again", user=case["maker"])
    open_ended = RecognitionFactory(person=case["person"], disease=case["disease"], begndate=D(2020, 1, 1))
    with pytest.raises(ClaimError, match="end date"):
        recognition_renew(recognition=open_ended, evidence="x")


def test_a_withdrawn_application_is_cancelled_once(case):
    application = apply(case)
    cancelled = recognition_cancel(recognition=application, note="申请人撤回", user=case["maker"])
    assert cancelled.status == RecognitionStatus.CANCELLED
    with pytest.raises(ClaimError) as twice:
        recognition_cancel(recognition=application, note="again")
    assert twice.value.err_code == ClaimError.ALREADY_REVERSED


# --- the admin ----------------------------------------------------------------------------------------------------

def _client(username: str) -> tuple[User, Client]:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="registry_clerk"))
    client = Client()
    client.force_login(user)
    return user, client


def test_two_clerks_apply_and_approve_through_the_admin(case):
    roles_sync()
    maker, maker_client = _client("clerk1")
    checker, checker_client = _client("clerk2")
    add = reverse("admin:claims_recognition_add")
    assert maker_client.get(add).status_code == 200
    response = maker_client.post(add, {"person": "P1", "disease": case["disease"].pk, "facility": "H1",
                                       "begndate": "2025-03-01", "enddate": "", "evidence": "血压 150/95"})
    assert response.status_code == 302, response.content.decode()
    application = Recognition.objects.get()
    assert (application.status, application.applied_by) == (RecognitionStatus.APPLIED, maker)
    page = maker_client.get(reverse("admin:claims_recognition_change", args=[application.pk])).content.decode()
    assert reverse("admin:claims_recognition_decide", args=[application.pk]) not in page  # not for the maker
    decide = reverse("admin:claims_recognition_decide", args=[application.pk])
    refused = maker_client.post(decide, {"decision": "approve", "note": ""})
    assert refused.status_code == 200 and "another user" in refused.content.decode()
    page = checker_client.get(reverse("admin:claims_recognition_change", args=[application.pk])).content.decode()
    assert decide in page and "非同日三次血压" in checker_client.get(decide).content.decode()
    assert checker_client.post(decide, {"decision": "approve", "enddate": "2026-02-28", "note": "符合"}).status_code \
        == 302
    application.refresh_from_db()
    assert (application.status, application.enddate, application.decided_by) == (
        RecognitionStatus.APPROVED, D(2026, 2, 28), checker)
    renew = reverse("admin:claims_recognition_renew", args=[application.pk])
    assert renew in checker_client.get(reverse("admin:claims_recognition_change", args=[application.pk])).content \
        .decode()
    assert maker_client.post(renew, {"evidence": "复查"}).status_code == 302
    assert Recognition.objects.get(renewal_of=application).begndate == D(2026, 3, 1)
    changelist = reverse("admin:claims_recognition_changelist")
    for state in ("applied", "valid", "expired", "future", "refused", "cancelled"):
        assert checker_client.get(changelist, {"state": state}).status_code == 200
    person_page = checker_client.get(reverse("admin:accounts_person_change", args=[case["person"].pk]))
    assert person_page.status_code == 200


def test_a_reader_may_not_decide(case):
    roles_sync()
    application = apply(case)
    reader = User.objects.create_user("reader", password="x", is_staff=True)
    reader.groups.add(Group.objects.get(name="read_only"))
    client = Client()
    client.force_login(reader)
    response = client.post(reverse("admin:claims_recognition_decide", args=[application.pk]),
                           {"decision": "approve"})
    assert response.status_code == 403
