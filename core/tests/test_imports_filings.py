"""The `cross_region_filings` import kind (CONTRACT.md "Import kinds"), by import_csv and row by row, and imported
recognitions beside applications under review."""

import datetime

import pytest

from accounts.tests.factories import PersonFactory
from claims.models import CrossRegionFiling, FilingStatus, Recognition, RecognitionStatus
from claims.tests.factories import DiseaseFactory, FacilityFactory, RecognitionFactory
from core.tests.test_imports_common import expect_rejected, import_both_ways, make_regions, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def regions(db):
    make_regions()


def filing(**overrides: str) -> dict[str, str]:
    row = {"psn_no": "P1", "mdtrtarea_admvs": "370000", "filing_type": "temporary", "begndate": "2025-01-01",
           "enddate": ""}
    row.update(overrides)
    return row


def test_filings_are_created_updated_and_left_as_they_are(tmp_path):
    person = PersonFactory(psn_no="P1")
    PersonFactory(psn_no="P2")
    existing = CrossRegionFiling.objects.create(person=person, mdtrtarea_admvs="310000", filing_type="long_term",
                                                begndate=datetime.date(2024, 1, 1))
    rows = [filing(), filing(psn_no="P2", mdtrtarea_admvs="310000", filing_type="resettled", enddate="2026-12-31"),
            filing(mdtrtarea_admvs="310000", filing_type="long_term", begndate="2024-01-01", enddate="2024-12-31")]
    path = write_csv(tmp_path / "f.csv", "cross_region_filings", rows)
    assert run_import("cross_region_filings", path) == (
        0, ["cross_region_filings: created 2, updated 1, unchanged 0"])
    existing.refresh_from_db()
    assert existing.enddate == datetime.date(2024, 12, 31)
    assert existing.history.count() == 2
    new = CrossRegionFiling.objects.get(person__psn_no="P2")
    assert (new.mdtrtarea_admvs, new.filing_type, new.enddate, new.status) == (
        "310000", "resettled", datetime.date(2026, 12, 31), FilingStatus.ACTIVE)
    assert new.history.get().history_type == "+"
    assert run_import("cross_region_filings", path) == (
        0, ["cross_region_filings: created 0, updated 0, unchanged 3"])


def test_bad_filings_import_nothing(tmp_path):
    PersonFactory(psn_no="P1")
    rows = [filing(), filing(psn_no="P404", mdtrtarea_admvs="37000", filing_type="abroad"),
            filing(begndate="2025-13-01", enddate="2024-01-01"), filing(enddate="2025-06-30")]
    path = write_csv(tmp_path / "f.csv", "cross_region_filings", rows)
    expect_rejected("cross_region_filings", path, [
        "row 3, column psn_no: no person has the number P404",
        "row 3, column mdtrtarea_admvs: a region code is six digits, e.g. 310000 or 370000",
        'row 3, column filing_type: "abroad" is not one of resettled, long_term, temporary, referral',
        'row 4, column begndate: "2025-13-01" is not a date in the form YYYY-MM-DD',
        "row 5, column psn_no: psn_no P1, mdtrtarea_admvs 370000, filing_type temporary, begndate 2025-01-01 is "
        "already in row 2 of this file",
    ])
    assert not CrossRegionFiling.objects.exists()


def test_filings_import_alike_row_by_row_and_set_based(tmp_path):
    person = PersonFactory(psn_no="P1")
    PersonFactory(psn_no="P2")
    CrossRegionFiling.objects.create(person=person, mdtrtarea_admvs="370000", filing_type="temporary",
                                     begndate=datetime.date(2025, 1, 1), status=FilingStatus.CANCELLED)
    rows = [filing(enddate="2025-12-31"), filing(psn_no="P2", filing_type="referral")]
    path = write_csv(tmp_path / "f.csv", "cross_region_filings", rows)

    def snapshot():
        return sorted(CrossRegionFiling.objects.values_list("person__psn_no", "mdtrtarea_admvs", "filing_type",
                                                            "begndate", "enddate", "status", "memo"))

    rowwise, set_based = import_both_ways("cross_region_filings", path, snapshot)
    assert rowwise == set_based
    # The cancelled filing keeps its status: an import changes a filing's end date only.
    assert set_based[0] == ([], 1, 1, 0)
    assert ("P1", "370000", "temporary", datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), "cancelled",
            "") in set_based[1]


def test_imported_recognitions_are_approved_and_leave_applications_under_review_as_they_are(tmp_path):
    person = PersonFactory(psn_no="P1")
    hospital = FacilityFactory(fixmedins_code="H1")
    disease = DiseaseFactory(opsp_dise_code="M03900")
    applied = RecognitionFactory(person=person, disease=disease, facility=hospital, begndate=datetime.date(2025, 1, 1),
                                 status=RecognitionStatus.APPLIED, source="staff", evidence="血压 160/100")
    RecognitionFactory(person=person, disease=disease, facility=hospital, begndate=datetime.date(2024, 1, 1),
                       status=RecognitionStatus.REFUSED, source="staff")
    rows = [{"psn_no": "P1", "opsp_dise_code": "M03900", "fixmedins_code": "H1", "begndate": "2025-01-01",
             "enddate": "2026-12-31"},
            {"psn_no": "P1", "opsp_dise_code": "M03900", "fixmedins_code": "H1", "begndate": "2024-01-01",
             "enddate": ""}]
    path = write_csv(tmp_path / "r.csv", "recognitions", rows)

    def snapshot():
        return sorted(Recognition.objects.values_list("begndate", "enddate", "status", "source"))

    rowwise, set_based = import_both_ways("recognitions", path, snapshot)
    assert rowwise == set_based
    # The refused application frees its key: the 2024 row is a new, approved recognition beside it.
    assert set_based == (([], 1, 1, 0), [
        (datetime.date(2024, 1, 1), None, "approved", "import"),
        (datetime.date(2024, 1, 1), None, "refused", "staff"),
        (datetime.date(2025, 1, 1), datetime.date(2026, 12, 31), "applied", "staff")])
    applied.refresh_from_db()
    assert applied.evidence == "血压 160/100"
