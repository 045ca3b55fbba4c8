"""Process-local caches of hot, rarely changing rows (resolved policy versions, partner tokens).

A settlement reads the same few policy versions and the same few hundred partner tokens all day; reading them from
the database on every request would cost more than the settlement itself. Each `ProcessCache` keeps its entries in
this process, keyed by a generation number held in Django's cache: `clear()` (called from the models' save and
delete signals, now and again on commit, and after every import) bumps the generation, so every process that
shares Django's cache (Redis in production: CACHE_URL) drops its entries within GENERATION_CHECK_SECONDS. Entries
also expire after `seconds`, which bounds staleness where Django's cache is per process (the local-memory
default).
"""

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
GENERATION_CHECK_SECONDS = 1.0


class ProcessCache(Generic[T]):
    def __init__(self, name: str, *, seconds: float, max_entries: int = 10_000) -> None:
        self.name = name
        self.seconds = seconds
        self.max_entries = max_entries
        self.generation_key = f"{name}:generation"
        self._entries: dict[tuple[int, Hashable], tuple[float, T | None]] = {}
        self._generation: tuple[float, int] | None = None
        self._lock = threading.Lock()

    def generation(self, now: float) -> int:
        """The shared generation, read from Django's cache at most every GENERATION_CHECK_SECONDS (with Redis each
        read is a round trip; a clear elsewhere reaches this process within that time)."""
        seen = self._generation
        if seen is not None and seen[0] > now:
            return seen[1]
        generation = cache.get(self.generation_key)
        if generation is None:
            cache.add(self.generation_key, 1, timeout=None)
            generation = cache.get(self.generation_key, 1)
        self._generation = (now + GENERATION_CHECK_SECONDS, generation)
        return generation

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The entry for `key`, loaded with `load()` when missing, expired or of an older generation. Entries are
        shared by the threads of the process: callers must not change them."""
        return self.get_many([key], lambda keys: {key: load()})[key]

    def get_many(self, keys: Iterable[Hashable], load: Callable[[list[Hashable]], dict[Hashable, T]],
                 ) -> dict[Hashable, T | None]:
        """The entries for `keys`; the missing ones loaded together by `load(missing)`, which returns what it
        found (a key it leaves out is remembered as None)."""
        now = time.monotonic()
        generation = self.generation(now)
        found: dict[Hashable, T | None] = {}
        missing = []
        for key in keys:
            hit = self._entries.get((generation, key))
            if hit is not None and hit[0] > now:
                found[key] = hit[1]
            else:
                missing.append(key)
        if missing:
            loaded = load(missing)
            with self._lock:
                if len(self._entries) + len(missing) > self.max_entries:
                    self._entries.clear()
                for key in missing:
                    found[key] = loaded.get(key)
                    self._entries[(generation, key)] = (now + self.seconds, found[key])
        return found

    def clear(self, **kwargs: object) -> None:
        """Forget every entry, here at once and (through the shared generation) in every other process within
        GENERATION_CHECK_SECONDS."""
        with self._lock:
            self._entries.clear()
            self._generation = None
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
