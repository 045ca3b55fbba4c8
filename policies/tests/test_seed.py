import io

import pytest
from django.core.management import call_command

from policies.models import BenefitRule, CreditRule, EnrolleeClass, PolicyVersion, ReferenceValue, Region

pytestmark = pytest.mark.django_db

MODELS = (Region, PolicyVersion, ReferenceValue, EnrolleeClass, BenefitRule, CreditRule)


def snapshot():
    return [(m.objects.count(), m.history.count()) for m in MODELS]


def test_seed_twice_changes_nothing():
    out = io.StringIO()
    call_command("seed_policies", stdout=out)
    assert "JN-2024: created and published" in out.getvalue()
    first = snapshot()
    # JN-R-2024: one class (residents), general outpatient at three levels and pharmacies, M03900, no credit rules.
    assert [n for n, _h in first] == [3, 4, 10 + 10, 3 + 2 + 2 + 1, 9 + 12 + 12 + 5, 3 + 4 + 3]
    out = io.StringIO()
    call_command("seed_policies", stdout=out)
    assert snapshot() == first
    assert "SH-2023-07: unchanged" in out.getvalue() and "JN-2024: unchanged" in out.getvalue()
    versions = {v.code: (v.region.admdvs, v.effective_from.isoformat(), v.effective_to and v.effective_to.isoformat(),
                         v.status) for v in PolicyVersion.objects.select_related("region")}
    assert versions == {"SH-2023-07": ("310000", "2023-07-01", "2026-12-31", "published"),
                        "JN-2022": ("370100", "2022-01-01", "2023-12-31", "published"),
                        "JN-2024": ("370100", "2024-01-01", None, "published"),
                        "JN-R-2024": ("370100", "2024-01-01", None, "published")}
    assert "illustrative" in PolicyVersion.objects.get(code="JN-2022").title


def test_seed_reports_a_version_changed_since(seeded):
    PolicyVersion.objects.filter(code="JN-2024").update(effective_to="2024-12-31")
    out = io.StringIO()
    call_command("seed_policies", stdout=out)
    assert "JN-2024: exists (published), differs from the seed in effective_to" in out.getvalue()
    assert str(PolicyVersion.objects.get(code="JN-2024").effective_to) == "2024-12-31"
