"""What-if runs through the admin: started from the draft's page by a policy manager (not by a clerk), run in
process (no broker) with the figures of test_replay's first case, read, exported, compared, and shown on the publish
page, which warns when none was run or the draft changed since."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from claims.tests.conftest import D, enrollee, fund
from policies.models import BenefitRule
from policies.tests.conftest import make_user
from whatif.models import WhatIfRun
from whatif.tests.test_replay import draft_of_jn2024, settle

pytestmark = pytest.mark.django_db


def start(client, draft, capture, month_from="2025-03", month_to="2025-03"):  # noqa: ANN001, ANN201
    with capture(execute=True):
        return client.post(reverse("admin:whatif_whatifrun_start", args=[draft.pk]),
                           {"region": draft.region.pk, "month_from": month_from, "month_to": month_to})


def test_a_what_if_run_from_the_draft_to_the_publish_page(client, world, django_capture_on_commit_callbacks):
    h1 = world["facilities"]["JN1"]
    p = enrollee(world["regions"]["370100"], brdy=D(1980, 1, 1)).person
    fund(p, historical="1000")
    settle(h1, p, 3, "2025-03-10", "S1")
    settle(h1, p, 2, "2025-03-12", "S2")
    draft = draft_of_jn2024("JN-DRAFT-D100", deductible=Decimal("100.00"))
    manager, clerk = make_user("manager", "policy_manager"), make_user("clerk", "registry_clerk")

    client.force_login(clerk)
    assert "/whatif/whatifrun/start/" not in client.get(
        reverse("admin:policies_policyversion_change", args=[draft.pk])).content.decode()
    assert start(client, draft, django_capture_on_commit_callbacks).status_code == 403

    client.force_login(manager)
    page = client.get(reverse("admin:policies_policyversion_change", args=[draft.pk])).content.decode()
    assert reverse("admin:whatif_whatifrun_start", args=[draft.pk]) in page
    publish = reverse("admin:policies_policyversion_publish", args=[draft.pk])
    assert "No what-if run of this draft was made" in client.get(publish).content.decode()
    assert client.get(reverse("admin:whatif_whatifrun_start", args=[draft.pk])).status_code == 200

    response = start(client, draft, django_capture_on_commit_callbacks)
    run = WhatIfRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:whatif_whatifrun_report",
                                                                           args=[run.pk])
    assert (run.status, run.settlements, run.done, run.total, run.created_by) == ("done", 2, 2, 2, manager)
    # Paid: the fund 0.00 + 35.00; under the draft 35.00 + 70.00 (test_replay's first case).
    report = client.get(response["Location"]).content.decode()
    assert "35.00" in report and "105.00" in report and "+200.0%" in report and "<svg" in report
    assert f"{p.psn_no} {p.psn_name}" in report

    export = client.get(reverse("admin:whatif_whatifrun_export", args=[run.pk]))
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content))["By fund"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["all funds"][3:7] == (Decimal("35.00"), Decimal("105.00"), Decimal("70.00"), "+200.0%")

    page = client.get(publish).content.decode()
    assert "No what-if run" not in page and "changed since" not in page
    assert "the fund paid 35.00; under this draft it would have paid 105.00 (70.00, +200.0%)" in page
    BenefitRule.objects.filter(version=draft, facility_level="1", med_group="general").update(rate=Decimal("0.80"))
    assert "The draft changed since its last what-if run" in client.get(publish).content.decode()

    start(client, draft, django_capture_on_commit_callbacks)
    a, b = WhatIfRun.objects.order_by("id")
    compared = client.get(reverse("admin:whatif_whatifrun_compare") + f"?a={a.pk}&b={b.pk}")
    # Under the new rates (80%): S1 the fund 80% of 50.00 = 40.00, S2 80.00: 120.00, 15.00 more than run A.
    assert compared.status_code == 200 and "120.00" in compared.content.decode()
    assert "15.00" in compared.content.decode()
    changelist = client.get(reverse("admin:whatif_whatifrun_changelist"))
    assert changelist.status_code == 200 and "100%" in changelist.content.decode()
