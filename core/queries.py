"""Small query helpers."""

from django.db.models import Model, QuerySet


def only_row(queryset: QuerySet) -> Model | None:
    """The row a lookup by a unique key finds, or None.

    Unlike `.first()`, which adds `ORDER BY id`: with `LIMIT 1` that lets PostgreSQL walk the primary key and
    filter, scanning a table of millions when the key is absent (an idempotency check of a new request)."""
    return next(iter(queryset.order_by()[:1]), None)
