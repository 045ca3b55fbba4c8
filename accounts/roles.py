"""Staff roles as Django groups, kept in step with this table after every migrate (`manage.py roles_sync` too).

Each role lists permission codenames as `app_label.codename`; a trailing `*` grants every model permission of
that action in the app (e.g. `claims.view_*`).
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

VIEW_ALL = ["policies.view_*", "accounts.view_*", "claims.view_*", "reports.view_*"]

ROLES: dict[str, dict] = {
    "registry_clerk": {
        "label": _("Registry clerk"),
        "perms": VIEW_ALL + [
            "accounts.add_*", "accounts.change_*",
            "claims.add_facility", "claims.change_facility",
            "claims.add_item", "claims.change_item",
            "claims.add_disease", "claims.change_disease",
            "claims.add_recognition", "claims.change_recognition", "claims.delete_recognition",
            "accounts.delete_familylink",
            "accounts.view_full_certno",
        ],
    },
    "policy_manager": {
        "label": _("Policy manager"),
        "perms": VIEW_ALL + ["policies.add_*", "policies.change_*", "policies.delete_*", "policies.manage_policy"],
    },
    "settlement_auditor": {
        "label": _("Settlement auditor"),
        "perms": VIEW_ALL + ["claims.reverse_settlement", "accounts.view_full_certno"],
    },
    "supervisor": {
        "label": _("Supervisor"),
        "perms": VIEW_ALL + ["reports.review_alert", "reports.change_*", "accounts.view_full_certno"],
    },
    "read_only": {
        "label": _("Read-only"),
        "perms": VIEW_ALL,
    },
}


def _resolve(spec: str) -> Q:
    app_label, codename = spec.split(".", 1)
    if codename.endswith("*"):
        return Q(content_type__app_label=app_label, codename__startswith=codename[:-1])
    return Q(content_type__app_label=app_label, codename=codename)


def roles_sync() -> dict[str, int]:
    """Create the role groups and set each one's permissions exactly to its table row. Idempotent."""
    counts = {}
    for name, role in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        query = Q(pk__in=[])
        for spec in role["perms"]:
            query |= _resolve(spec)
        perms = list(Permission.objects.filter(query))
        group.permissions.set(perms)
        counts[name] = len(perms)
    return counts
