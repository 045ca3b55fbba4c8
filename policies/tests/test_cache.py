"""The resolved-policy cache answers exactly as `policy_version_in_force` does, without queries once a region is
loaded, and forgets everything when a policy row changes."""

import pytest

from policies.cache import policy_version_resolved
from policies.errors import PolicyError
from policies.models import PolicyVersion
from policies.selectors import policy_version_in_force
from policies.services import policy_version_clone, policy_version_publish
from policies.tests.conftest import D

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("admdvs", "day"), [
    ("310000", D(2023, 6, 30)), ("310000", D(2023, 7, 1)), ("310000", D(2026, 12, 31)), ("310000", D(2027, 1, 1)),
    ("370100", D(2021, 12, 31)), ("370100", D(2023, 12, 31)), ("370100", D(2024, 1, 1)), ("370200", D(2024, 6, 1)),
    ("999999", D(2024, 6, 1)),
])
def test_the_cache_agrees_with_the_selector_at_every_boundary(seeded, admdvs, day):
    try:
        expected = policy_version_in_force(admdvs, day).code
    except PolicyError as e:
        expected = e.err_code
    try:
        got = policy_version_resolved(admdvs, day).code
    except PolicyError as e:
        got = e.err_code
    assert got == expected


def test_any_day_of_a_loaded_region_costs_no_query(seeded, django_assert_num_queries):
    first = policy_version_resolved("370100", D(2022, 3, 1))
    with django_assert_num_queries(0):
        assert policy_version_resolved("370100", D(2022, 3, 1)) is first
        assert policy_version_resolved("370100", D(2025, 8, 9)).code == "JN-2024"
        # The rule tables come prefetched.
        assert len(list(first.benefit_rules.all())) > 0


def test_publishing_a_version_is_seen_at_once(seeded):
    jn = PolicyVersion.objects.get(code="JN-2024")
    assert policy_version_resolved("370100", D(2025, 1, 1)).code == "JN-2024"
    draft = policy_version_clone(version=jn, code="JN-2025", actor=None, effective_from=D(2025, 1, 1))
    assert policy_version_resolved("370100", D(2025, 1, 1)).code == "JN-2024"  # a draft is not in force
    policy_version_publish(version=draft, actor=None)
    assert policy_version_resolved("370100", D(2025, 1, 1)).code == "JN-2025"
    assert policy_version_resolved("370100", D(2024, 12, 31)).code == "JN-2024"
