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
from accounts.mulaid import holder_active, mulaid_refusal, status_on_sql
from claims.models import Accumulator, Facility, Item, Recognition, Settlement
from claims.ties import tie_condition
from core.api_fields import ContractDateRangeField
from core.cache import process_cache
from core.queries import columns_of, for_update, instance_from_row, instances_where, only_row, placeholders
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
    """A person by number or ID number, with what `GET persons/{psn_no}/` shows prefetched, as it stands on `day`:
    enrollments with their dated statuses, the account, the family links active on `day` (as `active_links`, in
    link order) and of those the ones whose holder's account may pay on `day` (as `mulaid_payers`: mutual aid's
    bounds, accounts.mulaid, as a settlement that day applies them), and the recognitions at `facility` only (as
    `facility_recognitions`): a facility does not see where else a patient is recognised."""
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
    holder_enrollments = (Enrollment.objects.filter(insutype=InsuType.EMPLOYEE).select_related("region")
                          .prefetch_related("status_changes"))
    recognitions = (Recognition.objects.approved().select_related("disease").filter(facility=facility)
                    .order_by("begndate", "disease__opsp_dise_code", "id"))
    person = only_row(Person.objects.filter(lookup).select_related("account")
            .prefetch_related(Prefetch("enrollments", Enrollment.objects.select_related("region", "employer")
                                       .prefetch_related("status_changes").order_by("insutype", "id")),
                              Prefetch("links_as_relative", links, to_attr="active_links"),
                              Prefetch("active_links__holder__enrollments", holder_enrollments,
                                       to_attr="employee_enrollments"),
                              Prefetch("recognitions", recognitions, to_attr="facility_recognitions")))
    if person is not None:
        person.mulaid_payers = _mulaid_payers_on(person, facility, day)
    return person


def _mulaid_payers_on(person: Person, facility: Facility, day: datetime.date) -> list[FamilyLink]:
    """The active links (prefetched) whose holder's account may pay for `person` on `day`: the holder's employee
    enrollment active that day, in the patient's insured region (for a patient with no insurance here, the
    facility's)."""
    # The patient's enrollment as the settlement path picks it: one covering the day first, employee before resident.
    enrollments = sorted(person.enrollments.all(), key=lambda e: (
        not (e.begndate <= day and (e.enddate is None or day <= e.enddate)), e.insutype))
    admdvs = enrollments[0].region.admdvs if enrollments else facility.region.admdvs
    payers = []
    for link in person.active_links:
        employee = link.holder.employee_enrollments[0] if link.holder.employee_enrollments else None
        active = employee is not None and holder_active(status=employee.status_on(day), begndate=employee.begndate,
                                                        enddate=employee.enddate, day=day)
        if mulaid_refusal(holder_psn_no=link.holder.psn_no, holder_admdvs=employee.region.admdvs if employee else "",
                          active=active, patient_admdvs=admdvs, day=day) is None:
            payers.append(link)
    return payers


# --- the settlement path (hand-written SQL: core.queries) ---------------------------------------------------------

@dataclass(frozen=True)
class MulaidLink:
    """A family link active on the service date, seen from the patient: whose account, where that holder has
    employee insurance (`admdvs` empty: nowhere here) and whether that enrollment is active on the service date."""

    holder_id: int
    holder_psn_no: str
    relation: str
    admdvs: str
    active: bool = True


@dataclass(frozen=True)
class Patient:
    """Who a settlement is for: the person, their enrollment with its region (employee insurance, else resident
    insurance; None when they have neither here) and its status on the day (`status`), and the links through which
    relatives' accounts may pay on the day, in their order."""

    person: Person
    enrollment: Enrollment | None
    links: list[MulaidLink]
    status: str | None = None


@functools.cache
def _patient_sql(by_holder: bool, tie: str = "") -> str:
    t = {m.__name__: m._meta.db_table for m in (Person, Enrollment, Region, FamilyLink)}
    quote = connection.ops.quote_name
    # The patient's enrollment: the one whose period covers the day, employee insurance before resident.
    return (f"SELECT {columns_of(Person, 'p')}, {columns_of(Enrollment, 'e')}, {columns_of(Region, 'r')}, "
            f"{status_on_sql('e')}, l.holder_id, h.psn_no, l.relation, hr.admdvs, he.begndate, he.enddate, "
            f"{status_on_sql('he')} "
            f"FROM {t['Person']} p "
            f"LEFT JOIN {t['Enrollment']} e ON e.id = (SELECT e1.id FROM {t['Enrollment']} e1 "
            "WHERE e1.person_id = p.id AND e1.insutype IN (%s, %s) ORDER BY CASE WHEN e1.begndate <= %s AND "
            "(e1.enddate IS NULL OR e1.enddate >= %s) THEN 0 ELSE 1 END, e1.insutype LIMIT 1) "
            f"LEFT JOIN {t['Region']} r ON r.id = e.region_id "
            f"LEFT JOIN ({t['FamilyLink']} l JOIN {t['Person']} h ON h.id = l.holder_id"
            + (" AND h.psn_no = %s" if by_holder else "") + ") "
            "ON l.relative_id = p.id AND l.begndate <= %s AND (l.enddate IS NULL OR l.enddate >= %s) "
            f"LEFT JOIN {t['Enrollment']} he ON he.person_id = l.holder_id AND he.insutype = %s "
            f"LEFT JOIN {t['Region']} hr ON hr.id = he.region_id "
            f"WHERE p.psn_no = %s" + (f" AND {tie}" if tie else "") + f" ORDER BY l.{quote('order')}, l.id")


def _date(value: object) -> datetime.date | None:
    """A date column of a raw row (SQLite answers strings)."""
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def settlement_patient(*, psn_no: str, day: datetime.date, holder_psn_no: str | None = None,
                       tied_to: int | None = None) -> Patient | None:
    """The patient of a settlement on `day` (None: no person has this number), with the statuses on `day` of their
    enrollment and of each linked holder's, in one statement. With `holder_psn_no`, only the link from that
    relative. With `tied_to` (a facility id), a person that facility has no tie to now (claims.ties) is None too,
    as one who does not exist: the partner's check, in the same statement."""
    on = connection.ops.adapt_datefield_value(day)
    params = [on, on, InsuType.EMPLOYEE, InsuType.RESIDENT, on, on, *([holder_psn_no] if holder_psn_no else []),
              on, on, InsuType.EMPLOYEE, psn_no]
    tie = ""
    if tied_to is not None:
        tie, tie_params = tie_condition(facility_id=tied_to, person_column="p.id")
        params += tie_params
    with connection.cursor() as cursor:
        cursor.execute(_patient_sql(bool(holder_psn_no), tie), params)
        rows = cursor.fetchall()
    if not rows:
        return None
    n_person, n_enrollment = len(Person._meta.concrete_fields), len(Enrollment._meta.concrete_fields)
    n_region = len(Region._meta.concrete_fields)
    row = rows[0]
    person = instance_from_row(Person, row[:n_person])
    enrollment = None
    if row[n_person] is not None:
        enrollment = instance_from_row(Enrollment, row[n_person:n_person + n_enrollment])
        enrollment.person = person
        enrollment.region = instance_from_row(Region, row[n_person + n_enrollment:n_person + n_enrollment + n_region])
    links = [MulaidLink(holder_id=holder_id, holder_psn_no=holder_psn_no, relation=relation, admdvs=admdvs or "",
                        active=holder_active(status=status, begndate=_date(begndate), enddate=_date(enddate),
                                             day=day))
             for holder_id, holder_psn_no, relation, admdvs, begndate, enddate, status in (r[-7:] for r in rows)
             if holder_id is not None]
    return Patient(person=person, enrollment=enrollment, links=links,
                   status=row[n_person + n_enrollment + n_region] if enrollment is not None else None)


ITEM_CACHE_SECONDS = 60
_items = process_cache("catalog_items", seconds=ITEM_CACHE_SECONDS, max_entries=50_000)
_items.clear_on_change(Item)


def _items_load(codes: list[str]) -> dict[str, Item]:
    return {item.item_code: item for item in instances_where(Item, f"t.item_code IN ({placeholders(codes)})", codes)}


def catalog_items(codes: list[str]) -> dict[str, Item]:
    """The catalog entries of these item codes, by code (codes not in the catalog are absent). Bills name the same
    few thousand items all day: they are kept in a process cache (core.cache), cleared when an item is saved or a
    catalog imported (read-only: callers must not change them)."""
    found = _items.get_many(sorted(set(codes)), _items_load)
    return {code: item for code, item in found.items() if item is not None}


def accumulator_locked(*, person_id: int, year_start: datetime.date, bucket: str) -> Accumulator | None:
    """The counters row, locked until the transaction ends (None when the person has none yet)."""
    found = instances_where(Accumulator, "t.person_id = %s AND t.year_start = %s AND t.bucket = %s",
                            [person_id, connection.ops.adapt_datefield_value(year_start), bucket], suffix=for_update())
    return found[0] if found else None


def person_account(person: Person) -> PersonalAccount | None:
    """The person's account, or None when none was ever opened (works with or without select_related)."""
    try:
        return person.account
    except PersonalAccount.DoesNotExist:
        return None


def accumulators_of_year(*, person: Person, year: int) -> QuerySet[Accumulator]:
    """The person's counters of the benefit year(s) that start in `year`."""
    return Accumulator.objects.filter(person=person, year_start__year=year).order_by("year_start", "bucket")


def accumulators_on(*, person: Person, day: datetime.date) -> QuerySet[Accumulator]:
    """The person's counters of the benefit year that `day` falls in (a benefit year lasts one year from its
    start, whatever day the policy starts it on)."""
    try:
        year_before = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        year_before = datetime.date(day.year - 1, 2, 28)
    return (Accumulator.objects.filter(person=person, year_start__lte=day, year_start__gt=year_before)
            .order_by("year_start", "bucket"))


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
    setl_date.field_class = ContractDateRangeField

    class Meta:
        model = Settlement
        fields = ["setl_date"]
