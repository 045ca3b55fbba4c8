"""Two of the ledger's indexes no longer take an entry for every credit (PostgreSQL's costs: bench/RESULTS.md).

- `reverses` was a one-to-one field: its unique index held a NULL for every entry but the few reversals, one index
  insertion more for each entry of every kind. It becomes a foreign key with a unique index where set
  (`ledger_reverses_once`): the same guarantee (an entry is reversed once) and the same lookup (`reverses = x`).
- The (ref_type, ref_id) index leaves out a credit run's entries (`ref_type = 'credit_run'`, about a million a
  month): they are found by their run (`ledger_run`); by reference only the others are looked up (a settlement's
  entries, a contribution's, a reversed entry's).

SQLite keeps the column's UNIQUE in its table definition (dropping it would rebuild the table and lose the
immutability triggers of 0003); there NULLs are distinct too, so it says what the partial index says.
"""

import django.db.models.deletion
from django.db import migrations, models

LEDGER = "accounts_ledgerentry"


def drop_reverses_unique(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
                                                                 AND a.attnum = ANY (c.conkey)
            WHERE c.conrelid = %s::regclass AND c.contype = 'u' AND a.attname = 'reverses_id'
              AND array_length(c.conkey, 1) = 1
        """, [LEDGER])
        names = [row[0] for row in cursor.fetchall()]
        for name in names:
            cursor.execute(f'ALTER TABLE {LEDGER} DROP CONSTRAINT "{name}"')


def restore_reverses_unique(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {LEDGER} ADD CONSTRAINT {LEDGER}_reverses_id_key UNIQUE (reverses_id)")


class Migration(migrations.Migration):

    dependencies = [("accounts", "0018_roster_references_per_statement")]

    operations = [
        # The constraint first: reversals stay unique while the column's own constraint is dropped.
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(condition=models.Q(("reverses__isnull", False)), fields=("reverses",),
                                               name="ledger_reverses_once"),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name="ledgerentry", name="reverses",
                field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                        on_delete=django.db.models.deletion.PROTECT, related_name="reversed_by",
                                        to="accounts.ledgerentry", verbose_name="reverses"))],
            database_operations=[migrations.RunPython(drop_reverses_unique, restore_reverses_unique)],
        ),
        migrations.RemoveIndex(model_name="ledgerentry", name="accounts_le_ref_typ_7c4005_idx"),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(condition=models.Q(("ref_type", "credit_run"), _negated=True),
                               fields=["ref_type", "ref_id"], name="ledger_ref"),
        ),
    ]
