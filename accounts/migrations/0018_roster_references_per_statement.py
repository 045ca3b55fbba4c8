"""The roster's references are checked once per statement instead of once per row (PostgreSQL).

A roster import of 100,000 new enrollees queued some 700,000 deferred foreign-key checks (enrollment -> person,
region, employer; dated status -> enrollment; the history rows of persons, enrollments and employers -> user), each
run at COMMIT as a query of its own: about a third of the import's database time (bench/RESULTS.md, "Imports").
As the ledger's since 0014 and 0016, those foreign keys are replaced by
- `accounts_refs_new_rows`, AFTER INSERT and AFTER UPDATE triggers FOR EACH STATEMENT that gather each reference
  column's distinct values among the statement's new rows and look each up once, locking it FOR KEY SHARE as a
  foreign key does, so that none is deleted before the new rows commit;
- `accounts_refs_deleted_rows`, AFTER DELETE triggers FOR EACH STATEMENT on the referenced tables that refuse the
  deletion when a referencing row is left: as an AFTER trigger it queries with a fresh snapshot (READ COMMITTED)
  once the rows are deleted, so a deletion that waited for the lock of an import sees the import's committed rows
  (a BEFORE trigger would have looked before waiting); and `accounts_refs_renumbered`, which refuses to change the
  id of a referenced row (BEFORE UPDATE OF id).
All raise `foreign_key_violation` (SQLSTATE 23503), an IntegrityError to Django, as the foreign keys did. The checks
run at the end of each statement, not at COMMIT: nothing in the code writes a row before the one it refers to.

SQLite keeps its foreign keys (its tables are not rebuilt); the models say db_constraint=False, so Django creates
none anew.
"""

from django.conf import settings
from django.db import migrations, models

# referencing table -> [(column, referenced table)]
NEW_ROWS = {
    "accounts_enrollment": [("person_id", "accounts_person"), ("region_id", "policies_region"),
                            ("employer_id", "accounts_employer")],
    "accounts_enrollmentstatus": [("enrollment_id", "accounts_enrollment")],
    "accounts_historicalperson": [("history_user_id", "auth_user")],
    "accounts_historicalenrollment": [("history_user_id", "auth_user")],
    "accounts_historicalemployer": [("history_user_id", "auth_user")],
}


def referenced_by() -> dict[str, list[tuple[str, str]]]:
    """Referenced table -> [(referencing table, column)]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, references in NEW_ROWS.items():
        for column, referenced in references:
            found.setdefault(referenced, []).append((table, column))
    return found


FUNCTIONS = """
CREATE OR REPLACE FUNCTION accounts_refs_new_rows() RETURNS trigger AS $$
-- Arguments: pairs of (column of the new rows, referenced table).
DECLARE
    i integer := 0;
    bad bigint;
BEGIN
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT d.v FROM (SELECT DISTINCT %1$I AS v FROM new_rows WHERE %1$I IS NOT NULL) d '
                       'WHERE NOT EXISTS (SELECT 1 FROM %2$I p WHERE p.id = d.v FOR KEY SHARE) LIMIT 1',
                       TG_ARGV[i], TG_ARGV[i + 1]) INTO bad;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "%" violates foreign key: %.% = % is not in %',
                TG_TABLE_NAME, TG_TABLE_NAME, TG_ARGV[i], bad, TG_ARGV[i + 1]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounts_refs_deleted_rows() RETURNS trigger AS $$
-- Arguments: pairs of (referencing table, its column).
DECLARE
    i integer := 0;
    bad bigint;
BEGIN
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT o.id FROM old_rows o WHERE EXISTS (SELECT 1 FROM %1$I r WHERE r.%2$I = o.id) '
                       'LIMIT 1', TG_ARGV[i], TG_ARGV[i + 1]) INTO bad;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'delete on table "%" violates foreign key: id % is still referenced from %.%',
                TG_TABLE_NAME, bad, TG_ARGV[i], TG_ARGV[i + 1]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounts_refs_renumbered() RETURNS trigger AS $$
-- Arguments: pairs of (referencing table, its column).
DECLARE
    i integer := 0;
    used boolean;
BEGIN
    IF NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    WHILE i < TG_NARGS LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[i], TG_ARGV[i + 1])
            INTO used USING OLD.id;
        IF used THEN
            RAISE EXCEPTION 'update on table "%" violates foreign key: id % is still referenced from %.%',
                TG_TABLE_NAME, OLD.id, TG_ARGV[i], TG_ARGV[i + 1]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        i := i + 2;
    END LOOP;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def _args(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(f"'{a}', '{b}'" for a, b in pairs)


def triggers_sql() -> str:
    """The triggers of the tables above (the functions first)."""
    statements = [FUNCTIONS]
    for table, references in NEW_ROWS.items():
        for event in ("INSERT", "UPDATE"):
            statements.append(
                f"CREATE TRIGGER accounts_refs_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION accounts_refs_new_rows({_args(references)});")
    for table, referencing in referenced_by().items():
        statements.append(
            f"CREATE TRIGGER accounts_refs_deleted AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION accounts_refs_deleted_rows({_args(referencing)});")
        statements.append(
            f"CREATE TRIGGER accounts_refs_renumbered BEFORE UPDATE OF id ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION accounts_refs_renumbered({_args(referencing)});")
    return "\n".join(statements)


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, references in NEW_ROWS.items():
            cursor.execute("""
                SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
                                                                     AND a.attnum = ANY (c.conkey)
                WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = ANY (%s)
            """, [table, [column for column, _referenced in references]])
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(triggers_sql())  # no parameters: the % of format() and RAISE stay as they are


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in NEW_ROWS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS accounts_refs_insert ON {table}; "
                              f"DROP TRIGGER IF EXISTS accounts_refs_update ON {table}")
    for table in referenced_by():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS accounts_refs_deleted ON {table}; "
                              f"DROP TRIGGER IF EXISTS accounts_refs_renumbered ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS accounts_refs_new_rows(); "
                          "DROP FUNCTION IF EXISTS accounts_refs_deleted_rows(); "
                          "DROP FUNCTION IF EXISTS accounts_refs_renumbered();")
    for table, references in NEW_ROWS.items():
        for column, referenced in references:
            schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fk FOREIGN KEY ({column}) "
                                  f"REFERENCES {referenced} (id) DEFERRABLE INITIALLY DEFERRED")


def _history_user() -> models.ForeignKey:
    return models.ForeignKey(db_constraint=False, null=True, on_delete=models.SET_NULL, related_name="+",
                             to=settings.AUTH_USER_MODEL)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0017_account_fillfactor"),
        ("policies", "0006_plausibility_limits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="enrollment", name="person", field=models.ForeignKey(
                    db_constraint=False, db_index=False, on_delete=models.PROTECT, related_name="enrollments",
                    to="accounts.person", verbose_name="person")),
                migrations.AlterField(model_name="enrollment", name="region", field=models.ForeignKey(
                    db_constraint=False, db_index=False, on_delete=models.PROTECT, related_name="enrollments",
                    to="policies.region", verbose_name="region")),
                migrations.AlterField(model_name="enrollment", name="employer", field=models.ForeignKey(
                    blank=True, db_constraint=False, null=True, on_delete=models.PROTECT,
                    related_name="enrollments", to="accounts.employer", verbose_name="employer")),
                migrations.AlterField(model_name="enrollmentstatus", name="enrollment", field=models.ForeignKey(
                    db_constraint=False, db_index=False, on_delete=models.CASCADE, related_name="status_changes",
                    to="accounts.enrollment", verbose_name="enrollment")),
                migrations.AlterField(model_name="historicalperson", name="history_user", field=_history_user()),
                migrations.AlterField(model_name="historicalenrollment", name="history_user",
                                      field=_history_user()),
                migrations.AlterField(model_name="historicalemployer", name="history_user", field=_history_user()),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
