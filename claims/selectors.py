"""Reads for the partner API: persons with what a facility may see of them, accounts, accumulators and the
facility's settlements. Querysets are shaped so a page of results costs a fixed number of queries."""

import datetime
import re

import django_filters
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Enrollment, FamilyLink, Person, PersonalAccount
from claims.models import Accumulator, Facility, Recognition, Settlement
from core.queries import only_row

# Person and settlement numbers are letters and digits; anything else is no one's number (and never reaches the
# database, which may refuse such strings, e.g. PostgreSQL and NUL).
NUMBER_RE = re.compile(r"^[0-9A-Za-z]{1,64}$")


def _is_number(value: str) -> bool:
    return bool(NUMBER_RE.fullmatch(value))


def person_get(*, psn_no: str) -> Person | None:
    return only_row(Person.objects.filter(psn_no=psn_no)) if _is_number(psn_no) else None


def person_for_facility(*, facility: Facility, day: datetime.date, psn_no: str | None = None,
                        certno: str | None = None) -> Person | None:
    """A person by number or ID number, with what `GET persons/{psn_no}/` shows prefetched: enrollments, the
    account, the family links active on `day` (as `active_links`, in link order) and the recognitions at
    `facility` only (as `facility_recognitions`): a facility does not see where else a patient is recognised."""
    if psn_no is not None:
        if not _is_number(psn_no):
            return None
        lookup = Q(psn_no=psn_no)
    elif certno is not None:
        lookup = Q(certno=certno)
    else:
        raise ValueError("psn_no or certno")
    links = (FamilyLink.objects.select_related("holder").filter(begndate__lte=day)
             .filter(Q(enddate__isnull=True) | Q(enddate__gte=day)).order_by("order", "id"))
    recognitions = (Recognition.objects.select_related("disease").filter(facility=facility)
                    .order_by("begndate", "disease__opsp_dise_code", "id"))
    return only_row(Person.objects.filter(lookup).select_related("account")
            .prefetch_related(Prefetch("enrollments", Enrollment.objects.select_related("region", "employer")
                                       .order_by("insutype", "id")),
                              Prefetch("links_as_relative", links, to_attr="active_links"),
                              Prefetch("recognitions", recognitions, to_attr="facility_recognitions")))


def person_account(person: Person) -> PersonalAccount | None:
    """The person's account, or None when none was ever opened (works with or without select_related)."""
    try:
        return person.account
    except PersonalAccount.DoesNotExist:
        return None


def accumulators_of_year(*, person: Person, year: int) -> QuerySet[Accumulator]:
    """The person's counters of the benefit year(s) that start in `year`."""
    return Accumulator.objects.filter(person=person, year_start__year=year).order_by("year_start", "bucket")


def settlements_of_facility(*, facility: Facility) -> QuerySet[Settlement]:
    """The facility's settlements, newest service date first, carrying only what the answer is built from."""
    return (Settlement.objects.filter(facility=facility).only("id", "setl_id", "status", "setl_date", "response")
            .order_by("-setl_date", "-id"))


def settlement_of_facility(*, facility: Facility, setl_id: str) -> Settlement | None:
    if not _is_number(setl_id):
        return None
    return only_row(Settlement.objects.filter(facility=facility, setl_id=setl_id))


class SettlementFilter(django_filters.FilterSet):
    """`setl_date_after` and `setl_date_before`, both inclusive."""

    setl_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Settlement
        fields = ["setl_date"]
