import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(seeded, clerk):
    client = APIClient()
    client.force_authenticate(clerk)
    return client


def test_policy_in_force_with_rules(api):
    response = api.get("/api/v1/policies/", {"admdvs": "310000", "date": "2023-07-01"})
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "SH-2023-07" and body["admdvs"] == "310000" and body["benefit_year_start"] == "01-01"
    assert body["options"] == {"current_pocket_first": True, "two_pockets": True, "mulaid_pockets": ["historical"],
                               "pharmacy_settlement": "accounts_only", "acct_pays_out_of_scope": True,
                               "relative_contributions": [], "cross_region_unfiled": "refuse",
                               "cross_region_rate_cut": "0.0000"}
    rule = next(r for r in body["benefit_rules"]
                if r["enrollee_class"] == "retired_before_2001" and r["facility_level"] == "1")
    assert rule == {"med_group": "general", "dise_code": "", "enrollee_class": "retired_before_2001",
                    "facility_level": "1", "deductible": "200.00", "rate": "0.9000", "annual_cap": None,
                    "bucket": "general", "supplementary_share_above_cap": "0.0000"}
    credit = next(c for c in body["credit_rules"] if c["name"] == "retired, 75 and over")
    assert credit["amount"] == "1890.00" and credit["psn_types"] == ["1201", "1203"] and credit["age_min"] == 75


def test_the_resident_version_in_force(api):
    body = api.get("/api/v1/policies/", {"admdvs": "370100", "date": "2025-03-10", "insutype": "390"}).json()
    assert (body["code"], body["insutype"]) == ("JN-R-2024", "390")
    assert api.get("/api/v1/policies/", {"admdvs": "370100", "date": "2025-03-10"}).json()["code"] == "JN-2024"
    missing = api.get("/api/v1/policies/", {"admdvs": "310000", "date": "2025-03-10", "insutype": "390"})
    assert missing.status_code == 404 and missing.json()["err_code"] == "NO_POLICY_IN_FORCE"


def test_jinan_money_as_strings(api):
    body = api.get("/api/v1/policies/", {"admdvs": "370100", "date": "2023-12-31"}).json()
    assert body["code"] == "JN-2022"
    assert {"kind": "provincial_avg_wage", "year": 2023, "amount": "90000.00"} in body["reference_values"]
    caps = {r["annual_cap"] for r in body["benefit_rules"] if r["med_group"] == "general"}
    assert caps == {"4500.00"}


@pytest.mark.parametrize("params", [
    {"admdvs": "310000", "date": "2023-06-30"}, {"admdvs": "370200", "date": "2024-01-01"},
])
def test_none_in_force_is_404(api, params):
    response = api.get("/api/v1/policies/", params)
    assert response.status_code == 404
    assert response.json()["err_code"] == "NO_POLICY_IN_FORCE" and response.json()["err_msg"]


@pytest.mark.parametrize("params", [
    {}, {"admdvs": "310000"}, {"date": "2024-01-01"}, {"admdvs": "31", "date": "2024-01-01"},
    {"admdvs": "310000", "date": "2024-02-30"}, {"admdvs": "310000", "date": "yesterday"},
])
def test_bad_parameters_are_400(api, params):
    response = api.get("/api/v1/policies/", params)
    assert response.status_code == 400
    assert response.json()["err_code"] == "INVALID_REQUEST" and response.json()["err_msg"]


def test_anonymous_is_refused(seeded):
    assert APIClient().get("/api/v1/policies/", {"admdvs": "310000", "date": "2024-01-01"}).status_code in (401, 403)
