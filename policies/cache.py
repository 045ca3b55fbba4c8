"""A process-local cache of resolved policy versions for the settlement path.

Resolving the version in force and prefetching its rule tables costs four queries; a busy till settles thousands of
bills a day against the same few versions. Entries are keyed by a generation number kept in Django's cache and
bumped whenever any policy row is saved or deleted (signals below), so every process that shares the cache (Redis
in production: CACHE_URL) drops its copies at once; entries also expire after POLICY_CACHE_SECONDS, which bounds
staleness where the cache is per process (the local-memory default).
"""

import datetime
import threading
import time

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from policies.models import BenefitRule, CreditRule, EnrolleeClass, PolicyVersion, ReferenceValue
from policies.selectors import policy_version_in_force

POLICY_CACHE_SECONDS = 60
GENERATION_KEY = "policies:generation"
_MAX_ENTRIES = 10_000
_entries: dict[tuple[int, str, datetime.date], tuple[float, PolicyVersion]] = {}
_lock = threading.Lock()


def policy_cache_generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return generation


def policy_cache_clear(**kwargs: object) -> None:
    """Forget every resolved version, here and (through the shared generation) in every other process."""
    with _lock:
        _entries.clear()
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)


def policy_version_resolved(admdvs: str, day: datetime.date) -> PolicyVersion:
    """The published version in force in `admdvs` on `day` with its benefit rules, enrollee classes, credit rules
    and reference values prefetched (read-only: callers must not change it). Raises PolicyError NO_POLICY_IN_FORCE
    like `policy_version_in_force`."""
    key = (policy_cache_generation(), admdvs, day)
    hit = _entries.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    version = policy_version_in_force(admdvs, day)
    version = (PolicyVersion.objects.select_related("region")
               .prefetch_related("benefit_rules", "enrollee_classes", "credit_rules", "reference_values")
               .get(pk=version.pk))
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (now + POLICY_CACHE_SECONDS, version)
    return version


def _policy_row_changed(**kwargs: object) -> None:
    # Now, and again once the change is committed: a process resolving in between still read the old rows.
    policy_cache_clear()
    transaction.on_commit(policy_cache_clear)


for _model in (PolicyVersion, BenefitRule, EnrolleeClass, CreditRule, ReferenceValue):
    post_save.connect(_policy_row_changed, sender=_model, dispatch_uid=f"policy_cache_save_{_model.__name__}")
    post_delete.connect(_policy_row_changed, sender=_model, dispatch_uid=f"policy_cache_delete_{_model.__name__}")
