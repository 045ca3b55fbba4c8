"""The database router used when a replica is configured (`DATABASE_REPLICA_URL`): reads go where
`core.replica.read_alias()` says (the primary unless the view is marked as reading the replica and nothing pins the
request to the primary), writes and locking reads always to the primary, migrations only to the primary."""

from typing import Any

from django.db import DEFAULT_DB_ALIAS

from core.replica import REPLICA, note_write, read_alias


class PrimaryReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        note_write()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
