"""Staff users and their roles (Django's groups) in the reader's language: each role under its label beside its
code, and every permission as app, model and action in words (Django stores permission names in English)."""

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import ManyToManyField
from django.forms import ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.roles import ROLES

ACTIONS = {"add": _("Can add %(model)s"), "change": _("Can change %(model)s"), "delete": _("Can delete %(model)s"),
           "view": _("Can view %(model)s")}


def permission_label(permission: Permission) -> str:
    """"参保人员与个人账户 | 参保人员 | 可以增加参保人员" for accounts.add_person."""
    model = permission.content_type.model_class()
    app = apps.get_app_config(permission.content_type.app_label)
    model_name = model._meta.verbose_name if model else permission.content_type.model
    action = permission.codename.split("_", 1)[0]
    if permission.codename == f"{action}_{permission.content_type.model}" and action in ACTIONS:
        label = ACTIONS[action] % {"model": model_name}
    else:
        label = gettext(permission.name)
    return f"{app.verbose_name} | {model_name} | {label}"


class PermissionLabelsMixin:
    def formfield_for_manytomany(self, db_field: ManyToManyField, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if isinstance(field, ModelMultipleChoiceField) and db_field.related_model is Permission:
            field.queryset = field.queryset.select_related("content_type")
            field.label_from_instance = permission_label
        return field


admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class GroupAdmin(PermissionLabelsMixin, DjangoGroupAdmin):
    list_display = ["name", "role_label"]

    @admin.display(description=_("role"))
    def role_label(self, group: Group) -> str:
        role = ROLES.get(group.name)
        return str(role["label"]) if role else "-"


@admin.register(User)
class UserAdmin(PermissionLabelsMixin, DjangoUserAdmin):
    list_display = ["username", "roles", "email", "first_name", "last_name", "is_staff", "is_active"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        return ", ".join(str(ROLES[g.name]["label"]) if g.name in ROLES else g.name for g in user.groups.all()) or "-"
