"""Small query helpers, and hand-written SQL for the hottest reads.

The ORM spends about half a millisecond of CPU building each statement; the settlement path runs a dozen per
bill, hundreds of times a second, always the same few shapes. Those few are written once as SQL (table and column
names still taken from the models) and their rows turned into model instances exactly as the ORM would, with the
database's converters (dates and decimals on SQLite), by `instance_from_row`.
"""

import contextlib
import datetime
import functools
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import DateField, Field, Model, QuerySet

M = TypeVar("M", bound=Model)
# A statement is prepared the second time this connection runs it inside `prepared_statements` (a one-off is not).
PREPARE_THRESHOLD = 1


def only_row(queryset: QuerySet) -> Model | None:
    """The row a lookup by a unique key finds, or None.

    Unlike `.first()`, which adds `ORDER BY id`: with `LIMIT 1` that lets PostgreSQL walk the primary key and
    filter, scanning a table of millions when the key is absent (an idempotency check of a new request)."""
    return next(iter(queryset.order_by()[:1]), None)


def columns_of(model: type[Model], alias: str) -> str:
    """`alias.col1, alias.col2, …`: every concrete column of `model` in field order (what `instance_from_row`
    reads)."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@functools.cache
def _converters(model: type[Model], vendor: str) -> tuple[list[str], list[tuple[Any, list[Any]]]]:
    out = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        out.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))
    return [f.attname for f in model._meta.concrete_fields], out


def instance_from_row(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from the values of `columns_of(model, …)` in a raw row, converted as the ORM converts
    them."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: `connection` looks it up again on every use
    attnames, converters = _converters(model, db.vendor)
    converted = []
    for value, (col, convert_all) in zip(values, converters, strict=True):
        for convert in convert_all:
            value = convert(value, col, db)
        converted.append(value)
    return model.from_db(db.alias, attnames, converted)


def instances_where(model: type[M], where: str, params: Sequence[Any], *, suffix: str = "") -> list[M]:
    """The instances of `model` (table alias `t`) matching the SQL condition `where`, in one statement; `suffix`
    is appended (an ORDER BY, `for_update()`)."""
    sql = f"SELECT {columns_of(model, 't')} FROM {model._meta.db_table} t WHERE {where}{suffix}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [instance_from_row(model, row) for row in cursor.fetchall()]


def placeholders(values: Sequence[Any]) -> str:
    """`%s, %s, …`, one per value (for `IN (…)`)."""
    return ", ".join(["%s"] * len(values))


def for_update() -> str:
    """` FOR UPDATE` where the database locks rows (PostgreSQL); SQLite locks the whole database on write."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def for_share() -> str:
    """` FOR SHARE` where the database locks rows (PostgreSQL): a lock that other readers taking it do not wait
    for, and a `FOR UPDATE` does."""
    return " FOR SHARE" if connection.features.has_select_for_update else ""


def instances_insert(instances: Sequence[Model]) -> None:
    """`bulk_create` for the hot path: one INSERT of these new instances of one model (auto primary key), which
    get their keys back. Values are prepared as the ORM prepares them (`pre_save`, `get_db_prep_save`: the
    creation time, JSON, decimals); unlike `bulk_create` the statement is not compiled each time. No signals are
    sent, as with `bulk_create`."""
    if not instances:
        return
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: `connection` looks it up again on every use
    model = type(instances[0])
    sql_head, row, preparers = _insert_plan(model, db.vendor)
    values = []
    for obj in instances:
        for attname, pre_save, prepare in preparers:
            values.append(prepare(pre_save(obj, True) if pre_save else getattr(obj, attname), db))
    pk_column = db.ops.quote_name(model._meta.pk.column)
    # The keys come back in the order of the VALUES rows, as `bulk_create` also relies on (PostgreSQL, SQLite).
    sql = f"{sql_head} {', '.join([row] * len(instances))} RETURNING {pk_column}"
    with db.cursor() as cursor:
        cursor.execute(sql, values)
        keys = cursor.fetchall()
    for obj, (pk,) in zip(instances, keys, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = db.alias


# Field types whose values of exactly one Python type PostgreSQL's backend sends as they are: for such a value the
# ORM's `get_db_prep_save` there returns it unchanged (or, for a decimal, an equal copy) after half a dozen calls,
# which for the settlement path's hundred values a bill were a tenth of its CPU. Any other value or field, and
# every field on another database, goes through `get_db_prep_save`.
_SENT_AS_IS = {"CharField": str, "TextField": str, "IntegerField": int, "BigIntegerField": int,
               "PositiveIntegerField": int, "PositiveSmallIntegerField": int, "SmallIntegerField": int,
               "ForeignKey": int, "OneToOneField": int, "BooleanField": bool, "DecimalField": Decimal,
               "DateField": datetime.date}


def _preparer(field: Field, vendor: str) -> Callable[[Any, Any], Any]:
    """`prepare(value, db)`: the value as `field.get_db_prep_save` prepares it for the database `db`."""
    slow = field.get_db_prep_save
    kind = _SENT_AS_IS.get(field.get_internal_type()) if vendor == "postgresql" else None
    if kind is None:
        return slow
    if kind is Decimal:  # the ORM refuses a NaN or an infinity: so does this, through it
        return lambda value, db: value if type(value) is Decimal and value.is_finite() else slow(value, db)
    return lambda value, db: value if value is None or type(value) is kind else slow(value, db)


def _pre_saved(field: Field) -> bool:
    """Whether `field.pre_save` may give another value than the attribute's (a creation or change time)."""
    if isinstance(field, DateField):  # DateTimeField too
        return field.auto_now or field.auto_now_add
    return type(field).pre_save is not Field.pre_save


@functools.cache
def _insert_plan(model: type[Model], vendor: str) -> tuple[str, str, list[tuple[str, Any, Any]]]:
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk]
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES"
    preparers = [(f.attname, f.pre_save if _pre_saved(f) else None, _preparer(f, vendor)) for f in fields]
    return head, "(" + ", ".join(["%s"] * len(fields)) + ")", preparers


@contextlib.contextmanager
def prepared_statements() -> Iterator[None]:
    """Inside this block, on PostgreSQL, this thread's connection binds parameters on the server and prepares each
    statement from its second run (psycopg's prepared statements, kept with the connection): PostgreSQL then parses
    and plans the settlement path's dozen statements once per connection instead of once per settlement (measured:
    about a third of its CPU per settlement). Elsewhere, and outside the block, the connection is as Django made it
    (parameters bound by psycopg on the client, nothing prepared), so the rest of the project is unchanged.

    Safe with Django's transactions and savepoints; a rollback makes psycopg forget its prepared statements, which are
    prepared again as they run. Not for a server reached through a pooler in transaction mode (prepared statements
    belong to a server connection), which the deployment does not use."""
    if connection.vendor != "postgresql":
        yield
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = connection.connection
    factory, threshold = raw.cursor_factory, raw.prepare_threshold
    raw.cursor_factory, raw.prepare_threshold = ServerBindingCursor, PREPARE_THRESHOLD
    try:
        yield
    finally:
        raw.cursor_factory, raw.prepare_threshold = factory, threshold
