"""core.cache.ProcessCache: one load per key, forgotten on clear (here and, through the shared generation, in
other processes), on a model change, and after its lifetime."""

import pytest

from core import cache as core_cache
from core.cache import ProcessCache


def test_loads_once_then_serves_from_memory():
    cache = ProcessCache("test-once", seconds=60)
    loads = []
    assert cache.get("k", lambda: loads.append(1) or "v1") == "v1"
    assert cache.get("k", lambda: loads.append(1) or "v2") == "v1"
    assert loads == [1]


def test_a_clear_elsewhere_reaches_this_process_through_the_generation(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(core_cache.time, "monotonic", lambda: now[0])
    cache = ProcessCache("test-generation", seconds=60)
    cache.get("k", lambda: "old")
    other = ProcessCache("test-generation", seconds=60)  # another process sharing Django's cache
    other.clear()
    # This process reads the shared generation again after GENERATION_CHECK_SECONDS (1 s).
    now[0] += 0.5
    assert cache.get("k", lambda: "new") == "old"
    now[0] += 0.6
    assert cache.get("k", lambda: "new") == "new"


def test_many_keys_load_the_missing_ones_together_and_remember_absent_ones():
    cache = ProcessCache("test-many", seconds=60)
    calls = []

    def load(keys):
        calls.append(sorted(keys))
        return {k: k.upper() for k in keys if k != "absent"}

    assert cache.get_many(["a", "b", "absent"], load) == {"a": "A", "b": "B", "absent": None}
    assert cache.get_many(["b", "c", "absent"], load) == {"b": "B", "c": "C", "absent": None}
    assert calls == [["a", "absent", "b"], ["c"]]


def test_entries_expire(monkeypatch):
    cache = ProcessCache("test-expiry", seconds=10)
    now = [1000.0]
    monkeypatch.setattr(core_cache.time, "monotonic", lambda: now[0])
    cache.get("k", lambda: "old")
    now[0] += 9.9
    assert cache.get("k", lambda: "new") == "old"
    now[0] += 0.2
    assert cache.get("k", lambda: "new") == "new"


@pytest.mark.django_db(transaction=True)
def test_saving_a_watched_model_clears_it():
    from claims.tests.factories import FacilityFactory
    from claims.tokens import partner_token_create, partner_token_lookup

    facility = FacilityFactory()
    token, raw = partner_token_create(facility=facility)
    assert partner_token_lookup(raw).facility.fixmedins_code == facility.fixmedins_code
    facility.fixmedins_code = "H999"
    facility.save()
    assert partner_token_lookup(raw).facility.fixmedins_code == "H999"
