"""A process-local cache of resolved policy versions for the settlement path.

Resolving the version in force and prefetching its rule tables costs four queries; a busy till settles thousands of
bills a day against the few versions of its region. The cache holds, per region, every published version with its
rule tables prefetched and picks the one in force on a day in memory, so bills of any service date hit it. Any
change to a policy row clears it in every process that shares Django's cache (core.cache); otherwise an entry lives
POLICY_CACHE_SECONDS.
"""

import datetime

from core.cache import process_cache
from policies.models import (
    BenefitRule,
    CreditRule,
    EnrolleeClass,
    InsuType,
    PolicyStatus,
    PolicyVersion,
    ReferenceValue,
)
from policies.selectors import no_policy_in_force

POLICY_CACHE_SECONDS = 60
_versions = process_cache("policies", seconds=POLICY_CACHE_SECONDS, max_entries=1_000)
_versions.clear_on_change(PolicyVersion, BenefitRule, EnrolleeClass, CreditRule, ReferenceValue)


def _published_versions(admdvs: str) -> tuple[PolicyVersion, ...]:
    """Every published version of the region, oldest first, with its rule tables (one query per table)."""
    return tuple(PolicyVersion.objects.select_related("region")
                 .prefetch_related("benefit_rules", "enrollee_classes", "credit_rules", "reference_values")
                 .filter(region__admdvs=admdvs, status=PolicyStatus.PUBLISHED).order_by("effective_from", "pk"))


def policy_version_resolved(admdvs: str, day: datetime.date, insutype: str = InsuType.EMPLOYEE) -> PolicyVersion:
    """The published version of `insutype` in force in `admdvs` on `day` with its benefit rules, enrollee classes,
    credit rules and reference values prefetched (read-only: callers must not change it). Raises PolicyError
    NO_POLICY_IN_FORCE like `policies.selectors.policy_version_in_force`, whose rule it applies in memory: exactly
    one published version of the insurance type whose period covers the day."""
    versions = _versions.get(admdvs, lambda: _published_versions(admdvs))
    in_force = [v for v in versions if v.insutype == insutype
                and v.effective_from <= day and (v.effective_to is None or v.effective_to >= day)]
    if len(in_force) != 1:
        # Two would break the no-overlap rule that publish and the database enforce; refuse rather than guess.
        raise no_policy_in_force(admdvs, day, insutype)
    return in_force[0]
