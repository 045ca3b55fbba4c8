"""Contributions lose the index of their person alone: the unique (person, period) leads with it (bench/RESULTS.md,
"Credits": the credit run's lookup of a month's contribution read every contribution of the person)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0020_account_person_per_statement'),
    ]

    operations = [
        migrations.AlterField(
            model_name='contribution',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='contributions', to='accounts.person', verbose_name='person'),
        ),
    ]
