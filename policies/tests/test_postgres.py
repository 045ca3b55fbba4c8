import pytest
from django.db import IntegrityError, transaction

from policies.models import PolicyVersion
from policies.tests.conftest import D

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_exclusion_constraint_refuses_overlapping_published_versions(seeded):
    jn24 = PolicyVersion.objects.get(code="JN-2024")
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.create(code="JN-X", region=jn24.region, title="x", effective_from=D(2030, 1, 1),
                                     status="published")
    # A draft or retired version may overlap, and so may a published one that does not.
    PolicyVersion.objects.create(code="JN-D", region=jn24.region, title="x", effective_from=D(2030, 1, 1))
    PolicyVersion.objects.create(code="JN-21", region=jn24.region, title="x", effective_from=D(2021, 1, 1),
                                 effective_to=D(2021, 12, 31), status="published")
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(code="JN-21").update(effective_to=D(2022, 1, 1))


def test_an_employee_and_a_resident_version_of_a_region_may_both_be_in_force(seeded):
    """The exclusion is per region and insurance type: JN-2024 and JN-R-2024 overlap (both from 2024-01-01); a second
    published resident version overlapping JN-R-2024 does not."""
    resident = PolicyVersion.objects.get(code="JN-R-2024")
    assert resident.effective_from == PolicyVersion.objects.get(code="JN-2024").effective_from
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.create(code="JN-R-X", region=resident.region, insutype="390", title="x",
                                     effective_from=D(2030, 1, 1), status="published")
