import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import Contribution, Enrollment, InsuStatus, PsnType
from accounts.tests.factories import EnrollmentFactory, PersonFactory, RegionFactory, make_certno
from policies.models import Region


@pytest.fixture
def seeded(db) -> dict[str, Region]:
    """The seeded policy versions (SH-2023-07, JN-2022, JN-2024) and their regions."""
    call_command("seed_policies", stdout=io.StringIO())
    return {r.admdvs: r for r in Region.objects.all()}


def enrollee(region: Region, *, brdy: datetime.date, psn_type: str = PsnType.IN_SERVICE,
             retire_date: datetime.date | None = None, clct_base: str | None = "10000.00",
             begndate: datetime.date = datetime.date(2010, 1, 1), enddate: datetime.date | None = None,
             status: str = InsuStatus.ACTIVE) -> Enrollment:
    area = "310101" if region.admdvs.startswith("31") else "370102"
    person = PersonFactory(brdy=brdy, certno=make_certno(brdy, "1", area=area))
    return EnrollmentFactory(person=person, region=region, psn_type=psn_type, retire_date=retire_date,
                             clct_base=None if clct_base is None else Decimal(clct_base), begndate=begndate,
                             enddate=enddate, psn_insu_stas=status, employer=None)


def contribution(enrollment: Enrollment, month: str, base: str) -> Contribution:
    base_amount = Decimal(base)
    return Contribution.objects.create(person=enrollment.person, period=datetime.date.fromisoformat(f"{month}-01"),
                                       clct_base=base_amount, psn_clct_amt=(base_amount * Decimal("0.02")),
                                       emp_clct_amt=(base_amount * Decimal("0.09")))


__all__ = ["RegionFactory", "contribution", "enrollee"]
