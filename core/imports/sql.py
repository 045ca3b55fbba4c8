"""SQL pieces of the set-based writers that differ between PostgreSQL and SQLite: temporary tables, loading them
(COPY on PostgreSQL, executemany on SQLite), null-safe comparison, zero padding, parameter adaptation."""

import datetime
import re
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def temp_name(prefix: str) -> str:
    """A temporary table name unique to this import (several imports may share a connection's lifetime)."""
    return f"imp_{prefix}_{uuid.uuid4().hex[:10]}"


def create_temp_table(cursor: Any, name: str, columns: Sequence[tuple[str, str]]) -> None:
    """A temporary table, dropped at commit on PostgreSQL (and with the rollback on both)."""
    spec = ", ".join(f"{column} {sql_type}" for column, sql_type in columns)
    cursor.execute(f"CREATE TEMPORARY TABLE {name} ({spec})" + (" ON COMMIT DROP" if on_postgres() else ""))


def create_temp_table_as(cursor: Any, name: str, select: str, params: Sequence[Any] = (),
                         analyzed: Sequence[str] = ()) -> None:
    cursor.execute(f"CREATE TEMPORARY TABLE {name}" + (" ON COMMIT DROP" if on_postgres() else "")
                   + f" AS {select}", params)
    analyze(cursor, name, analyzed)


def analyze(cursor: Any, name: str, columns: Sequence[str] = ()) -> None:
    """Statistics for a freshly loaded temporary table (autovacuum never visits them): without them PostgreSQL
    plans a million-row join as nested loops. `columns`: only those (the ones joined or grouped on; the row count
    is counted whatever the columns), else all."""
    if on_postgres():
        cursor.execute(f"ANALYZE {name}" + (f" ({', '.join(columns)})" if columns else ""))


def drop_temp_tables(cursor: Any, names: Iterable[str]) -> None:
    if not on_postgres():  # PostgreSQL drops them at commit
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS temp.{name}")


def load_rows(cursor: Any, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Append rows to a (temporary) table: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if on_postgres():
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                           [tuple(sqlite_value(v) for v in row) for row in rows])


def sqlite_value(value: Any) -> Any:
    """Values as Django stores them in SQLite: dates and datetimes as ISO text, decimals as text."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def param(value: Any) -> Any:
    """A query parameter as the backend stores it (datetimes in UTC text on SQLite)."""
    return value if on_postgres() else sqlite_value(value)


def differs(left: str, right: str) -> str:
    """Null-safe inequality of two SQL expressions."""
    return f"({left} IS DISTINCT FROM {right})" if on_postgres() else f"({left} IS NOT {right})"


def zero_pad(expression: str, width: int) -> str:
    """An integer expression as text, zero-padded to `width` digits."""
    if on_postgres():
        return f"lpad(CAST({expression} AS text), {width}, '0')"
    return f"substr('{'0' * width}' || ({expression}), -{width}, {width})"


def money(expression: str) -> str:
    """A sum or difference of money columns, exact: PostgreSQL's numeric is; SQLite computes in floating point,
    so the result is rounded back to the fen (what Django reads back from the column anyway)."""
    return expression if on_postgres() else f"ROUND({expression}, 2)"


def money_text(expression: str) -> str:
    """A money value as Python prints a two-place Decimal (`1200.50`). The `%%` is a literal percent sign in a
    statement executed with parameters."""
    return f"CAST({expression} AS text)" if on_postgres() else f"printf('%%.2f', {expression})"


def text_template(template: str, expressions: dict[str, str]) -> tuple[str, list[str]]:
    """A (translated) message with `%(name)s` placeholders as a SQL text expression: the literal parts become
    parameters, each placeholder the SQL text expression given for it. Returns the expression and its parameters."""
    parts = re.split(r"%\((\w+)\)s", template)
    pieces: list[str] = []
    params: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            pieces.append(f"({expressions[part]})")
        elif part:
            pieces.append("%s")
            params.append(part.replace("%%", "%"))
    return " || ".join(pieces) or "''", params


def column_type(field: Field) -> str:
    """The SQL type a staging column needs to hold a field's values (a foreign key: the key's type)."""
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


def history_columns(model: type[Model]) -> list[str]:
    """The columns django-simple-history copies from `model` into its historical table, quoted (a family link's
    `order` is a reserved word)."""
    history_model = model.history.model
    return [connection.ops.quote_name(f.column) for f in history_model._meta.concrete_fields
            if not f.name.startswith("history_")]


def insert_history(cursor: Any, model: type[Model], *, source: str, history_type: str, when: datetime.datetime,
                   user_id: int | None, params: Sequence[Any] = ()) -> int:
    """History rows for the rows of `model`'s table aliased `t` in `source` (a FROM … WHERE clause), as
    django-simple-history would write them after a save: the new values, `history_type` ('+', '~' or a SQL
    expression), the time and the user. Returns the number of rows written."""
    columns = history_columns(model)
    table = model.history.model._meta.db_table
    kind = history_type if history_type.startswith("CASE") else f"'{history_type}'"
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}, history_date, history_change_reason, history_type, "
        f"history_user_id) SELECT {', '.join('t.' + c for c in columns)}, %s, NULL, {kind}, %s FROM {source}",
        [param(when), user_id, *params])
    return cursor.rowcount


def insert_with_history(cursor: Any, model: type[Model], *, insert: str, params: Sequence[Any],
                        created_source: str, when: datetime.datetime, user_id: int | None) -> int:
    """Run `insert` (an INSERT … SELECT into `model`'s table) and write a '+' history row for each row inserted.
    On PostgreSQL one statement (the INSERT's RETURNING feeds the history); elsewhere the history is read back
    through `created_source` (a FROM … WHERE clause aliasing the table `t`). Returns the rows inserted."""
    if not on_postgres():
        cursor.execute(insert, params)
        inserted = cursor.rowcount
        insert_history(cursor, model, source=created_source, history_type="+", when=when, user_id=user_id)
        return inserted
    columns = history_columns(model)
    table = model.history.model._meta.db_table
    cursor.execute(
        f"WITH t AS ({insert} RETURNING {', '.join(columns)}) "
        f"INSERT INTO {table} ({', '.join(columns)}, history_date, history_change_reason, history_type, "
        f"history_user_id) SELECT {', '.join('t.' + c for c in columns)}, %s, NULL, '+', %s FROM t",
        [*params, when, user_id])
    return cursor.rowcount
