"""The set-based writers of the streaming engine, one per kind.

A writer receives the validated values of each good row (`add`), loads them into a temporary staging table in
batches (`flush`: COPY on PostgreSQL), and, once the whole file is known to be good, writes everything with a few
statements (`finish`): a plan table joins the staging rows to the existing ones by the natural key and marks each
new, changed or unchanged; new rows are inserted, changed rows updated, unchanged rows not touched, and the
historical tables get one row per insert ('+') or update ('~') with the importing user, as django-simple-history
would have written them. Opening balances are ledger entries, posted as `accounts.ledger` posts them (accounts
locked, running balances, no pocket below zero). All of it runs in the import's one transaction.
"""

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tablib
from django.db import connection, models
from django.utils import timezone

from core.imports import sql
from core.imports.base import ImportResource, chunked, result_error_lines

WriteProgress = Callable[[float], None]  # the fraction of the writing done


@dataclass
class WriteResult:
    """What a writer did. `bad_rows`: rows found bad only when writing, as (line, column, message): the engine
    reports them like the rows validation refused, bad-rows file included, and nothing is written. `errors`: error
    lines of a writer that cannot point at rows of the file."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] | None = None
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)


class Writer:
    """The interface of a kind's writer (see the module docstring)."""

    def __init__(self, resource: ImportResource, *, user_id: int | None, path: Path) -> None:
        self.resource = resource
        self.user_id = user_id
        self.path = path
        self.rows: list[tuple[Any, ...]] = []
        self.tables: list[str] = []

    def begin(self, cursor: Any) -> None:
        """Create the staging table(s)."""

    def add(self, line: int, values: dict[str, Any], instance: models.Model) -> None:
        """Keep one good row for the next `flush`."""

    def flush(self, cursor: Any) -> None:
        """Load the rows kept since the last flush into the staging table."""

    def finish(self, cursor: Any, *, now: datetime.datetime, progress: WriteProgress) -> WriteResult:
        """Write the staged rows; counts of created, updated and unchanged rows."""
        raise NotImplementedError

    def end(self, cursor: Any) -> None:
        sql.drop_temp_tables(cursor, self.tables)


def _plan_counts(cursor: Any, plan: str, *, new_column: str) -> WriteResult:
    """Created, updated and unchanged rows of a plan table: a row is new where `new_column` (the existing row's id)
    is NULL, changed where `changed` = 1."""
    cursor.execute(f"SELECT COUNT(*), SUM(CASE WHEN {new_column} IS NULL THEN 1 ELSE 0 END), SUM(changed) "
                   f"FROM {plan}")
    total, created, updated = (int(v or 0) for v in cursor.fetchone())
    return WriteResult(created=created, updated=updated, unchanged=total - created - updated)


def _pk(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


class TableWriter(Writer):
    """One table keyed by a natural key; `clean_row` returns its values under the model's field names.
    `insert_values`: columns set only on a new row (an existing row keeps its own); `target_where`: an SQL condition
    on the existing rows (alias `t`) that hold the key, where the key is unique only among some (a partial unique
    constraint)."""

    key: tuple[str, ...] = ()
    value_fields: tuple[str, ...] = ()
    insert_values: tuple[tuple[str, Any], ...] = ()
    target_where: str = ""

    def __init__(self, resource: ImportResource, *, user_id: int | None, path: Path) -> None:
        super().__init__(resource, user_id=user_id, path=path)
        self.model = resource._meta.model
        self.fields = [self.model._meta.get_field(name) for name in (*self.key, *self.value_fields)]
        self.columns = [f.column for f in self.fields]
        self.key_columns = self.columns[:len(self.key)]
        self.value_columns = self.columns[len(self.key):]

    def begin(self, cursor: Any) -> None:
        self.stage = sql.temp_name("stage")
        self.plan = sql.temp_name("plan")
        self.tables += [self.stage, self.plan]
        sql.create_temp_table(cursor, self.stage, [("line", "integer")]
                              + [(f.column, sql.column_type(f)) for f in self.fields])

    def add(self, line: int, values: dict[str, Any], instance: models.Model) -> None:
        self.rows.append((line, *(_pk(values[f.name]) for f in self.fields)))

    def flush(self, cursor: Any) -> None:
        sql.load_rows(cursor, self.stage, ["line", *self.columns], self.rows)
        self.rows = []

    def finish(self, cursor: Any, *, now: datetime.datetime, progress: WriteProgress) -> WriteResult:
        table = self.model._meta.db_table
        sql.analyze(cursor, self.stage)
        on_key = " AND ".join([f"t.{c} = s.{c}" for c in self.key_columns] + ([self.target_where]
                                                                              if self.target_where else []))
        changed = " OR ".join(sql.differs(f"t.{c}", f"s.{c}") for c in self.value_columns) or "1 = 0"
        sql.create_temp_table_as(cursor, self.plan, (
            f"SELECT s.*, t.id AS target_id, CASE WHEN t.id IS NOT NULL AND ({changed}) THEN 1 ELSE 0 END AS changed "
            f"FROM {self.stage} s LEFT JOIN {table} t ON {on_key}"))
        progress(0.2)
        on_plan_key = " AND ".join([f"t.{c} = p.{c}" for c in self.key_columns] + ([self.target_where]
                                                                                   if self.target_where else []))
        constants = [(self.model._meta.get_field(name).column, value) for name, value in self.insert_values]
        insert_columns = [*self.columns, *(c for c, _ in constants)]
        select = [*self.columns, *("%s" for _ in constants)]
        sql.insert_with_history(
            cursor, self.model, insert=(f"INSERT INTO {table} ({', '.join(insert_columns)}) "
                                        f"SELECT {', '.join(select)} FROM {self.plan} WHERE target_id IS NULL "
                                        f"ORDER BY line"), params=[v for _, v in constants],
            created_source=f"{table} t JOIN {self.plan} p ON {on_plan_key} WHERE p.target_id IS NULL",
            when=now, user_id=self.user_id)
        progress(0.6)
        if self.value_columns:
            assignments = ", ".join(f"{c} = p.{c}" for c in self.value_columns)
            cursor.execute(f"UPDATE {table} SET {assignments} FROM {self.plan} p "
                           f"WHERE {table}.id = p.target_id AND p.changed = 1")
            sql.insert_history(cursor, self.model, source=f"{table} t JOIN {self.plan} p ON t.id = p.target_id "
                               "WHERE p.changed = 1", history_type="~", when=now, user_id=self.user_id)
        progress(1.0)
        return _plan_counts(cursor, self.plan, new_column="target_id")


class FacilityWriter(TableWriter):
    key = ("fixmedins_code",)
    value_fields = ("fixmedins_name", "fixmedins_type", "hosp_lv", "region", "begndate", "enddate", "online_service")


class ItemWriter(TableWriter):
    key = ("item_code",)
    value_fields = ("item_name", "chrg_item_lv", "selfpay_prop", "pric_uplmt_amt", "acct_pay_forbidden", "sep_pay_flag")


class DiseaseWriter(TableWriter):
    key = ("opsp_dise_code",)
    value_fields = ("opsp_dise_name", "opsp_dise_majcls_name", "recognition_criteria")


class RecognitionWriter(TableWriter):
    # Imported recognitions are approved as they are; the key is unique among the live ones (applied, approved).
    key = ("person", "disease", "facility", "begndate")
    value_fields = ("enddate",)
    insert_values = (("status", "approved"), ("source", "import"), ("criteria", ""), ("evidence", ""),
                     ("decision_note", ""))
    target_where = "t.status IN ('applied', 'approved')"


class CrossRegionFilingWriter(TableWriter):
    key = ("person", "mdtrtarea_admvs", "filing_type", "begndate")
    value_fields = ("enddate",)
    insert_values = (("status", "active"), ("memo", ""))


class SigningWriter(TableWriter):
    key = ("person", "facility", "begndate")
    value_fields = ("enddate",)


class ContributionWriter(TableWriter):
    key = ("person", "period")
    value_fields = ("clct_base", "psn_clct_amt", "emp_clct_amt")


class ResourceWriter(Writer):
    """The row-by-row fallback for a kind without a set-based writer: once the whole file has been validated, a
    second pass streams it again through the kind's resource (django-import-export's save path) in batches,
    inside the same transaction. Every kind has its own writer now; the tests compare each with this path."""

    batch_rows = 2000

    def finish(self, cursor: Any, *, now: datetime.datetime, progress: WriteProgress) -> WriteResult:
        from django.contrib.auth import get_user_model

        from core.imports.streaming import open_rows

        user = get_user_model().objects.filter(pk=self.user_id).first() if self.user_id else None
        resource = type(self.resource)()
        result = WriteResult()
        stream = open_rows(self.path)
        try:
            batch: list[tuple[int, list[str]]] = []

            def run(rows: list[tuple[int, list[str]]]) -> bool:
                dataset = tablib.Dataset(*[cells for _line, cells in rows], headers=stream.header)
                outcome = resource.import_data(dataset, dry_run=False, raise_errors=False, use_transactions=True,
                                               rollback_on_validation_errors=True,
                                               line_numbers=[line for line, _cells in rows], user=user)
                errors = result_error_lines(outcome, resource)
                if errors:
                    result.errors = errors
                    return False
                result.created += outcome.totals["new"]
                result.updated += outcome.totals["update"]
                result.unchanged += outcome.totals["skip"]
                progress(stream.fraction())
                return True

            for line, cells in stream.rows:
                batch.append((line, cells))
                if len(batch) >= self.batch_rows:
                    if not run(batch):
                        return result
                    batch = []
            if batch:
                run(batch)
        finally:
            stream.close()
        return result


# Two imports creating persons would otherwise hand out the same new numbers; the second waits for the first's commit.
PSN_NO_LOCK = 3100_0001


def psn_no_bases(cursor: Any, table: str, *, regions: str, file_max_serial: Mapping[str, int] | None = None) -> None:
    """Create the temporary `table` (admdvs, base): for each region code the SELECT `regions` gives, the highest
    serial of a generated psn_no there, in the database or in the file (`file_max_serial`); new numbers are
    `admdvs || zero-padded (base + n)` for n = 1, 2, … in file order (see `generated_psn_no`), as
    `accounts.services.PsnNoSequence` hands them out. One query per region, none per person. On PostgreSQL it
    first takes the transaction-level lock every import creating persons takes."""
    from accounts.services import _psn_no_highest_serial

    if sql.on_postgres():
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PSN_NO_LOCK])
    cursor.execute(regions)
    known = file_max_serial or {}
    bases = [(admdvs, max(_psn_no_highest_serial(admdvs), known.get(admdvs, 0))) for (admdvs,) in cursor.fetchall()]
    sql.create_temp_table(cursor, table, [("admdvs", "varchar(12)"), ("base", "bigint")])
    sql.load_rows(cursor, table, ["admdvs", "base"], bases)


def generated_psn_no(alias: str) -> str:
    """The SQL of a new psn_no from the columns `admdvs`, `base` (see `psn_no_bases`) and `rn` (the person's rank
    among the region's new persons, from 1) of `alias`."""
    from accounts.services import PSN_NO_SERIAL_DIGITS

    return f"{alias}.admdvs || {sql.zero_pad(f'{alias}.base + {alias}.rn', PSN_NO_SERIAL_DIGITS)}"


class RosterWriter(Writer):
    """Three tables from one row: employers (key emp_no), persons (key certno; psn_no generated per region when
    blank, continuing from the highest number in the database or the file) and enrollments of the row's insurance
    type (`insutype`), with their dated statuses (`stas_date`, as Enrollment.save records them)."""

    stage_columns = [("line", "integer"), ("certno", "varchar(18)"), ("psn_no", "varchar(30)"),
                     ("psn_name", "varchar(50)"), ("gend", "varchar(1)"), ("brdy", "date"),
                     ("psn_type", "varchar(4)"), ("region_id", "bigint"), ("admdvs", "varchar(12)"),
                     ("emp_no", "varchar(30)"), ("emp_name", "varchar(200)"), ("clct_base", "numeric(14, 2)"),
                     ("begndate", "date"), ("retire_date", "date"), ("psn_insu_stas", "varchar(1)"),
                     ("person_id", "bigint"), ("insutype", "varchar(3)"), ("stas_date", "date")]
    def __init__(self, resource: ImportResource, *, user_id: int | None, path: Path) -> None:
        from accounts.services import PSN_NO_SERIAL_DIGITS

        super().__init__(resource, user_id=user_id, path=path)
        self.file_max_serial: dict[str, int] = {}
        self.unchanged_unstaged = 0
        self.psn_no_length = 6 + PSN_NO_SERIAL_DIGITS

    def begin(self, cursor: Any) -> None:
        self.stage, self.emp, self.plan, self.bases = (sql.temp_name(p) for p in ("stage", "emp", "plan", "bases"))
        self.tables += [self.stage, self.emp, self.plan, self.bases]
        sql.create_temp_table(cursor, self.stage, self.stage_columns)

    def add(self, line: int, values: dict[str, Any], instance: models.Model) -> None:
        psn_no = values["psn_no"]
        if psn_no and len(psn_no) == self.psn_no_length and psn_no.isdigit():
            region, serial = psn_no[:6], int(psn_no[6:])
            if serial > self.file_max_serial.get(region, 0):
                self.file_max_serial[region] = serial
        region = values["region"]
        self.rows.append((line, values["certno"], psn_no, values["psn_name"], values["gend"], values["brdy"],
                          values["psn_type"], region.id, region.admdvs, values["emp_no"], values["emp_name"],
                          values["clct_base"], values["begndate"], values["retire_date"], values["psn_insu_stas"],
                          instance.pk, values["insutype"], values["stas_date"]))

    def flush(self, cursor: Any) -> None:
        rows = self._changing(cursor, self.rows)
        sql.load_rows(cursor, self.stage, [c for c, _t in self.stage_columns], rows)
        self.rows = []

    def _changing(self, cursor: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows that may change something; rows of persons already there whose person, enrollment of the
        row's type and employer are as the row gives them (and no dated status) are counted unchanged and not
        staged: most of a re-import. One query per batch. A row is left out only when every value is equal
        in Python where the plan's comparisons would find it unchanged; any doubt (a value read back as another
        type, a NULL) stages it, and the plan decides."""
        from accounts.models import Employer, Enrollment, Person

        existing = sorted({row[15] for row in rows if row[15] is not None and row[17] is None})
        if not existing:
            return rows
        person, enrollment, employer = (m._meta.db_table for m in (Person, Enrollment, Employer))
        select = (f"SELECT p.id, e.insutype, p.psn_name, p.gend, p.brdy, e.psn_type, e.region_id, em.emp_no, "
                  f"e.clct_base, e.begndate, e.retire_date, e.psn_insu_stas, em.emp_name FROM {person} p "
                  f"JOIN {enrollment} e ON e.person_id = p.id LEFT JOIN {employer} em ON em.id = e.employer_id ")
        found: dict[tuple[Any, str], tuple[Any, ...]] = {}
        if sql.on_postgres():
            cursor.execute(select + "WHERE p.id = ANY(CAST(string_to_array(%s, ',') AS bigint[]))",
                           [",".join(map(str, existing))])
            fetched = cursor.fetchall()
        else:
            fetched = []
            for chunk in chunked(existing):
                cursor.execute(select + f"WHERE p.id IN ({', '.join(['%s'] * len(chunk))})", chunk)
                fetched += cursor.fetchall()
        for person_id, insutype, *state in fetched:
            found[(person_id, insutype)] = tuple(state)
        changing = []
        for row in rows:
            state = found.get((row[15], row[16])) if row[17] is None else None
            if state is not None and state[:10] == (row[3], row[4], row[5], row[6], row[7], row[9] or None, row[11],
                                                    row[12], row[13], row[14]) and (not row[10]
                                                                                    or row[10] == state[10]):
                self.unchanged_unstaged += 1
            else:
                changing.append(row)
        return changing

    def finish(self, cursor: Any, *, now: datetime.datetime, progress: WriteProgress) -> WriteResult:
        from accounts.models import Employer, Enrollment, EnrollmentStatus, Person

        person, enrollment, employer = (m._meta.db_table for m in (Person, Enrollment, Employer))
        status = EnrollmentStatus._meta.db_table
        user, stage, emp, plan = self.user_id, self.stage, self.emp, self.plan
        if sql.on_postgres():
            # These statements each cost more than jit_above_cost and compile for longer than they run (the
            # plan's CREATE TABLE spent 0.6 s of 0.9 s compiling, 100,000 rows). For this transaction only;
            # put back below for whatever an enclosing transaction runs next.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"CREATE INDEX {stage}_line ON {stage} (line)")
        # Statistics of the columns joined, grouped or filtered on only (most of ANALYZE's time is the text
        # columns' statistics).
        sql.analyze(cursor, stage, ["line", "person_id", "insutype", "emp_no", "psn_no", "admdvs", "stas_date"])

        # Employers: the first row naming one creates it in that row's region; a later name renames it.
        sql.create_temp_table_as(cursor, emp, (
            f"SELECT f.emp_no, f.emp_name, s.region_id, f.first_line, e.id AS employer_id, "
            f"CASE WHEN e.id IS NULL THEN 1 ELSE 0 END AS is_new, "
            f"CASE WHEN e.id IS NOT NULL AND f.emp_name <> '' AND e.emp_name <> f.emp_name THEN 1 ELSE 0 END "
            f"AS is_changed "
            f"FROM (SELECT emp_no, MAX(emp_name) AS emp_name, MIN(line) AS first_line FROM {stage} "
            f"WHERE emp_no <> '' GROUP BY emp_no) f JOIN {stage} s ON s.line = f.first_line "
            f"LEFT JOIN {employer} e ON e.emp_no = f.emp_no"))
        cursor.execute(f"INSERT INTO {employer} (emp_no, emp_name, region_id) "
                       f"SELECT emp_no, emp_name, region_id FROM {emp} WHERE is_new = 1 ORDER BY first_line")
        cursor.execute(f"UPDATE {employer} SET emp_name = x.emp_name FROM {emp} x "
                       f"WHERE {employer}.id = x.employer_id AND x.is_changed = 1")
        sql.insert_history(cursor, Employer, source=f"{employer} t JOIN {emp} x ON x.emp_no = t.emp_no "
                           "WHERE x.is_new = 1 OR x.is_changed = 1",
                           history_type="CASE WHEN x.is_new = 1 THEN '+' ELSE '~' END", when=now, user_id=user)
        progress(0.1)

        # The plan: each row's employer id, enrollment id and what changes; a dated status (stas_date) not yet
        # recorded is a change.
        d = sql.differs
        recorded = (f"EXISTS (SELECT 1 FROM {status} st WHERE st.enrollment_id = e.id AND st.stas_date = s.stas_date "
                    "AND st.psn_insu_stas = s.psn_insu_stas)")
        sql.create_temp_table_as(cursor, plan, (
            f"SELECT s.*, em.id AS employer_id, e.id AS enrollment_id, e.psn_insu_stas AS old_stas, "
            f"CASE WHEN s.stas_date IS NOT NULL AND NOT {recorded} THEN 1 ELSE 0 END AS stas_new, "
            f"CASE WHEN s.person_id IS NOT NULL AND (p.psn_name <> s.psn_name OR p.gend <> s.gend "
            f"OR p.brdy <> s.brdy) THEN 1 ELSE 0 END AS person_changed, "
            f"CASE WHEN e.id IS NULL OR e.psn_type <> s.psn_type OR e.region_id <> s.region_id "
            f"OR {d('e.employer_id', 'em.id')} OR {d('e.clct_base', 's.clct_base')} OR e.begndate <> s.begndate "
            f"OR {d('e.retire_date', 's.retire_date')} OR e.psn_insu_stas <> s.psn_insu_stas "
            f"OR (s.stas_date IS NOT NULL AND NOT {recorded}) THEN 1 ELSE 0 END AS enrollment_changed, "
            f"CASE WHEN x.first_line = s.line AND (x.is_new = 1 OR x.is_changed = 1) THEN 1 ELSE 0 END "
            f"AS employer_changed "
            f"FROM {stage} s LEFT JOIN {person} p ON p.id = s.person_id "
            f"LEFT JOIN {enrollment} e ON e.person_id = s.person_id AND e.insutype = s.insutype "
            f"LEFT JOIN {employer} em ON em.emp_no = s.emp_no LEFT JOIN {emp} x ON x.emp_no = s.emp_no"),
            analyzed=["line", "certno", "person_id", "enrollment_id", "admdvs", "insutype", "psn_no", "old_stas",
                      "psn_insu_stas", "stas_new", "person_changed", "enrollment_changed", "employer_changed"])
        progress(0.25)

        # New persons, numbered per region in file order when the file gives no number.
        psn_no_bases(cursor, self.bases, regions=f"SELECT DISTINCT admdvs FROM {self.stage} "
                     "WHERE person_id IS NULL AND psn_no = ''", file_max_serial=self.file_max_serial)
        generated = generated_psn_no("g")
        sql.insert_with_history(cursor, Person, insert=(
            f"INSERT INTO {person} (psn_no, certno, psn_name, gend, brdy, created_at) "
            f"SELECT CASE WHEN g.psn_no <> '' THEN g.psn_no ELSE {generated} END, g.certno, g.psn_name, g.gend, "
            f"g.brdy, %s FROM (SELECT pl.line, pl.psn_no, pl.admdvs, pl.certno, pl.psn_name, pl.gend, pl.brdy, "
            f"COALESCE(b.base, 0) AS base, ROW_NUMBER() OVER (PARTITION BY pl.admdvs, "
            f"CASE WHEN pl.psn_no = '' THEN 0 ELSE 1 END ORDER BY pl.line) AS rn "
            f"FROM {plan} pl LEFT JOIN {self.bases} b ON b.admdvs = pl.admdvs WHERE pl.person_id IS NULL) g "
            f"ORDER BY g.line"), params=[sql.param(now)],
            created_source=f"{person} t JOIN {plan} pl ON pl.certno = t.certno WHERE pl.person_id IS NULL",
            when=now, user_id=user)
        progress(0.45)
        cursor.execute(f"UPDATE {person} SET psn_name = pl.psn_name, gend = pl.gend, brdy = pl.brdy FROM {plan} pl "
                       f"WHERE {person}.id = pl.person_id AND pl.person_changed = 1")
        sql.insert_history(cursor, Person, source=f"{person} t JOIN {plan} pl ON pl.person_id = t.id "
                           "WHERE pl.person_changed = 1", history_type="~", when=now, user_id=user)
        progress(0.55)

        # Enrollments: new ones (new persons, or persons without an enrollment of the row's type), then changed
        # ones.
        sql.insert_with_history(cursor, Enrollment, insert=(
            f"INSERT INTO {enrollment} (person_id, insutype, psn_type, region_id, employer_id, clct_base, begndate, "
            f"enddate, retire_date, psn_insu_stas) SELECT p.id, pl.insutype, pl.psn_type, pl.region_id, "
            f"pl.employer_id, pl.clct_base, pl.begndate, NULL, pl.retire_date, pl.psn_insu_stas FROM {plan} pl "
            f"JOIN {person} p ON p.certno = pl.certno WHERE pl.enrollment_id IS NULL ORDER BY pl.line"), params=[],
            created_source=(f"{enrollment} t JOIN {person} p ON p.id = t.person_id JOIN {plan} pl "
                            f"ON pl.certno = p.certno WHERE pl.enrollment_id IS NULL AND t.insutype = pl.insutype"),
            when=now, user_id=user)
        progress(0.8)
        cursor.execute(
            f"UPDATE {enrollment} SET psn_type = pl.psn_type, region_id = pl.region_id, "
            f"employer_id = pl.employer_id, clct_base = pl.clct_base, begndate = pl.begndate, "
            f"retire_date = pl.retire_date, psn_insu_stas = pl.psn_insu_stas FROM {plan} pl "
            f"WHERE {enrollment}.id = pl.enrollment_id AND pl.enrollment_changed = 1")
        sql.insert_history(cursor, Enrollment, source=f"{enrollment} t JOIN {plan} pl ON pl.enrollment_id = t.id "
                           "WHERE pl.enrollment_changed = 1", history_type="~", when=now, user_id=user)
        # Dated statuses: a new enrollment's from stas_date or begndate, a changed status from stas_date or the
        # import day, and a stas_date not recorded yet; one a day per enrollment (the file's wins).
        today = timezone.localtime(now).date()
        cursor.execute(
            f"INSERT INTO {status} (enrollment_id, stas_date, psn_insu_stas, created_at) "
            f"SELECT t.id, CASE WHEN pl.stas_date IS NOT NULL THEN pl.stas_date WHEN pl.enrollment_id IS NULL "
            f"THEN pl.begndate ELSE %s END, pl.psn_insu_stas, %s FROM {plan} pl "
            f"JOIN {person} p ON p.certno = pl.certno JOIN {enrollment} t ON t.person_id = p.id "
            f"AND t.insutype = pl.insutype "
            f"WHERE pl.enrollment_id IS NULL OR pl.old_stas <> pl.psn_insu_stas OR pl.stas_new = 1 "
            f"ON CONFLICT (enrollment_id, stas_date) DO UPDATE SET psn_insu_stas = excluded.psn_insu_stas",
            [sql.param(today), sql.param(now)])
        progress(1.0)

        cursor.execute(
            f"SELECT COUNT(*), SUM(CASE WHEN person_id IS NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN person_id IS NOT NULL AND (person_changed = 1 OR enrollment_changed = 1 "
            f"OR employer_changed = 1) THEN 1 ELSE 0 END) FROM {plan}")
        total, created, updated = (int(v or 0) for v in cursor.fetchone())
        if sql.on_postgres():
            cursor.execute("SET LOCAL jit TO DEFAULT")
        return WriteResult(created=created, updated=updated,
                           unchanged=total - created - updated + self.unchanged_unstaged)


class FamilyLinkWriter(Writer):
    """Family links, key (holder, relative). A relative who is not a person yet is created uninsured (gender and
    birth date from the ID number) from the first row naming it, numbered like the roster's new persons in the
    region of that row's holder's employee enrollment (the ID number's province, `xx0000`, when the holder has
    none). A new link comes after the relative's existing links: `order` is their highest plus 1, 2, … in file
    order. Changed links are updated; `order` never changes."""

    stage_columns = [("line", "integer"), ("holder_id", "bigint"), ("relative_id", "bigint"), ("certno", "varchar(18)"),
                     ("relative_name", "varchar(50)"), ("gend", "varchar(1)"), ("brdy", "date"),
                     ("relation", "varchar(10)"), ("begndate", "date"), ("enddate", "date")]

    def begin(self, cursor: Any) -> None:
        self.stage, self.new, self.bases, self.plan = (sql.temp_name(p) for p in ("stage", "new", "bases", "plan"))
        self.tables += [self.stage, self.new, self.bases, self.plan]
        sql.create_temp_table(cursor, self.stage, self.stage_columns)

    def add(self, line: int, values: dict[str, Any], instance: models.Model) -> None:
        from core.certno import certno_birth_date, certno_gender

        relative, certno = values["relative"], values["certno"]
        gend, brdy = (None, None) if relative is not None else (certno_gender(certno), certno_birth_date(certno))
        self.rows.append((line, values["holder"].pk, relative.pk if relative is not None else None, certno,
                          values["relative_name"], gend, brdy, values["relation"], values["begndate"],
                          values["enddate"]))

    def flush(self, cursor: Any) -> None:
        sql.load_rows(cursor, self.stage, [c for c, _t in self.stage_columns], self.rows)
        self.rows = []

    def finish(self, cursor: Any, *, now: datetime.datetime, progress: WriteProgress) -> WriteResult:
        from accounts.models import Enrollment, FamilyLink, InsuType, Person
        from policies.models import Region

        person, link, enrollment, region = (m._meta.db_table for m in (Person, FamilyLink, Enrollment, Region))
        stage, new, plan, user = self.stage, self.new, self.plan, self.user_id
        order = connection.ops.quote_name("order")
        sql.analyze(cursor, stage)

        # New relatives: one per ID number, from its first row in the file (the one that must name it).
        sql.create_temp_table_as(cursor, new, (
            f"SELECT f.line, f.certno, f.relative_name AS psn_name, f.gend, f.brdy, "
            f"COALESCE(r.admdvs, substr(f.certno, 1, 2) || '0000') AS admdvs "
            f"FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.certno ORDER BY s.line) AS nth "
            f"FROM {stage} s WHERE s.relative_id IS NULL) f "
            f"LEFT JOIN {enrollment} e ON e.person_id = f.holder_id AND e.insutype = %s "
            f"LEFT JOIN {region} r ON r.id = e.region_id WHERE f.nth = 1"), [InsuType.EMPLOYEE.value])
        psn_no_bases(cursor, self.bases, regions=f"SELECT DISTINCT admdvs FROM {new}")
        sql.insert_with_history(cursor, Person, insert=(
            f"INSERT INTO {person} (psn_no, certno, psn_name, gend, brdy, created_at) "
            f"SELECT {generated_psn_no('g')}, g.certno, g.psn_name, g.gend, g.brdy, %s "
            f"FROM (SELECT n.*, COALESCE(b.base, 0) AS base, "
            f"ROW_NUMBER() OVER (PARTITION BY n.admdvs ORDER BY n.line) AS rn "
            f"FROM {new} n LEFT JOIN {self.bases} b ON b.admdvs = n.admdvs) g ORDER BY g.line"),
            params=[sql.param(now)], created_source=f"{person} t JOIN {new} n ON n.certno = t.certno",
            when=now, user_id=user)
        progress(0.3)

        # The plan: each row's relative, its link if any, whether it changes, and the relative's highest order.
        d = sql.differs
        sql.create_temp_table_as(cursor, plan, (
            f"SELECT s.line, s.holder_id, p.id AS relative_id, s.relation, s.begndate, s.enddate, l.id AS link_id, "
            f"CASE WHEN l.id IS NOT NULL AND (l.relation <> s.relation OR l.begndate <> s.begndate "
            f"OR {d('l.enddate', 's.enddate')}) THEN 1 ELSE 0 END AS changed, "
            f"CASE WHEN l.id IS NULL THEN COALESCE((SELECT MAX(x.{order}) FROM {link} x "
            f"WHERE x.relative_id = p.id), 0) ELSE 0 END AS max_order "
            f"FROM {stage} s JOIN {person} p ON p.certno = s.certno "
            f"LEFT JOIN {link} l ON l.holder_id = s.holder_id AND l.relative_id = p.id"))
        progress(0.5)

        sql.insert_with_history(cursor, FamilyLink, insert=(
            f"INSERT INTO {link} (holder_id, relative_id, relation, begndate, enddate, {order}) "
            f"SELECT holder_id, relative_id, relation, begndate, enddate, "
            f"max_order + ROW_NUMBER() OVER (PARTITION BY relative_id ORDER BY line) "
            f"FROM {plan} WHERE link_id IS NULL ORDER BY line"), params=[],
            created_source=(f"{link} t JOIN {plan} p ON p.holder_id = t.holder_id AND p.relative_id = t.relative_id "
                            "WHERE p.link_id IS NULL"),
            when=now, user_id=user)
        progress(0.8)
        cursor.execute(f"UPDATE {link} SET relation = p.relation, begndate = p.begndate, enddate = p.enddate "
                       f"FROM {plan} p WHERE {link}.id = p.link_id AND p.changed = 1")
        sql.insert_history(cursor, FamilyLink, source=f"{link} t JOIN {plan} p ON p.link_id = t.id "
                           "WHERE p.changed = 1", history_type="~", when=now, user_id=user)
        progress(1.0)

        return _plan_counts(cursor, plan, new_column="link_id")


class BalanceWriter(Writer):
    """Opening balances from a former system, key (person, pocket), posted to the ledger as `accounts.ledger`
    posts: the accounts locked in primary-key order (PostgreSQL), opened where missing, each entry's
    `balance_after` its pocket's balance after it, the balances moved in the same transaction, no pocket below
    zero, entries only ever inserted.

    A pocket without an opening entry gets one for the amount (nothing for zero: created when that opens the
    account, unchanged when the account is there already, so a re-import reports nothing new); the amount of its
    opening entry again posts nothing (unchanged). An opening balance is set once: another amount for a pocket
    that has one is refused (`accounts.resources.OPENING_SET`: a change is a correction a second person approves),
    as is every row of a live account (any entry other than an opening balance); both are validated first and
    checked again under the locks. The key is unique in a file, so each pocket gets at most one entry per import.
    """

    stage_columns = [("line", "integer"), ("person_id", "bigint"), ("pocket", "varchar(10)"),
                     ("amount", "numeric(12, 2)"), ("amount_text", "varchar(40)"), ("as_of", "date")]
    CREATED, UPDATED, UNCHANGED = 1, 2, 0

    def begin(self, cursor: Any) -> None:
        self.stage, self.imported, self.plan = (sql.temp_name(p) for p in ("stage", "imported", "plan"))
        self.tables += [self.stage, self.imported, self.plan]
        sql.create_temp_table(cursor, self.stage, self.stage_columns)

    def add(self, line: int, values: dict[str, Any], instance: models.Model) -> None:
        amount = values["amount"]
        # The amount as the row-by-row path prints it in a correction's reason: the Decimal read from the cell.
        self.rows.append((line, values["person"].pk, values["pocket"], amount, str(amount), values["as_of"]))

    def flush(self, cursor: Any) -> None:
        sql.load_rows(cursor, self.stage, [c for c, _t in self.stage_columns], self.rows)
        self.rows = []

    def _lock(self, cursor: Any, persons: str) -> int:
        """Lock the accounts of the persons the SELECT `persons` gives, in primary-key order (PostgreSQL; SQLite
        locks the database for the writing transaction). Returns how many it locked."""
        if not sql.on_postgres():
            return 0
        from accounts.models import PersonalAccount

        cursor.execute(f"SELECT COUNT(*) FROM (SELECT a.id FROM {PersonalAccount._meta.db_table} a "
                       f"WHERE a.person_id IN ({persons}) ORDER BY a.id FOR UPDATE) locked")
        return int(cursor.fetchone()[0])

    def finish(self, cursor: Any, *, now: datetime.datetime, progress: WriteProgress) -> WriteResult:
        from django.utils.translation import gettext as _
        from django.utils.translation import gettext_noop

        from accounts.models import EntryKind, LedgerEntry, PersonalAccount
        from accounts.resources import BALANCES_IMPORT
        from core.money import fen

        accounts, ledger = PersonalAccount._meta.db_table, LedgerEntry._meta.db_table
        stage, plan, money = self.stage, self.plan, sql.money
        created, updated, unchanged = self.CREATED, self.UPDATED, self.UNCHANGED
        sql.analyze(cursor, stage)
        # Lock first, so that what the plan reads (entries, balances) cannot change before it is written.
        self._lock(cursor, f"SELECT person_id FROM {stage}")
        progress(0.1)
        # Validated before the lock; checked again under it: no opening balance for a live account.
        from accounts.models import Person
        from accounts.resources import LIVE_ACCOUNT
        from core.imports.messages import stored_gettext

        cursor.execute(
            f"SELECT s.line, p.psn_no FROM {stage} s JOIN {Person._meta.db_table} p ON p.id = s.person_id "
            f"JOIN {accounts} a ON a.person_id = s.person_id WHERE EXISTS (SELECT 1 FROM {ledger} x "
            f"WHERE x.account_id = a.id AND x.kind <> %s) ORDER BY s.line",
            [EntryKind.OPENING_BALANCE.value])
        live = cursor.fetchall()
        if live:
            return WriteResult(created=0, updated=0, unchanged=0,
                               bad_rows=[(line, "psn_no", stored_gettext(LIVE_ACCOUNT) % {"psn_no": psn_no})
                                         for line, psn_no in live])

        # Per account and pocket: whether it has an opening entry, and its amount (the standing).
        # One pass over those entries, aggregated into a table of its own with fresh statistics: joined to the
        # ledger row by row, a planner misled by stale ledger statistics (after a large import, before autovacuum
        # analyses it) compared every staged row with every opening entry (112 s for a 100,000-row re-import).
        sql.create_temp_table_as(cursor, self.imported, (
            f"SELECT account_id, pocket, SUM(amount) AS standing, 1 AS opened FROM {ledger} "
            f"WHERE kind = %s GROUP BY account_id, pocket"), [EntryKind.OPENING_BALANCE.value])
        same = "i.standing = s.amount" if sql.on_postgres() else "ROUND(i.standing - s.amount, 2) = 0"
        sql.create_temp_table_as(cursor, plan, (
            f"SELECT s.line, s.person_id, s.pocket, s.amount, s.amount_text, s.as_of, a.id AS account_id, "
            f"i.standing, CASE WHEN COALESCE(i.opened, 0) = 0 AND s.amount = 0 AND a.id IS NOT NULL THEN {unchanged} "
            f"WHEN COALESCE(i.opened, 0) = 0 THEN {created} "
            f"WHEN i.standing IS NOT NULL AND {same} THEN {unchanged} ELSE {updated} END AS outcome, "
            f"CASE WHEN COALESCE(i.opened, 0) = 0 THEN s.amount "
            f"ELSE {money('s.amount - COALESCE(i.standing, 0)')} END AS change "
            f"FROM {stage} s LEFT JOIN {accounts} a ON a.person_id = s.person_id "
            f"LEFT JOIN {self.imported} i ON i.account_id = a.id AND i.pocket = s.pocket"))
        progress(0.3)
        cursor.execute(f"SELECT SUM(CASE WHEN outcome = {created} THEN 1 ELSE 0 END), "
                       f"SUM(CASE WHEN outcome = {updated} THEN 1 ELSE 0 END), "
                       f"SUM(CASE WHEN outcome = {unchanged} THEN 1 ELSE 0 END), "
                       f"COUNT(DISTINCT CASE WHEN outcome <> {unchanged} AND account_id IS NULL THEN person_id END) "
                       f"FROM {plan}")
        n_created, n_updated, n_unchanged, to_open = (int(v or 0) for v in cursor.fetchone())
        result = WriteResult(created=n_created, updated=n_updated, unchanged=n_unchanged)
        if n_updated:
            # Validated before the lock; checked again under it: an opening balance is set once.
            from accounts.resources import OPENING_SET

            cursor.execute(f"SELECT p.line, p.pocket, x.psn_no, p.standing FROM {plan} p "
                           f"JOIN {Person._meta.db_table} x ON x.id = p.person_id WHERE p.outcome = %s "
                           f"ORDER BY p.line", [updated])
            opening_set = stored_gettext(OPENING_SET)
            return WriteResult(created=0, updated=0, unchanged=0, bad_rows=[
                (line, "amount", opening_set % {"pocket": pocket, "psn_no": psn_no, "opening": fen(str(opening))})
                for line, pocket, psn_no, opening in cursor.fetchall()])

        # A correction may not take a pocket below zero (an opening balance is never negative).
        balance = "CASE p.pocket WHEN 'current' THEN a.balc_current ELSE a.balc_historical END"
        cursor.execute(f"SELECT p.line, p.pocket, {balance}, p.change FROM {plan} p "
                       f"JOIN {accounts} a ON a.id = p.account_id "
                       f"WHERE p.outcome <> %s AND {money(f'{balance} + p.change')} < 0 ORDER BY p.line", [unchanged])
        below_zero = cursor.fetchall()
        if below_zero:
            # The row-by-row path's message: ledger_post's refusal as the row's save error.
            unsaved = stored_gettext(gettext_noop("the row could not be saved: %(error)s"))
            short = stored_gettext(gettext_noop("the %(pocket)s pocket holds %(balance)s yuan, %(amount)s yuan is "
                                                "needed"))
            result.bad_rows = [(line, "psn_no", unsaved % {"error": short % {
                "pocket": pocket, "balance": fen(str(held)), "amount": -fen(str(change))}})
                for line, pocket, held, change in below_zero]
            return result
        progress(0.4)

        # Accounts opened where missing (`accounts_open`), for every row that is not unchanged, in file order; on
        # PostgreSQL a concurrent import may have opened some meanwhile: those are locked now.
        if to_open:
            conflict = " ON CONFLICT (person_id) DO NOTHING" if sql.on_postgres() else ""
            cursor.execute(f"INSERT INTO {accounts} (person_id, balc_current, balc_historical, created_at) "
                           f"SELECT person_id, 0, 0, %s FROM (SELECT person_id, MIN(line) AS first_line FROM {plan} "
                           f"WHERE outcome <> %s AND account_id IS NULL GROUP BY person_id) m "
                           f"ORDER BY first_line{conflict}", [sql.param(now), unchanged])
            if cursor.rowcount < to_open:
                self._lock(cursor, f"SELECT person_id FROM {plan} WHERE outcome <> {unchanged} "
                                   "AND account_id IS NULL")
        progress(0.5)

        # The opening entries, in file order.
        cursor.execute(
            f"INSERT INTO {ledger} (account_id, kind, pocket, amount, balance_after, period, ref_type, ref_id, reason, "
            f"created_at, created_by_id) "
            f"SELECT a.id, %s, p.pocket, p.change, {money(f'{balance} + p.change')}, p.as_of, %s, '', %s, %s, %s "
            f"FROM {plan} p JOIN {accounts} a ON a.person_id = p.person_id "
            f"WHERE p.outcome = %s AND p.change <> 0 ORDER BY p.line",
            [EntryKind.OPENING_BALANCE.value, BALANCES_IMPORT, _("opening balance from the former system"),
             sql.param(now), self.user_id, created])
        progress(0.8)
        # Each account's balances moved by its entries, in one statement.
        cursor.execute(
            f"UPDATE {accounts} SET balc_current = {money(f'{accounts}.balc_current + m.cur')}, "
            f"balc_historical = {money(f'{accounts}.balc_historical + m.hist')} "
            f"FROM (SELECT person_id, SUM(CASE WHEN pocket = 'current' THEN change ELSE 0 END) AS cur, "
            f"SUM(CASE WHEN pocket = 'historical' THEN change ELSE 0 END) AS hist FROM {plan} "
            f"WHERE outcome <> %s AND change <> 0 GROUP BY person_id) m WHERE {accounts}.person_id = m.person_id",
            [unchanged])
        progress(1.0)
        return result


WRITERS: dict[str, type[Writer]] = {
    "roster": RosterWriter,
    "facilities": FacilityWriter,
    "items": ItemWriter,
    "diseases": DiseaseWriter,
    "recognitions": RecognitionWriter,
    "contributions": ContributionWriter,
    "family_links": FamilyLinkWriter,
    "balances": BalanceWriter,
    "signings": SigningWriter,
    "cross_region_filings": CrossRegionFilingWriter,
}


def writer_for(kind: str, resource: ImportResource, *, user_id: int | None, path: Path) -> Writer:
    """The writer of KIND (a kind without a set-based writer goes through its resource)."""
    return WRITERS.get(kind, ResourceWriter)(resource, user_id=user_id, path=path)
