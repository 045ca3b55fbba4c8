"""An account's person is checked once per statement instead of once per account at COMMIT (PostgreSQL).

The accounts' foreign key to the person was a deferred constraint: PostgreSQL queued a check per opened account and
ran each at COMMIT as a query of its own (a January credit run opens a million accounts: bench/RESULTS.md,
"Credits"). As the roster's references since 0018, with 0018's functions:
- `accounts_refs_insert`, an AFTER INSERT trigger FOR EACH STATEMENT that looks the new accounts' persons up once
  and locks each FOR KEY SHARE, as the foreign key did, so that none is deleted before the account commits. An
  account's person is changed only by hand, row by row: `accounts_account_person_changed` checks that row (a
  statement trigger on UPDATE would gather every balance a credit run moves);
- on the persons, `accounts_refs_deleted_account` (AFTER DELETE, a fresh snapshot: a deletion that waited for the
  lock sees the committed account) and `accounts_refs_renumbered_account` refuse to leave an account without its
  person.
All raise `foreign_key_violation` (SQLSTATE 23503), an IntegrityError to Django, as the foreign key did.

SQLite keeps the foreign key in its table definition; the model says db_constraint=False, so Django creates none.
"""

import django.db.models.deletion
from django.db import migrations, models

ACCOUNTS, PERSONS = "accounts_personalaccount", "accounts_person"

FORWARDS = f"""
CREATE OR REPLACE FUNCTION accounts_account_person_changed() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {PERSONS} p WHERE p.id = NEW.person_id FOR KEY SHARE) THEN
        RAISE EXCEPTION 'insert or update on table "%" violates foreign key: %.person_id = % is not in {PERSONS}',
            TG_TABLE_NAME, TG_TABLE_NAME, NEW.person_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_refs_insert AFTER INSERT ON {ACCOUNTS} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_refs_new_rows('person_id', '{PERSONS}');
CREATE TRIGGER accounts_account_person_changed AFTER UPDATE OF person_id ON {ACCOUNTS}
    FOR EACH ROW WHEN (OLD.person_id IS DISTINCT FROM NEW.person_id)
    EXECUTE FUNCTION accounts_account_person_changed();
CREATE TRIGGER accounts_refs_deleted_account AFTER DELETE ON {PERSONS} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_refs_deleted_rows('{ACCOUNTS}', 'person_id');
CREATE TRIGGER accounts_refs_renumbered_account BEFORE UPDATE OF id ON {PERSONS} FOR EACH ROW
    EXECUTE FUNCTION accounts_refs_renumbered('{ACCOUNTS}', 'person_id');
"""

BACKWARDS = f"""
DROP TRIGGER IF EXISTS accounts_refs_insert ON {ACCOUNTS};
DROP TRIGGER IF EXISTS accounts_account_person_changed ON {ACCOUNTS};
DROP FUNCTION IF EXISTS accounts_account_person_changed();
DROP TRIGGER IF EXISTS accounts_refs_deleted_account ON {PERSONS};
DROP TRIGGER IF EXISTS accounts_refs_renumbered_account ON {PERSONS};
ALTER TABLE {ACCOUNTS} ADD CONSTRAINT {ACCOUNTS}_person_id_fk FOREIGN KEY (person_id) REFERENCES {PERSONS} (id)
    DEFERRABLE INITIALLY DEFERRED;
"""


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
                                                                 AND a.attnum = ANY (c.conkey)
            WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = 'person_id'
        """, [ACCOUNTS])
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {ACCOUNTS} DROP CONSTRAINT "{name}"')
        cursor.execute(FORWARDS)  # no parameters: the % of RAISE stay as they are


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARDS)


class Migration(migrations.Migration):

    dependencies = [("accounts", "0019_ledger_partial_reverses_and_ref")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name="personalaccount", name="person",
                field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                           related_name="account", to="accounts.person", verbose_name="person"))],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
