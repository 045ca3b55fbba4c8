"""Reads for the partner API: persons with what a facility may see of them, accounts, accumulators and the
facility's settlements. Querysets are shaped so a page of results costs a fixed number of queries."""

import datetime
import functools
import re
from dataclasses import dataclass

import django_filters
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Enrollment, FamilyLink, InsuType, Person, PersonalAccount
from claims.models import Accumulator, Facility, Item, Recognition, Settlement
from core.queries import columns_of, for_update, instance_from_row, only_row
from policies.models import Region

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


# --- the settlement path (hand-written SQL: core.queries) ---------------------------------------------------------

@functools.cache
def _patient_sql() -> str:
    t = {m.__name__: m._meta.db_table for m in (Person, Enrollment, Region)}
    return (f"SELECT {columns_of(Person, 'p')}, {columns_of(Enrollment, 'e')}, {columns_of(Region, 'r')} "
            f"FROM {t['Person']} p LEFT JOIN {t['Enrollment']} e ON e.person_id = p.id AND e.insutype = %s "
            f"LEFT JOIN {t['Region']} r ON r.id = e.region_id WHERE p.psn_no = %s")


def settlement_patient(*, psn_no: str) -> tuple[Person | None, Enrollment | None]:
    """The person with this number and their employee-insurance enrollment with its region (None when they have
    none here), in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_patient_sql(), [InsuType.EMPLOYEE, psn_no])
        row = cursor.fetchone()
    if row is None:
        return None, None
    n_person, n_enrollment = len(Person._meta.concrete_fields), len(Enrollment._meta.concrete_fields)
    person = instance_from_row(Person, row[:n_person])
    if row[n_person] is None:
        return person, None
    enrollment = instance_from_row(Enrollment, row[n_person:n_person + n_enrollment])
    enrollment.person = person
    enrollment.region = instance_from_row(Region, row[n_person + n_enrollment:])
    return person, enrollment


@dataclass(frozen=True)
class MulaidLink:
    """A family link active on the service date, seen from the patient: whose account, and where that holder has
    employee insurance (`admdvs` empty: nowhere here)."""

    holder_id: int
    holder_psn_no: str
    relation: str
    admdvs: str


@functools.cache
def _links_sql(by_holder: bool) -> str:
    t = {m.__name__: m._meta.db_table for m in (FamilyLink, Person, Enrollment, Region)}
    quote = connection.ops.quote_name
    return (f"SELECT l.holder_id, h.psn_no, l.relation, r.admdvs FROM {t['FamilyLink']} l "
            f"JOIN {t['Person']} h ON h.id = l.holder_id "
            f"LEFT JOIN {t['Enrollment']} e ON e.person_id = l.holder_id AND e.insutype = %s "
            f"LEFT JOIN {t['Region']} r ON r.id = e.region_id "
            f"WHERE l.relative_id = %s AND l.begndate <= %s AND (l.enddate IS NULL OR l.enddate >= %s)"
            + (" AND h.psn_no = %s" if by_holder else "") + f" ORDER BY l.{quote('order')}, l.id")


def mulaid_links(*, person_id: int, day: datetime.date, holder_psn_no: str | None = None) -> list[MulaidLink]:
    """The links through which relatives' accounts may pay for this person on `day`, in their order (only the
    one from `holder_psn_no` when given), in one statement."""
    on = connection.ops.adapt_datefield_value(day)
    params = [InsuType.EMPLOYEE, person_id, on, on] + ([holder_psn_no] if holder_psn_no else [])
    with connection.cursor() as cursor:
        cursor.execute(_links_sql(bool(holder_psn_no)), params)
        return [MulaidLink(holder_id=holder_id, holder_psn_no=psn_no, relation=relation, admdvs=admdvs or "")
                for holder_id, psn_no, relation, admdvs in cursor.fetchall()]


def catalog_items(codes: list[str]) -> dict[str, Item]:
    """The catalog entries of these item codes, by code (codes not in the catalog are absent)."""
    codes = sorted(set(codes))
    sql = (f"SELECT {columns_of(Item, 'i')} FROM {Item._meta.db_table} i "
           f"WHERE i.item_code IN ({', '.join(['%s'] * len(codes))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, codes)
        items = [instance_from_row(Item, row) for row in cursor.fetchall()]
    return {item.item_code: item for item in items}


def accumulator_locked(*, person_id: int, year_start: datetime.date, bucket: str) -> Accumulator | None:
    """The counters row, locked until the transaction ends (None when the person has none yet)."""
    sql = (f"SELECT {columns_of(Accumulator, 'c')} FROM {Accumulator._meta.db_table} c "
           f"WHERE c.person_id = %s AND c.year_start = %s AND c.bucket = %s{for_update()}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [person_id, connection.ops.adapt_datefield_value(year_start), bucket])
        row = cursor.fetchone()
    return None if row is None else instance_from_row(Accumulator, row)


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
