"""The import kinds, per-row validation (`RowReader`) and the resource base (reading files: `streaming`).

The resources (`accounts.resources`, `claims.resources`) are django-import-export `ModelResource`s: the admin's
small-file preview/confirm pages run them row by row (`import_table`). The streaming engine (`core.imports.engine`)
runs the same per-row validation (`ImportResource.validate_row`) and writes set-based.
"""

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection as db_connection
from django.db import models, transaction
from django.db.models import F, Lookup
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy
from import_export import resources
from import_export.results import Result
from stdnum.cn import ric

from core.certno import _area_known, certno_clean
from core.imports.messages import JoinedMessage, Message, as_message, exception_message, fixed_format
from core.imports.messages import stored_gettext as _
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

T = TypeVar("T")
FastValidator = Callable[[int, list[str]], "tuple[dict[str, Any], models.Model] | None"]

# KIND -> resource class; dotted paths so that `core` does not import the apps at load time.
IMPORT_KINDS: dict[str, str] = {
    "roster": "accounts.resources.RosterResource",
    "family_links": "accounts.resources.FamilyLinkResource",
    "facilities": "claims.resources.FacilityResource",
    "items": "claims.resources.ItemResource",
    "diseases": "claims.resources.DiseaseResource",
    "recognitions": "claims.resources.RecognitionResource",
    "contributions": "accounts.resources.ContributionResource",
    "balances": "accounts.resources.BalanceResource",
    "signings": "clearing.resources.SigningResource",
    "cross_region_filings": "claims.resources.CrossRegionFilingResource",
}

# What staff read for each kind (the code is what `import_csv` takes).
IMPORT_KIND_LABELS: dict[str, str] = {
    "roster": gettext_lazy("enrollee roster"),
    "family_links": gettext_lazy("family links"),
    "facilities": gettext_lazy("designated facilities"),
    "items": gettext_lazy("catalog items"),
    "diseases": gettext_lazy("chronic and special diseases"),
    "recognitions": gettext_lazy("disease recognitions"),
    "contributions": gettext_lazy("contribution records"),
    "balances": gettext_lazy("opening balances"),
    "signings": gettext_lazy("primary-care signings"),
    "cross_region_filings": gettext_lazy("cross-region filings"),
}

# SQLite allows 32,766 parameters per statement; stay well below for `__in` preloads.
PRELOAD_CHUNK = 2000

DATE_RE = _DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CANONICAL_CERTNO_RE = re.compile(r"[0-9]{17}[0-9X]")
_DECIMAL_RE = re.compile(r"^-?\d+(\.\d+)?$")


class ImportFileError(Exception):
    """The file cannot be read as a table of the kind (type, encoding, header row)."""


def import_kinds() -> list[str]:
    return list(IMPORT_KINDS)


def import_resource_class(kind: str) -> type["ImportResource"]:
    """The resource class registered for KIND (KeyError for an unknown kind)."""
    return import_string(IMPORT_KINDS[kind])


# --- reading files -------------------------------------------------------------------------------------------------


@dataclass
class Table:
    """A file as a Dataset of stripped strings, and for each data row the row number a spreadsheet shows."""

    dataset: tablib.Dataset
    line_numbers: list[int]


def cell_text(value: Any) -> str:
    """A cell as the stripped text a person typed: dates as YYYY-MM-DD, whole numbers without `.0`."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def header_problem(headers: Sequence[str] | None, columns: Sequence[str],
                   optional: Sequence[str] = ()) -> str | None:
    """A sentence naming the missing, unknown and repeated header columns, or None when the header is right.
    `optional` columns may be there or not (CONTRACT.md: accepted when present, defaulted when absent)."""
    headers = list(headers or [])
    known = (*columns, *optional)
    missing = [c for c in columns if c not in headers]
    unknown = [h for h in headers if h not in known]
    repeated = sorted({h for h in headers if headers.count(h) > 1 and h in known})
    if not (missing or unknown or repeated):
        return None
    parts = []
    if missing:
        parts.append(_("missing columns: %(names)s") % {"names": ", ".join(missing)})
    if unknown:
        parts.append(_("unknown columns: %(names)s") % {"names": ", ".join(h or '""' for h in unknown)})
    if repeated:
        parts.append(_("repeated columns: %(names)s") % {"names": ", ".join(repeated)})
    expected = ",".join(columns)
    if optional:
        return _("the header row is wrong (%(problems)s); it must be: %(expected)s, optionally followed by any of "
                 "%(optional)s") % {"problems": JoinedMessage("; ", parts), "expected": expected,
                                    "optional": ",".join(optional)}
    return _("the header row is wrong (%(problems)s); it must be: %(expected)s") % {
        "problems": JoinedMessage("; ", parts), "expected": expected}


# --- reading one row -----------------------------------------------------------------------------------------------


class RowReader:
    """Reads typed values from one row's cells, collecting a message per bad column instead of raising."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.row = row
        self.errors: dict[str, list[str]] = {}

    def raw(self, column: str) -> str:
        value = self.row.get(column)
        if value.__class__ is str:  # the streaming path's cells (the admin's rows may hold dates and numbers)
            return value.strip()
        return "" if value is None else str(value).strip()

    def error(self, column: str, message: str) -> None:
        """Record a message (a `core.imports.messages.Message`, so that it can be stored and read in another
        language) against a column."""
        self.errors.setdefault(column, []).append(message)

    def ok(self, *columns: str) -> bool:
        """No error so far in these columns (in any column when none are named)."""
        if not columns:
            return not self.errors
        return not any(c in self.errors for c in columns)

    def _required(self, column: str, required: bool) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.error(column, _("a value is required"))
            return None
        return value

    def text(self, column: str, *, required: bool = True, max_length: int | None = None,
             pattern: str | None = None, pattern_message: str = "") -> str:
        value = self._required(column, required)
        if value is None:
            return ""
        if max_length is not None and len(value) > max_length:
            self.error(column, _("at most %(max)d characters are allowed, this has %(n)d")
                       % {"max": max_length, "n": len(value)})
        elif pattern is not None and not re.fullmatch(pattern, value):
            self.error(column, as_message(pattern_message) if pattern_message
                       else _('"%(value)s" is not in the expected form') % {"value": value})
        return value

    def choice(self, column: str, choices: Sequence[str], *, required: bool = True) -> str:
        value = self._required(column, required)
        if value is None:
            return ""
        if value not in choices:
            self.error(column, _('"%(value)s" is not one of %(choices)s')
                       % {"value": value, "choices": ", ".join(choices)})
            return ""
        return value

    def flag(self, column: str) -> bool:
        """A flag column (CONTRACT.md): `1` or `0`, blank (or an absent optional column) is `0`."""
        return self.choice(column, ("0", "1"), required=False) == "1"

    def date(self, column: str, *, required: bool = True) -> datetime.date | None:
        value = self._required(column, required)
        if value is None:
            return None
        try:
            if not _DATE_RE.match(value):
                raise ValueError
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.error(column, _('"%(value)s" is not a date in the form YYYY-MM-DD') % {"value": value})
            return None

    def decimal(self, column: str, *, required: bool = True, places: int = MONEY_DECIMAL_PLACES,
                max_digits: int = MONEY_MAX_DIGITS, min_value: Decimal | None = None,
                max_value: Decimal | None = None) -> Decimal | None:
        value = self._required(column, required)
        if value is None:
            return None
        whole, _dot, fraction = value.lstrip("-").partition(".")
        if not _DECIMAL_RE.match(value) or len(fraction) > places or len(whole) > max_digits - places:
            self.error(column, _('"%(value)s" is not a number with at most %(places)d decimal places')
                       % {"value": value, "places": places})
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern above admits only valid literals
            self.error(column, _('"%(value)s" is not a number') % {"value": value})
            return None
        if min_value is not None and number < min_value:
            self.error(column, _("%(value)s is less than %(min)s") % {"value": value, "min": min_value})
            return None
        if max_value is not None and number > max_value:
            self.error(column, _("%(value)s is more than %(max)s") % {"value": value, "max": max_value})
            return None
        return number

    def certno(self, column: str) -> str:
        """The canonical resident ID number, or "" after recording why the cell is not one."""
        value = self._required(column, True)
        if value is None:
            return ""
        if certno_quick(value):
            return value
        try:
            return certno_clean(value)
        except ValidationError as e:
            for error in e.error_list:
                self.error(column, certno_message(value, error))
            return ""

    def lookup(self, column: str, table: Mapping[str, T], message: str, *, required: bool = True) -> T | None:
        """The row of `table` keyed by the cell; `message` (with %(value)s) when the key is unknown."""
        value = self._required(column, required)
        if value is None:
            return None
        found = table.get(value)
        if found is None:
            self.error(column, as_message(message) % {"value": value})
        return found

    def period(self, end_column: str, begin: datetime.date | None, end: datetime.date | None) -> None:
        if begin is not None and end is not None and end < begin:
            self.error(end_column, _("the end date %(end)s is before the start date %(begin)s")
                       % {"end": end.isoformat(), "begin": begin.isoformat()})

    def validation_error(self) -> ValidationError:
        return ValidationError({column: [ValidationError(m) for m in messages]
                                for column, messages in self.errors.items()})


def certno_quick(value: str) -> bool:
    """Whether `value` is already a canonical, valid ID number: what `certno_clean` accepts unchanged, checked
    without its general clean-up (a million rows' worth of time); anything else goes through `certno_clean`."""
    if len(value) != 18 or not _CANONICAL_CERTNO_RE.fullmatch(value) or ric.calc_check_digit(value) != value[17]:
        return False
    try:
        datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return _area_known(value[:6])


_CHECK_DIGITS = "0123456789X"


def certno_quick_birth() -> Callable[[str], datetime.date | None]:
    """A check of one file's ID numbers: `certno_quick` and `certno_birth` in one, the birth dates and region codes
    cached (they repeat across a file); the birth date of a number `certno_quick` accepts, None for any other."""
    births: dict[str, datetime.date | bool] = {}
    areas: dict[str, bool] = {}
    fullmatch = _CANONICAL_CERTNO_RE.fullmatch

    def check(value: str) -> datetime.date | None:
        if len(value) != 18 or not fullmatch(value):
            return None
        # ric.calc_check_digit, inlined: (1 - 2 * the first 17 digits read in base 13) mod 11, 10 read as X.
        if _CHECK_DIGITS[(1 - 2 * int(value[:17], 13)) % 11] != value[17]:
            return None
        born = births.get(value[6:14])
        if born is None:
            try:
                born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
            except ValueError:
                born = False
            if len(births) < 100_000:
                births[value[6:14]] = born
        if born is False:
            return None
        area = value[:6]
        known = areas.get(area)
        if known is None:
            known = areas[area] = _area_known(area)
        return born if known else None

    return check


def certno_message(value: str, error: ValidationError) -> Message:
    """`certno_clean`'s refusal as a message that can be stored: the same catalog entries, by the error's code."""
    number = ric.compact(value or "")
    if error.code == "length":
        return _("an ID number has 18 characters, this one has %(n)d") % {"n": len(number)}
    if error.code == "format":
        return _("an ID number is 17 digits and a digit or X")
    if error.code == "checksum":
        return _("the check digit is %(got)s, it should be %(want)s") % {"got": number[-1],
                                                                       "want": ric.calc_check_digit(number)}
    if error.code == "birth_date":
        return _("digits 7 to 14 are not a valid birth date")
    if error.code == "region":
        return _("the first six digits are not a known region code")
    return as_message(error.message % error.params if error.params else error.message)


def certno_birth(certno: str) -> datetime.date:
    """The birth date of a valid canonical ID number (digits 7 to 14)."""
    return datetime.date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))


def assign(instance: models.Model, **values: Any) -> bool:
    """Set attributes on `instance`; True when any differs from what it held (foreign keys compared by id)."""
    changed = False
    for name, value in values.items():
        if isinstance(value, models.Model):
            if instance.pk is None or getattr(instance, f"{name}_id") != value.pk or value.pk is None:
                changed = True
        elif instance.pk is None or getattr(instance, name) != value:
            changed = True
        setattr(instance, name, value)
    return changed


def chunked(values: Iterable[T], size: int = PRELOAD_CHUNK) -> Iterator[list[T]]:
    """Split values into lists of at most `size` (for `__in` lookups that must stay under parameter limits)."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class AnyOf(Lookup):
    """`column = ANY(%s)` with the values as one array parameter (PostgreSQL): one short query for thousands of
    keys, where `__in` would spell out every value."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


def preload(queryset: models.QuerySet, lookup: str, values: Iterable[Any]) -> list[Any]:
    """`queryset.filter(<lookup>__in=values)` as one list: one query with an array on PostgreSQL, chunks of
    PRELOAD_CHUNK elsewhere (SQLite's limit on parameters)."""
    wanted = sorted({v for v in values if v})
    if not wanted:
        return []
    if db_connection.vendor == "postgresql":
        return list(queryset.filter(AnyOf(F(lookup), wanted)))
    found: list[Any] = []
    for batch in chunked(wanted):
        found.extend(queryset.filter(**{f"{lookup}__in": batch}))
    return found


def preload_values(model: type[models.Model], columns: Sequence[str], lookup: str,
                   values: Iterable[Any]) -> list[tuple[Any, ...]]:
    """The `columns` of `model`'s rows whose `lookup` column is among `values`, as tuples: one plain query (an
    array parameter on PostgreSQL, chunks of PRELOAD_CHUNK elsewhere), no model or queryset machinery (a roster
    re-import reads 100,000 persons this way)."""
    wanted = sorted({v for v in values if v})
    if not wanted:
        return []
    table = db_connection.ops.quote_name(model._meta.db_table)
    select = ", ".join(db_connection.ops.quote_name(c) for c in columns)
    column = db_connection.ops.quote_name(lookup)
    found: list[tuple[Any, ...]] = []
    with db_connection.cursor() as cursor:
        if db_connection.vendor == "postgresql":
            if all(isinstance(v, str) and "\x1f" not in v for v in wanted):
                # One text parameter split by the server: psycopg quotes an array of texts element by element in
                # Python (half a second per 100,000 keys).
                cursor.execute(f"SELECT {select} FROM {table} WHERE {column} = ANY(string_to_array(%s, chr(31)))",
                               ["\x1f".join(wanted)])
            else:
                cursor.execute(f"SELECT {select} FROM {table} WHERE {column} = ANY(%s)", [wanted])
            return cursor.fetchall()
        for batch in chunked(wanted):
            cursor.execute(f"SELECT {select} FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(batch))})",
                           batch)
            found.extend(cursor.fetchall())
    return found


# --- the resource base ---------------------------------------------------------------------------------------------


class ImportResource(resources.ModelResource):
    """A resource that validates whole rows itself against tables preloaded in `before_import`.

    Subclasses set `columns` (the contract's header row), `optional_columns` (accepted when present; a cell of an
    absent column reads as blank), `key_columns`, and implement `preload()`,
    `find_instance(row)`, `clean_row(reader, instance, line)` (returning the values, errors in `reader`) and
    `apply_row(instance, values)` (returning whether anything changed). Rows that change nothing are skipped, so a
    re-import writes nothing. `import_data(..., line_numbers=[...])` maps data rows to spreadsheet rows.
    """

    columns: ClassVar[tuple[str, ...]] = ()
    optional_columns: ClassVar[tuple[str, ...]] = ()
    key_columns: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def all_columns(cls) -> tuple[str, ...]:
        return (*cls.columns, *cls.optional_columns)

    class Meta:
        skip_unchanged = True
        # Diffs would export each row twice (a query per row for related columns); rows are compared in apply_row.
        skip_diff = True
        clean_model_instances = False
        use_transactions = True
        use_bulk = False  # django-simple-history records history on save(); bulk writes would bypass it

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._line_numbers: list[int] | None = None
        self._first_line_of_key: dict[str, int] = {}
        self._changed = False
        self._doomed = False
        self._row_values: dict[str, Any] = {}

    # hooks for subclasses

    def begin_file(self) -> None:
        """Reset what is remembered across the rows of one file (subclasses add their own and call super)."""
        self._first_line_of_key = {}

    def preload(self, dataset: tablib.Dataset) -> None:
        """Load what validating and saving the rows of `dataset` needs, one query per table (chunked)."""
        raise NotImplementedError

    def preload_for_validation(self, dataset: tablib.Dataset) -> None:
        """What `validate_row` needs for the rows of `dataset` (the streaming engine calls it per batch)."""
        self.preload(dataset)

    def find_instance(self, row: Mapping[str, Any]) -> models.Model | None:
        raise NotImplementedError

    def fast_validator(self, header: Sequence[str]) -> "FastValidator | None":
        """For the streaming engine: a function of (line, cells) that returns `(values, instance)` for a row it
        can tell good at a glance, exactly as `find_instance` and `validate_row` would give them and with the same
        effect on what is remembered across rows, and None for any other row (which then goes through
        `validate_row`). None: every row goes through `validate_row`. Cells are stripped, in `header` order."""
        return None

    def clean_row(self, reader: RowReader, instance: models.Model, line: int) -> dict[str, Any]:
        raise NotImplementedError

    def apply_row(self, instance: models.Model, values: dict[str, Any]) -> bool:
        raise NotImplementedError

    def row_key(self, row: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(row.get(c) or "").strip() for c in self.key_columns)

    @property
    def duplicate_column(self) -> str:
        return self.key_columns[-1]

    # import-export machinery

    def line_number(self, row_number: int) -> int:
        if self._line_numbers is not None:
            return self._line_numbers[row_number - 1]
        return row_number + 1

    def import_data(self, dataset: tablib.Dataset, **kwargs: Any) -> Result:
        """django-import-export's import, refused whole (no row read) when the header row is wrong."""
        problem = header_problem(dataset.headers, self.columns, self.optional_columns)
        if problem:
            result = self.get_result_class()()
            result.append_base_error(self.get_error_result_class()(ImportFileError(problem)))
            return result
        return super().import_data(dataset, **kwargs)

    def before_import(self, dataset: tablib.Dataset, **kwargs: Any) -> None:
        # The spreadsheet row of each data row: given by import_table, or by the admin's formats on the dataset.
        self._line_numbers = kwargs.get("line_numbers") or getattr(dataset, "line_numbers", None)
        self._doomed = False
        self.begin_file()
        self.preload(dataset)

    def after_import(self, dataset: tablib.Dataset, result: Result, **kwargs: Any) -> None:
        """Number bad rows as a spreadsheet does (header = row 1), as `import_csv` and the import jobs do: the
        admin's pages show `number` as it is."""
        for row in (*result.invalid_rows, *result.error_rows):
            row.number = self.line_number(row.number)

    def get_instance(self, instance_loader: Any, row: Mapping[str, Any]) -> models.Model | None:
        return self.find_instance(row)

    def validate_row(self, row: Mapping[str, Any], line: int, instance: models.Model) -> tuple[dict[str, Any],
                                                                                              RowReader]:
        """The one validation of a row, shared by the admin's pages and the streaming engine: the key not seen
        earlier in the file, then `clean_row`. Returns the values and the reader holding the errors."""
        reader = RowReader(row)
        key = self.row_key(row)
        if all(key):
            # One string per key, not a tuple: a million keys of a file stay a few hundred bytes each.
            first = self._first_line_of_key.setdefault("\x1f".join(key), line)
            if first != line:
                described = ", ".join(f"{c} {v}" for c, v in zip(self.key_columns, key, strict=True))
                reader.error(self.duplicate_column, _("%(key)s is already in row %(row)d of this file")
                             % {"key": described, "row": first})
        return self.clean_row(reader, instance, line), reader

    def import_instance(self, instance: models.Model, row: Mapping[str, Any], **kwargs: Any) -> None:
        line = self.line_number(kwargs["row_number"])
        values, reader = self.validate_row(row, line, instance)
        if not reader.ok():
            self._changed = False
            self._doomed = True
            raise reader.validation_error()
        self._row_values = values
        self._changed = self.apply_row(instance, values)

    def skip_row(self, instance: models.Model, original: models.Model | None, row: Mapping[str, Any],
                 import_validation_errors: dict | None = None) -> bool:
        # After a bad row the file will be rolled back: later rows are still checked but no longer saved.
        # Checks across rows therefore use what earlier rows of the file said, never what they saved.
        return not import_validation_errors and (self._doomed or not self._changed)

    def before_save_instance(self, instance: models.Model, row: Mapping[str, Any], **kwargs: Any) -> None:
        user = kwargs.get("user")
        if user is not None and getattr(user, "pk", None) is not None:
            instance._history_user = user


# --- running an import ---------------------------------------------------------------------------------------------


@dataclass
class ImportOutcome:
    """What an import did: counts, and the error lines (`row N, column C: message`) when it did nothing."""

    kind: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    rows: int = 0  # data rows read
    bad: int = 0  # rows with at least one error
    error_spool: Any = field(default=None, repr=False, compare=False)  # error lines past those kept in `errors`

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_lines(self) -> Iterator[str]:
        """Every error line: those in `errors`, then any the engine spilled to a temporary file."""
        yield from self.errors
        if self.error_spool is not None:
            self.error_spool.seek(0)
            for line in self.error_spool:
                yield line.rstrip("\n")

    def summary(self) -> str:
        line = f"{self.kind}: created {self.created}, updated {self.updated}, unchanged {self.unchanged}"
        return line + (" (dry run, nothing written)" if self.dry_run else "")


def row_error_line(line: int, column: str, message: str) -> str:
    # "row" and "column" are the contract; only the message is translated.
    return fixed_format("row %(row)d, column %(column)s: %(message)s", {"row": line, "column": column,
                                                                       "message": message})


def result_error_lines(result: Result, resource: ImportResource) -> list[str]:
    """Every problem in an import_export Result as lines, by row, then by column in header order."""
    order = {c: i for i, c in enumerate(resource.all_columns())}
    found: list[tuple[int, int, str]] = []
    lines = [str(error.error) for error in result.base_errors]
    for invalid in result.invalid_rows:
        line = invalid.number  # a spreadsheet row already (ImportResource.after_import)
        for column, messages in invalid.error_dict.items():
            name = resource.key_columns[0] if column == NON_FIELD_ERRORS else column
            found.extend((line, order.get(name, len(order)), row_error_line(line, name, m)) for m in messages)
    for error_row in result.error_rows:
        line = error_row.number
        for error in error_row.errors:
            message = _("the row could not be saved: %(error)s") % {"error": error.error}
            found.append((line, 0, row_error_line(line, resource.key_columns[0], message)))
    found.sort(key=lambda item: (item[0], item[1]))
    return lines + [text for _line, _order, text in found]


def import_table(kind: str, table: Table, *, dry_run: bool, user: Any = None) -> ImportOutcome:
    """Import a Table of KIND in one transaction; nothing is written when any row is bad or on a dry run."""
    resource_class = import_resource_class(kind)
    outcome = ImportOutcome(kind=kind, dry_run=dry_run)
    problem = header_problem(table.dataset.headers, resource_class.columns, resource_class.optional_columns)
    if problem:
        outcome.errors.append(problem)
        return outcome
    resource = resource_class()
    with transaction.atomic():
        result = resource.import_data(table.dataset, dry_run=dry_run, raise_errors=False, use_transactions=True,
                                      rollback_on_validation_errors=True, line_numbers=table.line_numbers,
                                      user=user)
        outcome.errors = result_error_lines(result, resource)
        if outcome.errors or dry_run:
            transaction.set_rollback(True)
    if not outcome.errors:
        outcome.created = result.totals["new"]
        outcome.updated = result.totals["update"]
        outcome.unchanged = result.totals["skip"]
    return outcome


def import_file_rowwise(kind: str, path: Path, *, dry_run: bool, user: Any = None) -> ImportOutcome:
    """Import a whole file through the kind's resource, row by row and held in memory (what the admin's
    preview/confirm pages do); `core.imports.import_file` is the streaming, set-based entry point."""
    from core.imports.streaming import read_table

    try:
        table = read_table(path)
    except ImportFileError as e:
        return ImportOutcome(kind=kind, dry_run=dry_run, errors=[exception_message(e)])
    return import_table(kind, table, dry_run=dry_run, user=user)
