"""Registry writes: person numbers, employers, persons without insurance."""

from collections.abc import Iterable, MutableMapping
from typing import Any

from django.db import transaction

from accounts.models import Employer, Person
from core.certno import certno_birth_date, certno_clean, certno_gender
from policies.models import Region

# A generated psn_no is the region code and a zero-padded serial: 310000 0000000001.
PSN_NO_SERIAL_DIGITS = 10


def _psn_no_highest_serial(admdvs: str) -> int:
    pattern = rf"^{admdvs}[0-9]{{{PSN_NO_SERIAL_DIGITS}}}$"
    # Same length and prefix, so the highest string is the highest serial.
    last = (Person.objects.filter(psn_no__regex=pattern).order_by("-psn_no")
            .values_list("psn_no", flat=True).first())
    return int(last[len(admdvs):]) if last else 0


class PsnNoSequence:
    """Hands out new psn_no values per region, continuing from the highest in the database.

    One query per region, then counting in memory; numbers in `taken` (e.g. given in the same import file) are
    skipped. Two concurrent imports may pick the same number: the unique constraint on psn_no then fails the later
    transaction instead of sharing a number.
    """

    def __init__(self, *, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)
        self._last: dict[str, int] = {}

    def reserve(self, psn_no: str) -> None:
        self._taken.add(psn_no)

    def next(self, *, admdvs: str) -> str:
        if admdvs not in self._last:
            self._last[admdvs] = _psn_no_highest_serial(admdvs)
        while True:
            self._last[admdvs] += 1
            candidate = f"{admdvs}{self._last[admdvs]:0{PSN_NO_SERIAL_DIGITS}d}"
            if candidate not in self._taken:
                self._taken.add(candidate)
                return candidate


def person_psn_no_generate(*, admdvs: str) -> str:
    """A psn_no not yet used in region `admdvs` (region code + 10-digit serial)."""
    return PsnNoSequence().next(admdvs=admdvs)


@transaction.atomic
def employer_ensure(*, emp_no: str, emp_name: str, region: Region,
                    known: MutableMapping[str, Employer] | None = None, user: Any = None) -> tuple[Employer, bool]:
    """The employer numbered `emp_no`: created in `region`, or renamed to `emp_name` (a blank name keeps it).

    `known` is a cache by emp_no (an importer's preload) that spares the query and is kept up to date. Returns
    the employer and whether it was written. An existing employer keeps its region.
    """
    employer = known.get(emp_no) if known is not None else Employer.objects.filter(emp_no=emp_no).first()
    if employer is not None and employer.pk is not None and (not emp_name or employer.emp_name == emp_name):
        return employer, False
    if employer is None:
        employer = Employer(emp_no=emp_no, emp_name=emp_name, region=region)
    elif emp_name:
        employer.emp_name = emp_name
    if user is not None:
        employer._history_user = user
    employer.save()
    if known is not None:
        known[emp_no] = employer
    return employer, True


@transaction.atomic
def person_create_uninsured(*, certno: str, psn_name: str, psn_no: str, user: Any = None) -> Person:
    """A person known only as someone's relative: birth date and gender taken from the ID number."""
    certno = certno_clean(certno)
    person = Person(psn_no=psn_no, certno=certno, psn_name=psn_name, gend=certno_gender(certno),
                    brdy=certno_birth_date(certno))
    if user is not None:
        person._history_user = user
    person.save(force_insert=True)
    return person
