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
