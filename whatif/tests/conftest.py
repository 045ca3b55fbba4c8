from claims.tests.conftest import world  # noqa: F401  (the seeded versions, facilities and catalog)
