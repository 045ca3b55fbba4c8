"""On PostgreSQL, two published versions of a region can never overlap (the service checks the same everywhere)."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE policies_policyversion ADD CONSTRAINT policyversion_published_no_overlap
    EXCLUDE USING gist (region_id WITH =, daterange(effective_from, effective_to, '[]') WITH &&)
    WHERE (status = 'published');
"""
DROP = "ALTER TABLE policies_policyversion DROP CONSTRAINT IF EXISTS policyversion_published_no_overlap;"


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases (SQLite in development and most tests)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # noqa: ANN001, ANN201
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # noqa: ANN001, ANN201
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ("policies", "0002_policy_versions"),
    ]

    operations = [
        PostgresOnlySQL(CREATE, DROP, elidable=False),
    ]
