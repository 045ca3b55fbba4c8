"""The ledger's references are checked once per statement instead of once per entry (PostgreSQL).

The six foreign keys of `accounts_ledgerentry` (account, credit rule, policy version, credit run, author, reversed
entry) were deferred constraints: PostgreSQL queued a check per entry and key and ran each at COMMIT as a query of
its own, about a quarter of a month's credit run's database time (bench/RESULTS.md, "Credits"). They are replaced by
- `accounts_ledgerentry_refs`, an AFTER INSERT trigger FOR EACH STATEMENT that looks every new entry's references up
  in one query over the statement's new rows, and locks the credit rule, policy version, credit run and user it
  finds (FOR KEY SHARE, as a foreign key does) so that none of them is deleted before the entry commits. The
  account is not locked again: an entry is written under its account's row lock and moves its balance in the same
  transaction (accounts.ledger), which keeps a deletion of the account waiting until the entry is committed;
- `accounts_ledger_referenced`, BEFORE DELETE OR UPDATE triggers on the referenced tables, which refuse to delete
  (or renumber) a row that an entry refers to. A ledger entry is never deleted (0003), so that refusal is final,
  as the foreign key's was.
Both raise `foreign_key_violation` (SQLSTATE 23503), an IntegrityError to Django, as the foreign keys did.

SQLite keeps the foreign keys in its table definition (dropping them would rebuild the table and lose the
immutability triggers of 0003); the model says db_constraint=False for both, so Django creates none anew.
"""

from django.conf import settings
from django.db import migrations, models

LEDGER = "accounts_ledgerentry"
# column -> (app label, model) of the referenced table
REFERENCES = {
    "account_id": ("accounts", "PersonalAccount"),
    "credit_rule_id": ("policies", "CreditRule"),
    "policy_version_id": ("policies", "PolicyVersion"),
    "run_id": ("accounts", "CreditRun"),
    "created_by_id": tuple(settings.AUTH_USER_MODEL.split(".")),
    "reverses_id": ("accounts", "LedgerEntry"),
}
# Locked by the insert trigger (the account is locked by its writer; a reversed entry can never be deleted).
LOCKED = ("credit_rule_id", "policy_version_id", "run_id", "created_by_id")


def _tables(apps) -> dict[str, str]:  # noqa: ANN001
    return {column: apps.get_model(*model)._meta.db_table for column, model in REFERENCES.items()}


def _insert_trigger_sql(tables: dict[str, str]) -> str:
    missing = " OR ".join(
        ("" if column == "account_id" else f"(n.{column} IS NOT NULL AND ")
        + f"NOT EXISTS (SELECT 1 FROM {table} p WHERE p.id = n.{column}"
        + (" FOR KEY SHARE" if column in LOCKED else "") + ")"
        + ("" if column == "account_id" else ")")
        for column, table in tables.items())
    detail = ", ".join(f"{column} %s" for column in tables)
    values = ", ".join(f"bad.{column}" for column in tables)
    return f"""
CREATE OR REPLACE FUNCTION accounts_ledgerentry_refs() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.* INTO bad FROM new_entries n WHERE {missing} LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % refers to a row that does not exist', bad.id
            USING ERRCODE = 'foreign_key_violation', DETAIL = format('{detail}', {values});
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_ledgerentry_refs AFTER INSERT ON {LEDGER} REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_ledgerentry_refs();
CREATE OR REPLACE FUNCTION accounts_ledger_referenced() RETURNS trigger AS $$
DECLARE
    used boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM {LEDGER} WHERE %I = $1)', TG_ARGV[0]) INTO used USING OLD.id;
    IF used THEN
        RAISE EXCEPTION '% % is referred to by ledger entries', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
""" + "".join(f"""
CREATE TRIGGER accounts_ledger_referenced BEFORE DELETE OR UPDATE OF id ON {table}
    FOR EACH ROW EXECUTE FUNCTION accounts_ledger_referenced('{column}');"""
              for column, table in tables.items() if table != LEDGER)


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    tables = _tables(apps)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
                                                                 AND a.attnum = ANY (c.conkey)
            WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = ANY (%s)
        """, [LEDGER, list(tables)])
        names = [row[0] for row in cursor.fetchall()]
    with schema_editor.connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'ALTER TABLE {LEDGER} DROP CONSTRAINT "{name}"')
        cursor.execute(_insert_trigger_sql(tables))  # no parameters: the % of format() stay as they are


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    tables = _tables(apps)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS accounts_ledgerentry_refs ON {LEDGER}; "
                          "DROP FUNCTION IF EXISTS accounts_ledgerentry_refs();")
    for column, table in tables.items():
        if table != LEDGER:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS accounts_ledger_referenced ON {table}")
        schema_editor.execute(f"ALTER TABLE {LEDGER} ADD CONSTRAINT {LEDGER}_{column}_fk FOREIGN KEY ({column}) "
                              f"REFERENCES {table} (id) DEFERRABLE INITIALLY DEFERRED")
    schema_editor.execute("DROP FUNCTION IF EXISTS accounts_ledger_referenced();")


def _field(name: str, field: models.Field) -> migrations.AlterField:
    return migrations.AlterField(model_name="ledgerentry", name=name, field=field)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0013_list_order_indexes"),
        ("policies", "0006_plausibility_limits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                _field("account", models.ForeignKey(
                    db_constraint=False, db_index=False, on_delete=models.PROTECT, related_name="entries",
                    to="accounts.personalaccount", verbose_name="account")),
                _field("credit_rule", models.ForeignKey(
                    blank=True, db_constraint=False, db_index=False, null=True, on_delete=models.PROTECT,
                    related_name="+", to="policies.creditrule", verbose_name="credit rule")),
                _field("policy_version", models.ForeignKey(
                    blank=True, db_constraint=False, null=True, on_delete=models.PROTECT, related_name="+",
                    to="policies.policyversion", verbose_name="policy version")),
                _field("run", models.ForeignKey(
                    blank=True, db_constraint=False, db_index=False, null=True, on_delete=models.PROTECT,
                    related_name="entries", to="accounts.creditrun", verbose_name="credit run")),
                _field("created_by", models.ForeignKey(
                    blank=True, db_constraint=False, db_index=False, null=True, on_delete=models.PROTECT,
                    related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="by")),
                _field("reverses", models.OneToOneField(
                    blank=True, db_constraint=False, null=True, on_delete=models.PROTECT,
                    related_name="reversed_by", to="accounts.ledgerentry", verbose_name="reverses")),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
