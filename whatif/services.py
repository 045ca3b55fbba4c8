"""What-if runs: a policy version's rules replayed over a region's real settlements of some months (whatif.replay),
summed beside what was paid. A run writes only its own rows (WhatIfRun, WhatIfCell, WhatIfTop)."""

from __future__ import annotations

import datetime
import hashlib
import heapq
import json
import logging
import multiprocessing
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO
from policies.models import PolicyVersion, Region
from whatif.models import AMOUNTS, COUNTS, SIDES, Dimension, WhatIfCell, WhatIfRun, WhatIfTop
from whatif.replay import AMOUNTS_AT, CHUNK, Replay, families_apart_pairs, replay_window

logger = logging.getLogger(__name__)

TOP = 20
# The totals CONTRACT.md's `run_whatif` prints, in its order.
CONTRACT_AMOUNTS = ("fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


class WhatIfError(ValueError):
    """A run that cannot be made (unknown version or region, months out of order)."""


def version_fingerprint(version: PolicyVersion) -> str:
    """A digest of everything in a version that settles a visit: its own settings and every row of its tables.
    The code, title, source and status are left out (publishing a draft does not change its rules)."""

    def values(obj: models.Model, skip: set[str]) -> dict[str, str]:
        return {f.attname: str(getattr(obj, f.attname)) for f in obj._meta.concrete_fields
                if f.attname not in skip}

    skip = {"id", "version_id"}
    content = {
        "version": values(version, {"id", "code", "title", "source_document", "status"}),
        **{name: sorted(json.dumps(values(row, skip), sort_keys=True) for row in getattr(version, name).all())
           for name in ("enrollee_classes", "benefit_rules", "credit_rules", "payment_methods", "reference_values")},
    }
    classes = {c.pk: c.code for c in version.enrollee_classes.all()}
    # A benefit rule names its class by id, which a clone changes: name it by code instead.
    content["benefit_rules"] = sorted(
        json.dumps({**values(r, skip | {"enrollee_class_id"}), "class": classes.get(r.enrollee_class_id, "")},
                   sort_keys=True) for r in version.benefit_rules.all())
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def month_start(value: str) -> datetime.date:
    """`YYYY-MM` as the month's first day."""
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise WhatIfError(_("%(value)s is not a month (YYYY-MM)") % {"value": value}) from None


def month_end(first: datetime.date) -> datetime.date:
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


# --- the sums ---------------------------------------------------------------------------------------------------

@dataclass
class Sums:
    """The sums over some settlements: counts and, per side, the amounts and the enrollees counted."""

    settlements: int = 0
    changed: int = 0
    refused: int = 0
    amounts: dict[str, list[Decimal]] = field(default_factory=lambda: {s: [ZERO] * len(AMOUNTS) for s in SIDES})
    counts: dict[str, list[int]] = field(default_factory=lambda: {s: [0] * len(COUNTS) for s in SIDES})

    @classmethod
    def of(cls, vector: Sequence) -> Sums:
        """The sums a VECTOR holds."""
        n = len(AMOUNTS)
        return cls(settlements=int(vector[0]), changed=int(vector[1]), refused=int(vector[2]),
                   amounts={"actual": list(vector[3:3 + n]), "whatif": list(vector[3 + n:3 + 2 * n])},
                   counts={"actual": [int(v) for v in vector[3 + 2 * n:5 + 2 * n]],
                           "whatif": [int(v) for v in vector[5 + 2 * n:7 + 2 * n]]})

    def amount(self, side: str, name: str) -> Decimal:
        return self.amounts[side][AMOUNTS.index(name)]

    def cell_values(self) -> dict[str, object]:
        values: dict[str, object] = {"settlements": self.settlements, "changed": self.changed,
                                     "refused": self.refused}
        for side in SIDES:
            values.update({f"{side}_{name}": self.amounts[side][i] for i, name in enumerate(AMOUNTS)})
            values.update({f"{side}_{name}": self.counts[side][i] for i, name in enumerate(COUNTS)})
        return values


# Sums kept as one flat list while a replay adds a million settlements to them (one C-level map a settlement):
# settlements, changed, refused, the AMOUNTS paid, the AMOUNTS under the version, the COUNTS paid, under the version.
VECTOR_ZERO = (0, 0, 0, *[ZERO] * (2 * len(AMOUNTS)), *[0] * (2 * len(COUNTS)))
FUND_PAID, FUND_WHATIF = 3, 3 + len(AMOUNTS)  # fund_pay_sumamt's places in a vector


def _vector_add(into: dict, key: object, vector: tuple) -> None:
    found = into.get(key)
    into[key] = list(map(operator.add, VECTOR_ZERO if found is None else found, vector))


@dataclass
class Outcome:
    """A replay's sums by enrollee class, facility level, medical-type group, month and facility together (`fine`:
    one add a settlement, rolled up into each dimension and into each facility's sums when read), and the sums of
    each enrollee (`persons`), as vectors (VECTOR_ZERO's layout). After a replay in processes, `persons` holds only
    the TOP most affected enrollees of each process (the most affected of all are among them)."""

    fine: dict[tuple[str, str, str, int, int, int], list] = field(default_factory=dict)
    persons: dict[int, list] = field(default_factory=dict)

    def add_all(self, results: Iterable[tuple], group_of: Callable[[str, bool], str]) -> None:
        """Add whatif.replay.Replay.results' tuples."""
        fine, persons, add, zero = self.fine, self.persons, operator.add, VECTOR_ZERO
        for row, enrollee_class, refused, whatif, flags in results:
            actual = row[AMOUNTS_AT:]
            day = row[5]
            vector = (1, actual != whatif, refused != "", *actual, *whatif, *flags)
            key = (enrollee_class, row[10], group_of(row[4], row[7]), day.year, day.month, row[3])
            found = fine.get(key)
            if found is None:
                fine[key] = list(map(add, zero, vector))
            else:
                found[:] = map(add, found, vector)
            found = persons.get(row[2])
            if found is None:
                persons[row[2]] = list(map(add, zero, vector))
            else:
                found[:] = map(add, found, vector)

    @property
    def cells(self) -> dict[tuple[str, str], Sums]:
        """The sums by (dimension, key): the total (key ""), and each enrollee class, facility level, medical-type
        group and month."""
        cells: dict[tuple[str, str], list] = {}
        for (enrollee_class, level, group, year, month, _facility), vector in self.fine.items():
            for key in ((Dimension.TOTAL, ""), (Dimension.ENROLLEE_CLASS, enrollee_class),
                        (Dimension.FACILITY_LEVEL, level), (Dimension.MED_TYPE_GROUP, group),
                        (Dimension.MONTH, f"{year:04d}-{month:02d}")):
                _vector_add(cells, key, vector)
        return {key: Sums.of(vector) for key, vector in cells.items()}

    @property
    def facilities(self) -> dict[int, list]:
        """The sums of each facility (vectors)."""
        facilities: dict[int, list] = {}
        for key, vector in self.fine.items():
            _vector_add(facilities, key[-1], vector)
        return facilities

    def merge(self, other: Outcome) -> None:
        """Add `other`'s sums (taken, not copied, where this has none of the key: `other` is not used after)."""
        for mine, theirs in ((self.fine, other.fine), (self.persons, other.persons)):
            for key, vector in theirs.items():
                if key in mine:
                    _vector_add(mine, key, vector)
                else:
                    mine[key] = vector

    @property
    def total(self) -> Sums:
        total: dict[str, list] = {}
        for vector in self.fine.values():
            _vector_add(total, "", vector)
        return Sums.of(total.get("", VECTOR_ZERO))

    @staticmethod
    def most_affected(vectors: dict[int, list]) -> list[tuple[int, Sums]]:
        """The TOP keys whose fund payments change most, the largest change first (ties by key)."""
        return [(pk, Sums.of(vector)) for pk, vector in _top(vectors) if vector[FUND_WHATIF] != vector[FUND_PAID]]


def _top(vectors: dict[int, list]) -> list[tuple[int, list]]:
    """The TOP (key, vector) whose fund payments change most, the largest change first (ties by key)."""

    def change(item: tuple[int, list]) -> tuple[Decimal, int]:
        return (-abs(item[1][FUND_WHATIF] - item[1][FUND_PAID]), item[0])

    return heapq.nsmallest(TOP, vectors.items(), key=change)


def whatif_replay(*, version: PolicyVersion, region: Region, month_from: datetime.date, month_to: datetime.date,
                  progress: Callable[[int, int], None] | None = None, processes: int = 1) -> Outcome:
    """Replay the region's settlements with service dates in the months `month_from` to `month_to` (first days)
    under `version`, from the start of the benefit year of `month_from` so the counters start as they would have;
    the settlements not reversed in those months are summed. Writes nothing. `progress(done, total)`.

    `processes` > 1 (PostgreSQL): families apart in that many forked processes (whatif.replay.families_apart),
    each on a connection of its own; the sums are the same."""
    end = month_end(month_to)
    window = {"region_id": region.pk, "insutype": version.insutype,
              "year_start": version.benefit_year_start_for(month_from), "end": end}
    period = (month_from, end)
    if processes > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        pairs = replay_window(**window, persons=True)
        if progress is not None:
            progress(0, len(pairs))
        if len(pairs) > CHUNK:
            return _replay_in_processes(version, region, pairs, period, processes, progress)
        ids = [pk for pk, _ in pairs]
    else:
        ids = replay_window(**window)
        if progress is not None:
            progress(0, len(ids))
    outcome = Outcome()
    replay = Replay(version=version, region_admdvs=region.admdvs, whole=True)
    outcome.add_all(replay.results(ids, period=period,
                                   progress=(lambda n: progress(n, len(ids))) if progress is not None else None),
                    replay.group_of)
    return outcome


# What the forked processes inherit (fork shares it without pickling a million ids).
_job: tuple[PolicyVersion, Region, list[list[int]], tuple[datetime.date, datetime.date]] | None = None


def _replay_part(part: int) -> tuple[Outcome, int]:
    # A forked child must never talk on a connection its parent opened (their answers would interleave): whatever
    # it inherited is dropped unclosed (closing would end the parent's session) and it opens its own.
    for inherited in connections.all(initialized_only=True):
        inherited.connection = None
    version, region, parts, period = _job
    outcome = Outcome()
    replay = Replay(version=version, region_admdvs=region.admdvs, whole=True)
    outcome.add_all(replay.results(parts[part], period=period), replay.group_of)
    connections.close_all()
    # A family's settlements all replay in one process, so the most affected enrollees of all are among the most
    # affected of each: only those are sent back (not every enrollee's sums).
    outcome.persons = dict(_top(outcome.persons))
    return outcome, len(parts[part])


def _replay_in_processes(version: PolicyVersion, region: Region, pairs: list[tuple[int, int]],
                         period: tuple[datetime.date, datetime.date], processes: int,
                         progress: Callable[[int, int], None] | None) -> Outcome:
    global _job
    _job = (version, region, families_apart_pairs(pairs, processes), period)
    connections.close_all()  # each child opens its own
    outcome, done = Outcome(), 0
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for part, n in pool.imap_unordered(_replay_part, range(processes)):
                outcome.merge(part)
                done += n
                if progress is not None:
                    progress(done, len(pairs))
    finally:
        _job = None
    return outcome


# --- runs -------------------------------------------------------------------------------------------------------

def whatif_run_create(*, version: PolicyVersion, region: Region, month_from: datetime.date,
                      month_to: datetime.date, actor: AbstractBaseUser | None) -> WhatIfRun:
    """Record a run (queued) and send it to the background (run in process when there is no broker)."""
    if month_to < month_from:
        raise WhatIfError(_("the last month is before the first"))
    run = WhatIfRun.objects.create(
        version=version, version_hash=version_fingerprint(version), region=region,
        month_from=month_from.replace(day=1), month_to=month_to.replace(day=1),
        created_by=actor if getattr(actor, "is_authenticated", False) else None)

    from whatif.tasks import whatif_run_task

    transaction.on_commit(lambda: whatif_run_task.delay(run.pk))
    return run


def whatif_run_execute(*, run_id: int) -> WhatIfRun | None:
    """Run a queued run: replay, then write its cells and most affected rows in one transaction. A run already
    taken (a redelivered message) is left alone; a failure is recorded on the run (status failed, its error)."""
    claimed = WhatIfRun.objects.filter(pk=run_id, status=WhatIfRun.Status.QUEUED).update(
        status=WhatIfRun.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return None
    run = WhatIfRun.objects.select_related("version", "region").get(pk=run_id)

    def progress(done: int, total: int) -> None:
        WhatIfRun.objects.filter(pk=run_id).update(done=done, total=total)

    try:
        outcome = whatif_replay(version=run.version, region=run.region, month_from=run.month_from,
                                month_to=run.month_to, progress=progress)
        _save(run, outcome)
    except Exception as e:  # recorded on the run for the staff who wait on it, and logged with its traceback
        logger.exception("what-if run %s failed", run_id)
        WhatIfRun.objects.filter(pk=run_id).update(status=WhatIfRun.Status.FAILED, error=str(e)[:2000],
                                                   finished_at=timezone.now())
    run.refresh_from_db()
    return run


@transaction.atomic
def _save(run: WhatIfRun, outcome: Outcome) -> None:
    WhatIfCell.objects.filter(run=run).delete()
    WhatIfTop.objects.filter(run=run).delete()
    WhatIfCell.objects.bulk_create([WhatIfCell(run=run, dimension=dimension, key=key, **sums.cell_values())
                                    for (dimension, key), sums in sorted(outcome.cells.items())])
    tops = []
    for kind, sums_by in ((WhatIfTop.Kind.ENROLLEE, outcome.persons), (WhatIfTop.Kind.FACILITY, outcome.facilities)):
        for rank, (pk, sums) in enumerate(outcome.most_affected(sums_by), start=1):
            tops.append(WhatIfTop(
                run=run, kind=kind, rank=rank, settlements=sums.settlements,
                person_id=pk if kind == WhatIfTop.Kind.ENROLLEE else None,
                facility_id=pk if kind == WhatIfTop.Kind.FACILITY else None,
                actual_fund_pay_sumamt=sums.amount("actual", "fund_pay_sumamt"),
                whatif_fund_pay_sumamt=sums.amount("whatif", "fund_pay_sumamt"),
                actual_psn_cash_pay=sums.amount("actual", "psn_cash_pay"),
                whatif_psn_cash_pay=sums.amount("whatif", "psn_cash_pay")))
    WhatIfTop.objects.bulk_create(tops)
    total = outcome.total
    WhatIfRun.objects.filter(pk=run.pk).update(
        status=WhatIfRun.Status.DONE, settlements=total.settlements, refused=total.refused,
        finished_at=timezone.now())


def contract_totals(*, version: PolicyVersion, region: Region, month_from: datetime.date, month_to: datetime.date,
                    sums: Sums) -> dict[str, object]:
    """CONTRACT.md's `run_whatif` answer."""
    return {
        "version": version.code, "admdvs": region.admdvs, "from": f"{month_from:%Y-%m}", "to": f"{month_to:%Y-%m}",
        "settlements": sums.settlements,
        **{side: {name: f"{sums.amount(side, name):.2f}" for name in CONTRACT_AMOUNTS} for side in SIDES},
    }

