"""factory_boy factories for the registry, with real-format resident ID numbers."""

import datetime
import itertools

import factory

from accounts.models import Employer, Enrollment, FamilyLink, InsuStatus, Person, PsnType
from core.certno import certno_make
from policies.models import Region

_serial = itertools.count(1)


def make_certno(brdy: datetime.date, gend: str = "1", area: str = "310101", serial: int | None = None) -> str:
    """A valid 18-character ID number for that birth date and gender (17th digit odd for men)."""
    n = next(_serial) if serial is None else serial
    seq = (n * 2) % 1000  # even
    if gend == "1":
        seq = seq + 1 if seq < 999 else 1
    return certno_make(f"{area}{brdy:%Y%m%d}{seq:03d}")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("admdvs",)

    admdvs = "310000"
    name = "上海市"


class EmployerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employer

    emp_no = factory.Sequence(lambda n: f"E{n:08d}")
    emp_name = factory.Sequence(lambda n: f"单位{n}")
    region = factory.SubFactory(RegionFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    psn_no = factory.Sequence(lambda n: f"P{n:010d}")
    brdy = datetime.date(1980, 5, 17)
    gend = "1"
    psn_name = factory.Sequence(lambda n: f"参保人{n}")
    certno = factory.LazyAttribute(lambda o: make_certno(o.brdy, o.gend))


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    person = factory.SubFactory(PersonFactory)
    psn_type = PsnType.IN_SERVICE
    region = factory.SubFactory(RegionFactory)
    employer = factory.SubFactory(EmployerFactory, region=factory.SelfAttribute("..region"))
    clct_base = "8000.00"
    begndate = datetime.date(2015, 1, 1)
    psn_insu_stas = InsuStatus.ACTIVE


class FamilyLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyLink

    holder = factory.SubFactory(PersonFactory)
    relative = factory.SubFactory(PersonFactory)
    relation = "child"
    begndate = datetime.date(2022, 7, 1)
