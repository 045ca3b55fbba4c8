from claims.tests.conftest import world  # noqa: F401
from reports.tests.conftest import book  # noqa: F401
