"""Accounts' pages are filled to half (PostgreSQL), so that moving a balance keeps the row on its page (HOT).

A credit chunk updates every account of its pages in one transaction. On a full page each new version went to
another page with a new entry in both of the table's indexes; the old versions, dead, stayed in the indexes until a
vacuum, and the next month's lookups by person read both. With half of each page free, every account of a page
can take its new version beside the old one: no index entry, and the dead version is pruned from the page when it
is next read. The table takes twice the space (an account is about 60 bytes: 120 MB instead of 60 MB for
1,000,000). Pages written before this migration stay as full as they are until the table is rewritten
(VACUUM FULL or pg_repack).
"""

from django.db import migrations


def forwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE accounts_personalaccount SET (fillfactor = 50)")


def backwards(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE accounts_personalaccount RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [("accounts", "0016_ledger_references_once_per_value")]

    operations = [migrations.RunPython(forwards, backwards)]
