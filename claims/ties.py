"""Which persons a facility may see and settle for (CONTRACT.md, "Partner REST API": the tie rule).

A partner token reads a person, previews or settles a bill for them only when its facility has a tie to that
person: it presented the person's full ID number (`persons/lookup/`, national 1101) in the last 24 hours, or the
person has a registration, a settlement in this or the last benefit year, a recognition or a signing there.
A recognition is one approved (an application, pending or refused, is not one); a cross-region filing names a
region, not a facility, and ties nobody.
Without a tie the answer is exactly the answer for a person who does not exist.

Each kind of tie is a *source*: an SQL condition on one table. The claims app registers lookups, settlements and
recognitions; apps that add a kind of tie (the gateway's registrations, clearing's signings) register theirs in
their `AppConfig.ready`. `person_tied` asks them all in one statement.
"""

import datetime
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

LOOKUP_WINDOW = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class TieContext:
    """What a source's parameters are computed from: the facility, the person, today (Asia/Shanghai) and now."""

    facility_id: int
    person_id: int
    today: datetime.date
    now: datetime.datetime

    @property
    def last_benefit_year_start(self) -> datetime.date:
        """The first day of the last benefit year. Every seeded policy's benefit year starts on 1 January; a
        policy whose year starts later only widens this by the months between."""
        return datetime.date(self.today.year - 1, 1, 1)


@dataclass(frozen=True)
class TieSource:
    """`where`: an SQL condition on `model`'s table (alias `t`) with `%s` placeholders for `params(context)`."""

    name: str
    model: type[Model]
    where: str
    params: Callable[[TieContext], Sequence[Any]]


_sources: dict[str, TieSource] = {}


def tie_source(source: TieSource) -> None:
    """Register a kind of tie (again under the same name: replaced)."""
    _sources[source.name] = source


def tie_sources() -> list[TieSource]:
    return list(_sources.values())


class _PersonColumn:
    """Stands for the person's id in a source's parameters when the tie is a condition of a larger statement."""


_PLACEHOLDER = re.compile(r"%%|%s")


def _adapt(value: Any) -> Any:
    if type(value) is datetime.date:
        return connection.ops.adapt_datefield_value(value)
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def tie_condition(*, facility_id: int, person_column: str, today: datetime.date | None = None,
                  ) -> tuple[str, list[Any]]:
    """The tie rule as one SQL condition (`%s` placeholders, and its parameters) on the person whose id is the
    column `person_column` of the caller's statement (`p.id`), so that reading a person and checking the tie is one
    statement (the settlement path: claims.selectors.settlement_patient). No source registered: false."""
    marker: Any = _PersonColumn()
    context = TieContext(facility_id=facility_id, person_id=marker, today=today or timezone.localdate(),
                         now=timezone.now())
    conditions, params = [], []
    for source in _sources.values():
        values = iter(source.params(context))

        def placeholder(match: re.Match, values: Iterator[Any] = values) -> str:
            if match.group() == "%%":
                return "%%"
            value = next(values)
            if value is marker:
                return person_column
            params.append(_adapt(value))
            return "%s"

        where = _PLACEHOLDER.sub(placeholder, source.where)
        conditions.append(f"EXISTS (SELECT 1 FROM {source.model._meta.db_table} t WHERE {where})")
    if not conditions:
        return "1 = 0", []
    return "(" + " OR ".join(conditions) + ")", params


def person_tied(*, facility_id: int, person_id: int, today: datetime.date | None = None) -> bool:
    """Whether the facility has a tie to the person now: one statement of EXISTS conditions."""
    context = TieContext(facility_id=facility_id, person_id=person_id, today=today or timezone.localdate(),
                         now=timezone.now())
    conditions, params = [], []
    for source in _sources.values():
        conditions.append(f"EXISTS (SELECT 1 FROM {source.model._meta.db_table} t WHERE {source.where})")
        params += [_adapt(v) for v in source.params(context)]
    if not conditions:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT CASE WHEN " + " OR ".join(conditions) + " THEN 1 ELSE 0 END", params)
        return bool(cursor.fetchone()[0])


def _register_claims_sources() -> None:
    from claims.models import PersonLookup, Recognition, RecognitionStatus, Settlement

    tie_source(TieSource(
        "lookup", PersonLookup, "t.facility_id = %s AND t.person_id = %s AND t.looked_up_at >= %s",
        lambda c: [c.facility_id, c.person_id, c.now - LOOKUP_WINDOW]))
    tie_source(TieSource(
        "settlement", Settlement, "t.facility_id = %s AND t.person_id = %s AND t.setl_date >= %s",
        lambda c: [c.facility_id, c.person_id, c.last_benefit_year_start]))
    tie_source(TieSource(
        "recognition", Recognition,
        "t.facility_id = %s AND t.person_id = %s AND t.status = %s AND (t.enddate IS NULL OR t.enddate >= %s)",
        lambda c: [c.facility_id, c.person_id, RecognitionStatus.APPROVED, c.last_benefit_year_start]))
