"""Staff roles as Django groups, kept in step with this table after every migrate (`manage.py roles_sync` too).

Each role lists permission codenames as `app_label.codename`; a trailing `*` grants the standard permission of
that action on every model of the app (e.g. `claims.view_*`), never a custom one such as
`accounts.view_full_certno`, which a role must name.
"""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

VIEW_ALL = ["policies.view_*", "accounts.view_*", "claims.view_*", "reports.view_*", "clearing.view_*",
            "gateway.view_*", "whatif.view_*"]

ROLES: dict[str, dict] = {
    # The registry: people, employers, enrollments, family links, contributions, facilities and catalogs. Money in
    # accounts is not theirs: no credit runs, no payments from accounts, no opening balances or corrections.
    "registry_clerk": {
        "label": _("Registry clerk"),
        "perms": VIEW_ALL + [
            "accounts.add_employer", "accounts.change_employer",
            "accounts.add_person", "accounts.change_person",
            "accounts.add_enrollment", "accounts.change_enrollment",
            "accounts.add_familylink", "accounts.change_familylink", "accounts.delete_familylink",
            "accounts.add_contribution", "accounts.change_contribution",
            "claims.add_facility", "claims.change_facility",
            "claims.add_item", "claims.change_item",
            "claims.add_disease", "claims.change_disease",
            "claims.add_recognition", "claims.change_recognition", "claims.delete_recognition",
            "claims.review_recognition",
            "claims.add_crossregionfiling", "claims.change_crossregionfiling", "claims.delete_crossregionfiling",
            "clearing.add_signing", "clearing.change_signing", "clearing.delete_signing",
            "accounts.view_full_certno",
        ],
    },
    # Personal accounts: starts credit runs, pays relatives' contributions from accounts, and asks for money moved
    # by hand (opening balances, by file or one by one, and corrections), which a second person approves.
    "account_officer": {
        "label": _("Account officer"),
        "perms": VIEW_ALL + ["accounts.add_creditrun", "accounts.add_relativecontribution",
                             "accounts.add_accountadjustment", "accounts.add_ledgerentry"],
    },
    # The second pair of eyes: approves or rejects money moved by hand, and moves none itself.
    "money_approver": {
        "label": _("Approver of money moved by hand"),
        "perms": VIEW_ALL + ["accounts.approve_accountadjustment", "core.approve_importjob",
                             "core.view_importjob"],
    },
    "policy_manager": {
        "label": _("Policy manager"),
        "perms": VIEW_ALL + ["policies.add_*", "policies.change_*", "policies.delete_*", "policies.manage_policy",
                             "whatif.add_whatifrun", "whatif.delete_whatifrun"],
    },
    "settlement_auditor": {
        "label": _("Settlement auditor"),
        "perms": VIEW_ALL + ["claims.reverse_settlement", "claims.settle_late", "accounts.view_full_certno",
                             "clearing.run_audit"],
    },
    "supervisor": {
        "label": _("Supervisor"),
        "perms": VIEW_ALL + ["reports.review_alert", "reports.change_*", "accounts.view_full_certno",
                             "claims.review_recognition"],
    },
    # Clearing with facilities: build, review and approve statements (never one's own review), make payment files,
    # review claims, keep facilities' bank accounts.
    "clearing_officer": {
        "label": _("Clearing officer"),
        "perms": VIEW_ALL + ["clearing.review_statement", "clearing.approve_statement", "clearing.pay_statement",
                             "clearing.review_claims", "clearing.add_bankaccount", "clearing.change_bankaccount",
                             "clearing.run_clearing", "clearing.run_audit"],
    },
    "read_only": {
        "label": _("Read-only"),
        "perms": VIEW_ALL,
    },
}


def _granted(spec: str, permissions: list[Permission]) -> list[Permission]:
    app_label, codename = spec.split(".", 1)
    if codename.endswith("*"):
        action = codename[:-1]
        return [p for p in permissions
                if p.content_type.app_label == app_label and p.codename == f"{action}{p.content_type.model}"]
    return [p for p in permissions if p.content_type.app_label == app_label and p.codename == codename]


def roles_sync() -> dict[str, int]:
    """Create the role groups and set each one's permissions exactly to its table row. Idempotent."""
    permissions = list(Permission.objects.select_related("content_type"))
    counts = {}
    for name, role in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        granted = {p.pk: p for spec in role["perms"] for p in _granted(spec, permissions)}
        group.permissions.set(list(granted.values()))
        counts[name] = len(granted)
    return counts
