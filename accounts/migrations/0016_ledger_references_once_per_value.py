"""The ledger's statement trigger looks each referenced row up once per statement, not once per entry (PostgreSQL).

0014's `accounts_ledgerentry_refs` evaluated, for every new entry, one subquery per reference, and those of the
credit rule, policy version and credit run took their FOR KEY SHARE lock again for every entry: a credit run's
chunk locked its one credit rule, version and run some 20,000 times per statement. Now each column's distinct
values are gathered once per statement and each is looked up (and locked, as before) once. Same guarantee, same
error (SQLSTATE 23503, naming an entry that refers to the missing row).
"""

import importlib

from django.db import migrations

_0014 = importlib.import_module("accounts.migrations.0014_ledger_references_per_statement")


def insert_function_sql(tables: dict[str, str]) -> str:
    """The trigger function of 0014, each column's distinct values checked (and locked) once: uncorrelated
    `IN (subquery)`s, which PostgreSQL runs once per statement as hashed subplans."""
    missing = "\n       OR ".join(
        f"n.{column} IN (SELECT d.v FROM (SELECT DISTINCT {column} AS v FROM new_entries "
        f"WHERE {column} IS NOT NULL) d WHERE NOT EXISTS (SELECT 1 FROM {table} p WHERE p.id = d.v"
        + (" FOR KEY SHARE" if column in _0014.LOCKED else "") + "))"
        for column, table in tables.items())
    detail = ", ".join(f"{column} %s" for column in tables)
    values = ", ".join(f"bad.{column}" for column in tables)
    return f"""
CREATE OR REPLACE FUNCTION accounts_ledgerentry_refs() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.* INTO bad FROM new_entries n
    WHERE {missing}
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % refers to a row that does not exist', bad.id
            USING ERRCODE = 'foreign_key_violation', DETAIL = format('{detail}', {values});
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(insert_function_sql(_0014._tables(apps)))


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        # 0014's function alone (its SQL goes on to create the triggers, which are still there).
        sql = _0014._insert_trigger_sql(_0014._tables(apps))
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql[:sql.index("CREATE TRIGGER")])


class Migration(migrations.Migration):

    dependencies = [("accounts", "0015_import_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
