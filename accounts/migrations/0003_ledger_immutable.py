"""Ledger entries are immutable in the database itself: a trigger refuses UPDATE and DELETE (PostgreSQL and
SQLite), so not even a raw statement or a bulk update can rewrite an account's history."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION accounts_ledgerentry_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable; post a correction instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_ledgerentry_immutable BEFORE UPDATE OR DELETE ON accounts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION accounts_ledgerentry_immutable();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS accounts_ledgerentry_immutable ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS accounts_ledgerentry_immutable();
"""
SQLITE_UP = [
    """CREATE TRIGGER accounts_ledgerentry_no_update BEFORE UPDATE ON accounts_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable; post a correction instead'); END;""",
    """CREATE TRIGGER accounts_ledgerentry_no_delete BEFORE DELETE ON accounts_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable; post a correction instead'); END;""",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS accounts_ledgerentry_no_update;",
               "DROP TRIGGER IF EXISTS accounts_ledgerentry_no_delete;"]


def _run(schema_editor, pg: str, sqlite: list[str]) -> None:  # noqa: ANN001
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(pg)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    _run(schema_editor, PG_UP, SQLITE_UP)


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    _run(schema_editor, PG_DOWN, SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_personal_accounts")]
    operations = [migrations.RunPython(forwards, backwards)]
