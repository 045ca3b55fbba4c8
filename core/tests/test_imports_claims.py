import datetime
from decimal import Decimal

import pytest

from accounts.tests.factories import PersonFactory
from claims.models import Disease, Facility, Item, Recognition
from claims.tests.factories import DiseaseFactory, FacilityFactory, ItemFactory, RecognitionFactory
from core.tests.test_imports_common import expect_rejected, import_both_ways, make_regions, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


def facility(code, **overrides):
    row = {"fixmedins_code": code, "fixmedins_name": "某医院", "fixmedins_type": "1", "hosp_lv": "2",
           "admdvs": "310000", "begndate": "2020-01-01", "enddate": ""}
    row.update(overrides)
    return row


def test_facilities(tmp_path):
    rows = [facility("H1"), facility("P1", fixmedins_type="2", hosp_lv="", admdvs="370100", enddate="2030-12-31")]
    path = write_csv(tmp_path / "f.csv", "facilities", rows)
    assert run_import("facilities", path) == (0, ["facilities: created 2, updated 0, unchanged 0"])
    pharmacy = Facility.objects.get(fixmedins_code="P1")
    assert (pharmacy.is_pharmacy, pharmacy.hosp_lv, pharmacy.region.admdvs) == (True, "", "370100")
    assert run_import("facilities", path) == (0, ["facilities: created 0, updated 0, unchanged 2"])
    rows[0]["fixmedins_name"] = "改名医院"
    write_csv(path, "facilities", rows)
    assert run_import("facilities", path) == (0, ["facilities: created 0, updated 1, unchanged 1"])
    assert Facility.objects.get(fixmedins_code="H1").history.count() == 2


def test_bad_facilities(tmp_path):
    rows = [facility("H1"), facility("H2", hosp_lv=""), facility("P2", fixmedins_type="2", hosp_lv="1"),
            facility("H3", fixmedins_type="3", admdvs="999999"), facility("H1"),
            facility("H4", begndate="2020-01-01", enddate="2019-12-31"), facility("H-5", begndate="20200101")]
    path = write_csv(tmp_path / "f.csv", "facilities", rows)
    expect_rejected("facilities", path, [
        "row 3, column hosp_lv: a medical institution (type 1) needs a hospital level 1, 2 or 3",
        "row 4, column hosp_lv: a retail pharmacy (type 2) has no hospital level; leave hosp_lv blank",
        'row 5, column fixmedins_type: "3" is not one of 1, 2',
        "row 5, column admdvs: no region has the code 999999",
        "row 6, column fixmedins_code: fixmedins_code H1 is already in row 2 of this file",
        "row 7, column enddate: the end date 2019-12-31 is before the start date 2020-01-01",
        "row 8, column fixmedins_code: a facility code has letters and digits only",
        'row 8, column begndate: "20200101" is not a date in the form YYYY-MM-DD',
    ])
    assert not Facility.objects.exists()


def test_items(tmp_path):
    ItemFactory(item_code="A1", item_name="旧", chrg_item_lv="01")
    rows = [{"item_code": "A1", "item_name": "阿莫西林", "chrg_item_lv": "01", "selfpay_prop": "",
             "pric_uplmt_amt": ""},
            {"item_code": "B1", "item_name": "乙类药", "chrg_item_lv": "02", "selfpay_prop": "0.1",
             "pric_uplmt_amt": "35.50"},
            {"item_code": "C1", "item_name": "丙类", "chrg_item_lv": "03", "selfpay_prop": "1",
             "pric_uplmt_amt": "0"}]
    path = write_csv(tmp_path / "i.csv", "items", rows)
    assert run_import("items", path) == (0, ["items: created 2, updated 1, unchanged 0"])
    b1 = Item.objects.get(item_code="B1")
    assert (b1.selfpay_prop, b1.pric_uplmt_amt) == (Decimal("0.1"), Decimal("35.50"))
    assert Item.objects.get(item_code="A1").selfpay_prop == Decimal(0)
    assert run_import("items", path) == (0, ["items: created 0, updated 0, unchanged 3"])


def test_bad_items(tmp_path):
    rows = [{"item_code": "X1", "item_name": "x", "chrg_item_lv": "1", "selfpay_prop": "1.5",
             "pric_uplmt_amt": "-1"},
            {"item_code": "X2", "item_name": "", "chrg_item_lv": "02", "selfpay_prop": "0.1x",
             "pric_uplmt_amt": "1.234"}]
    path = write_csv(tmp_path / "i.csv", "items", rows)
    expect_rejected("items", path, [
        'row 2, column chrg_item_lv: "1" is not one of 01, 02, 03',
        "row 2, column selfpay_prop: 1.5 is more than 1",
        "row 2, column pric_uplmt_amt: -1 is less than 0",
        "row 3, column item_name: a value is required",
        'row 3, column selfpay_prop: "0.1x" is not a number with at most 4 decimal places',
        'row 3, column pric_uplmt_amt: "1.234" is not a number with at most 2 decimal places',
    ])
    assert not Item.objects.exists()


def disease(code, **overrides):
    row = {"opsp_dise_code": code, "opsp_dise_name": "高血压", "opsp_dise_majcls_name": "循环系统疾病",
           "recognition_criteria": "收缩压≥140mmHg"}
    row.update(overrides)
    return row


def test_diseases(tmp_path):
    path = write_csv(tmp_path / "d.csv", "diseases", [disease("M03900"), disease("M07803", opsp_dise_name="透析",
                                                                                  recognition_criteria="")])
    assert run_import("diseases", path) == (0, ["diseases: created 2, updated 0, unchanged 0"])
    assert run_import("diseases", path) == (0, ["diseases: created 0, updated 0, unchanged 2"])
    assert Disease.objects.get(opsp_dise_code="M07803").opsp_dise_name == "透析"


def test_bad_diseases(tmp_path):
    path = write_csv(tmp_path / "d.csv", "diseases", [disease("M039"), disease("X03900"), disease("M03900"),
                                                      disease("M03900", opsp_dise_name="")])
    expect_rejected("diseases", path, [
        "row 2, column opsp_dise_code: a disease code is M and five digits, e.g. M03900",
        "row 3, column opsp_dise_code: a disease code is M and five digits, e.g. M03900",
        "row 5, column opsp_dise_code: opsp_dise_code M03900 is already in row 4 of this file",
        "row 5, column opsp_dise_name: a value is required",
    ])
    assert not Disease.objects.exists()


def test_recognitions(tmp_path):
    person = PersonFactory(psn_no="P1")
    hospital = FacilityFactory(fixmedins_code="H1")
    DiseaseFactory(opsp_dise_code="M03900")
    existing = RecognitionFactory(person=person, facility=hospital, begndate=datetime.date(2022, 1, 1))
    rows = [{"psn_no": "P1", "opsp_dise_code": "M03900", "fixmedins_code": "H1", "begndate": "2022-01-01",
             "enddate": "2022-12-31"},
            {"psn_no": "P1", "opsp_dise_code": "M03900", "fixmedins_code": "H1", "begndate": "2023-01-01",
             "enddate": ""}]
    path = write_csv(tmp_path / "r.csv", "recognitions", rows)
    assert run_import("recognitions", path) == (0, ["recognitions: created 1, updated 1, unchanged 0"])
    existing.refresh_from_db()
    assert existing.enddate == datetime.date(2022, 12, 31)
    assert Recognition.objects.count() == 2
    assert run_import("recognitions", path) == (0, ["recognitions: created 0, updated 0, unchanged 2"])


def test_bad_recognitions(tmp_path):
    PersonFactory(psn_no="P1")
    FacilityFactory(fixmedins_code="H1")
    DiseaseFactory(opsp_dise_code="M03900")
    good = {"psn_no": "P1", "opsp_dise_code": "M03900", "fixmedins_code": "H1", "begndate": "2023-01-01",
            "enddate": ""}
    rows = [good, {**good, "psn_no": "P404", "opsp_dise_code": "M99999", "fixmedins_code": "H404"},
            {**good, "opsp_dise_code": "M39", "enddate": "2022-01-01"}, {**good, "enddate": "2023-12-31"}]
    path = write_csv(tmp_path / "r.csv", "recognitions", rows)
    expect_rejected("recognitions", path, [
        "row 3, column psn_no: no person has the number P404",
        "row 3, column opsp_dise_code: disease M99999 is not in the catalog",
        "row 3, column fixmedins_code: no facility has the code H404",
        "row 4, column opsp_dise_code: a disease code is M and five digits, e.g. M03900",
        "row 4, column enddate: the end date 2022-01-01 is before the start date 2023-01-01",
        "row 5, column psn_no: psn_no P1, opsp_dise_code M03900, fixmedins_code H1, begndate 2023-01-01 is already "
        "in row 2 of this file",
    ])
    assert not Recognition.objects.exists()


# --- optional columns: flags of items and facilities (CONTRACT.md "Optional columns") ---------------------------

def test_item_flags_are_read_when_present_and_zero_when_absent(tmp_path):
    rows = [{"item_code": "GYM1", "item_name": "健身卡", "chrg_item_lv": "01", "acct_pay_forbidden": "1"},
            {"item_code": "NEG1", "item_name": "谈判药", "chrg_item_lv": "02", "selfpay_prop": "0.1",
             "sep_pay_flag": "1", "acct_pay_forbidden": ""},
            {"item_code": "A1", "item_name": "诊查费", "chrg_item_lv": "01", "acct_pay_forbidden": "0",
             "sep_pay_flag": "0"}]
    path = write_csv(tmp_path / "i.csv", "items", rows, optional=("acct_pay_forbidden", "sep_pay_flag"))
    assert run_import("items", path) == (0, ["items: created 3, updated 0, unchanged 0"])
    flags = dict((code, (forbidden, sep)) for code, forbidden, sep in
                 Item.objects.values_list("item_code", "acct_pay_forbidden", "sep_pay_flag"))
    assert flags == {"GYM1": (True, False), "NEG1": (False, True), "A1": (False, False)}
    assert run_import("items", path) == (0, ["items: created 0, updated 0, unchanged 3"])
    # The same items in the contract's bare header: the flags default to 0, which changes two rows.
    bare = write_csv(tmp_path / "bare.csv", "items", rows)
    assert run_import("items", bare) == (0, ["items: created 0, updated 2, unchanged 1"])
    assert not Item.objects.filter(acct_pay_forbidden=True).exists()


def test_a_flag_is_one_or_zero_and_an_unknown_column_is_refused(tmp_path):
    rows = [{"item_code": "X1", "item_name": "x", "chrg_item_lv": "01", "acct_pay_forbidden": "yes"}]
    path = write_csv(tmp_path / "i.csv", "items", rows, optional=("acct_pay_forbidden",))
    expect_rejected("items", path, ['row 2, column acct_pay_forbidden: "yes" is not one of 0, 1'])
    path = write_csv(tmp_path / "u.csv", "items", rows, optional=("acct_pay_forbidden", "online_flag"))
    status, out = run_import("items", path)
    assert status == 1 and "unknown columns: online_flag" in out[0]
    assert "optionally followed by any of acct_pay_forbidden,sep_pay_flag" in out[0]


@pytest.mark.parametrize("kind", ["items", "facilities"])
def test_the_flags_import_alike_row_by_row_and_set_based(tmp_path, kind):
    if kind == "items":
        ItemFactory(item_code="OLD", chrg_item_lv="01", acct_pay_forbidden=True)
        rows = [{"item_code": "OLD", "item_name": "旧", "chrg_item_lv": "01", "acct_pay_forbidden": "0",
                 "sep_pay_flag": "1"},
                {"item_code": "GYM", "item_name": "健身", "chrg_item_lv": "03", "acct_pay_forbidden": "1"}]
        optional = ("acct_pay_forbidden", "sep_pay_flag")

        def snapshot():
            return sorted(Item.objects.values_list("item_code", "acct_pay_forbidden", "sep_pay_flag"))
    else:
        FacilityFactory(fixmedins_code="H0", online_service=True)
        rows = [facility("H0", online_flag=""), facility("H1", online_flag="1")]
        optional = ("online_flag",)

        def snapshot():
            return sorted(Facility.objects.values_list("fixmedins_code", "online_service"))
    path = write_csv(tmp_path / "f.csv", kind, rows, optional=optional)
    rowwise, set_based = import_both_ways(kind, path, snapshot)
    assert rowwise == set_based
    assert set_based[0] == ([], 1, 1, 0)


def test_facilities_online_flag(tmp_path):
    path = write_csv(tmp_path / "f.csv", "facilities", [facility("H1", online_flag="1"), facility("H2")],
                     optional=("online_flag",))
    assert run_import("facilities", path) == (0, ["facilities: created 2, updated 0, unchanged 0"])
    assert dict(Facility.objects.values_list("fixmedins_code", "online_service")) == {"H1": True, "H2": False}
