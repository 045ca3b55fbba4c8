"""An index for finding a person by the last digits of the ID number: the number reversed, so that its end is the
start of an indexed string and `LIKE 'reversed-digits%'` is an index range scan instead of `LIKE '%digits'` over
every row. PostgreSQL only (SQLite, used for development, scans)."""

from django.db import migrations

CREATE = ("CREATE INDEX IF NOT EXISTS person_certno_reversed "
          "ON accounts_person (reverse(certno) text_pattern_ops)")
DROP = "DROP INDEX IF EXISTS person_certno_reversed"


def index_create(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def index_drop(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_credit_run_chunks'),
    ]

    operations = [
        migrations.RunPython(index_create, index_drop),
    ]
