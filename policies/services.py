"""Writes of the policy-version lifecycle: clone into a draft, publish, retire. Each writes its audit record
(PolicyAuditEvent, and the acting user on the simple-history rows) in the same transaction."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from policies.errors import PolicyError
from policies.models import (
    AuditAction,
    PolicyAuditEvent,
    PolicyStatus,
    PolicyVersion,
    Region,
)
from policies.selectors import policy_versions_published_overlapping
from policies.validation import policy_version_problems

ONE_DAY = datetime.timedelta(days=1)


def _save(obj: models.Model, actor: AbstractBaseUser | None) -> None:
    obj._history_user = actor  # simple-history records it as history_user
    obj.save()


def _audit(*, version: PolicyVersion, action: str, actor: AbstractBaseUser | None, detail: str) -> None:
    PolicyAuditEvent.objects.create(version=version, action=action, actor=actor, detail=detail)


def _copy(obj: models.Model, **changes: object) -> models.Model:
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key}
    values.update(changes)
    return type(obj)(**values)


@transaction.atomic
def policy_version_clone(*, version: PolicyVersion, code: str, actor: AbstractBaseUser | None,
                         effective_from: datetime.date | None = None, effective_to: datetime.date | None = None,
                         title: str | None = None) -> PolicyVersion:
    """A new draft `code` with every option, reference value, enrollee class, rule and payment method of `version`.

    The period defaults to the source's own; a successor usually sets `effective_from` (and leaves `effective_to`
    open) and publishing it ends the source the day before.
    """
    if PolicyVersion.objects.filter(code=code).exists():
        raise PolicyError(PolicyError.INVALID_REQUEST, _("a policy version %(code)s already exists") % {"code": code})
    draft = _copy(version, code=code, status=PolicyStatus.DRAFT, title=title or version.title,
                  effective_from=effective_from or version.effective_from,
                  effective_to=effective_to if effective_from or effective_to else version.effective_to)
    if draft.effective_to and draft.effective_to < draft.effective_from:
        raise PolicyError(PolicyError.INVALID_REQUEST, _("the period ends before it starts"))
    _save(draft, actor)
    for value in version.reference_values.all():
        _save(_copy(value, version_id=draft.pk), actor)
    class_map = {}
    for enrollee_class in version.enrollee_classes.all():
        copy = _copy(enrollee_class, version_id=draft.pk)
        _save(copy, actor)
        class_map[enrollee_class.pk] = copy.pk
    for rule in version.benefit_rules.all():
        _save(_copy(rule, version_id=draft.pk, enrollee_class_id=class_map[rule.enrollee_class_id]), actor)
    for rule in version.credit_rules.all():
        _save(_copy(rule, version_id=draft.pk), actor)
    for method in version.payment_methods.all():
        _save(_copy(method, version_id=draft.pk), actor)
    _audit(version=draft, action=AuditAction.CLONE, actor=actor, detail=f"from {version.code}")
    return draft


@transaction.atomic
def policy_version_publish(*, version: PolicyVersion, actor: AbstractBaseUser | None) -> PolicyVersion:
    """Publish a draft after every check of validation.py and the no-overlap rule.

    A published predecessor of the region and insurance type that starts before the draft and would overlap it is
    ended the day before the draft starts; any other overlap refuses (an employee and a resident version of a region
    are in force side by side). A refusal raises PolicyError PUBLISH_REFUSED whose
    `messages` name every problem.
    """
    Region.objects.select_for_update().get(pk=version.region_id)  # one publish per region at a time
    version = PolicyVersion.objects.select_for_update().select_related("region").get(pk=version.pk)
    if not version.is_draft:
        raise PolicyError(PolicyError.INVALID_STATE,
                          _("policy version %(code)s is %(status)s: only a draft can be published")
                          % {"code": version.code, "status": version.get_status_display()})
    problems = policy_version_problems(version)
    open_end = pgettext("period end", "open")
    to_end = []
    for other in policy_versions_published_overlapping(region_id=version.region_id, insutype=version.insutype,
                                                       start=version.effective_from, end=version.effective_to,
                                                       exclude_pk=version.pk):
        if other.effective_from < version.effective_from:
            to_end.append(other)
        else:
            problems.append(_("the period %(start)s to %(end)s overlaps published version %(other)s (%(o_start)s to "
                              "%(o_end)s)")
                            % {"start": version.effective_from, "end": version.effective_to or open_end,
                               "other": other.code, "o_start": other.effective_from,
                               "o_end": other.effective_to or open_end})
    if problems:
        raise PolicyError(PolicyError.PUBLISH_REFUSED,
                          _("policy version %(code)s cannot be published: %(problems)s")
                          % {"code": version.code, "problems": "; ".join(problems)}, messages=problems)
    for other in to_end:
        old_end = other.effective_to
        other.effective_to = version.effective_from - ONE_DAY
        _save(other, actor)
        _audit(version=other, action=AuditAction.END, actor=actor,
               detail=f"ends {other.effective_to} (was {old_end or 'open'}): {version.code} starts "
                      f"{version.effective_from}")
    version.status = PolicyStatus.PUBLISHED
    _save(version, actor)
    _audit(version=version, action=AuditAction.PUBLISH, actor=actor,
           detail=f"in force {version.effective_from} to {version.effective_to or 'open'}")
    return version


@transaction.atomic
def policy_version_retire(*, version: PolicyVersion, actor: AbstractBaseUser | None) -> PolicyVersion:
    """Withdraw a published version: it is no longer in force on any day and is kept for history only."""
    version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != PolicyStatus.PUBLISHED:
        raise PolicyError(PolicyError.INVALID_STATE,
                          _("policy version %(code)s is %(status)s: only a published version can be retired")
                          % {"code": version.code, "status": version.get_status_display()})
    version.status = PolicyStatus.RETIRED
    _save(version, actor)
    _audit(version=version, action=AuditAction.RETIRE, actor=actor,
           detail=f"was in force {version.effective_from} to {version.effective_to or 'open'}")
    return version

