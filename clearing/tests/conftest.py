"""Clearing tests reuse the settlement fixtures: the seeded versions, facilities of every kind and the catalog."""

from claims.tests.conftest import api_today, world  # noqa: F401  (fixtures)
