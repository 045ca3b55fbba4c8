"""Process-local caches of hot, rarely changing rows (resolved policy versions, partner tokens).

A settlement reads the same few policy versions and the same few hundred partner tokens all day; reading them from
the database on every request would cost more than the settlement itself. Each `ProcessCache` keeps its entries in
this process, keyed by a generation number held in Django's cache: `clear()` (called from the models' save and
delete signals, now and again on commit) bumps the generation, so every process that shares Django's cache (Redis
in production: CACHE_URL) drops its entries at once. Entries also expire after `seconds`, which bounds staleness
where Django's cache is per process (the local-memory default).
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")


class ProcessCache(Generic[T]):
    def __init__(self, name: str, *, seconds: float, max_entries: int = 10_000) -> None:
        self.name = name
        self.seconds = seconds
        self.max_entries = max_entries
        self.generation_key = f"{name}:generation"
        self._entries: dict[tuple[int, Hashable], tuple[float, T]] = {}
        self._lock = threading.Lock()

    def generation(self) -> int:
        generation = cache.get(self.generation_key)
        if generation is None:
            cache.add(self.generation_key, 1, timeout=None)
            generation = cache.get(self.generation_key, 1)
        return generation

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The entry for `key`, loaded with `load()` when missing, expired or of an older generation. Entries are
        shared by the threads of the process: callers must not change them."""
        full_key = (self.generation(), key)
        now = time.monotonic()
        hit = self._entries.get(full_key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[full_key] = (now + self.seconds, value)
        return value

    def clear(self, **kwargs: object) -> None:
        """Forget every entry, here and (through the shared generation) in every other process."""
        with self._lock:
            self._entries.clear()
        try:
            cache.incr(self.generation_key)
        except ValueError:
            cache.set(self.generation_key, 2, timeout=None)

    def clear_on_change(self, *senders: type[models.Model]) -> None:
        """Clear whenever a row of these models is saved or deleted: at once, and again once the change is
        committed (a process loading in between still read the old rows)."""

        def changed(**kwargs: object) -> None:
            self.clear()
            transaction.on_commit(self.clear)

        self._on_change = changed  # signals hold receivers weakly
        for sender in senders:
            post_save.connect(changed, sender=sender, dispatch_uid=f"{self.name}_save_{sender.__name__}")
            post_delete.connect(changed, sender=sender, dispatch_uid=f"{self.name}_delete_{sender.__name__}")


_caches: list[ProcessCache] = []


def process_cache(name: str, *, seconds: float, max_entries: int = 10_000) -> ProcessCache:
    """A new named process cache (module level, once per name)."""
    created = ProcessCache(name, seconds=seconds, max_entries=max_entries)
    _caches.append(created)
    return created


def process_caches_clear() -> None:
    """Clear every process cache (tests: each test's database starts anew)."""
    for each in _caches:
        each.clear()
