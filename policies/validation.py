"""Checks a draft must pass to be published: complete rule tables, and for Shandong cities the provincial bounds
of 鲁政办发〔2021〕22号 (POLICY.md): for employee versions against that year's provincial average wage, for resident
versions (二(九)) the floor of the outpatient cap and of the chronic-disease rate. Each problem is one translatable
sentence naming the bound and the numbers."""

import itertools
from decimal import Decimal

from django.utils.translation import gettext as _

from policies.models import (
    HOSPITAL_LEVELS,
    BenefitRule,
    ClearingWay,
    EnrolleeClass,
    FacilityLevel,
    MedGroup,
    PharmacySettlement,
    PolicyVersion,
    ReferenceKind,
)
from policies.selectors import fmt_money, fmt_rate

SHANDONG_PROVINCE = "37"
# The provincial bounds. "About 5%" (cap) and "on average 5 points above" (retired) are targets, not exact
# figures: the cap is accepted from 4% to 6% of the wage and the retired margin from 4 points.
DEDUCTIBLE_MAX_SHARE = Decimal("0.02")
IN_SERVICE_MIN_RATE = Decimal("0.50")
RETIRED_MARGIN_ACCEPTED = Decimal("0.04")
LEVEL_SPREAD_MIN = Decimal("0.10")
CAP_SHARE_MIN = Decimal("0.04")
CAP_SHARE_MAX = Decimal("0.06")
# Resident insurance (二(九)): outpatient pooling with a cap of at least 200 yuan a year (by the end of 2021) and
# chronic diseases reimbursed at 65% or more (by 2025).
RESIDENT_CAP_MIN = Decimal("200")
RESIDENT_CHRONIC_MIN_RATE = Decimal("0.65")


def points(value: Decimal) -> str:
    return str((value * 100).quantize(Decimal("0.01")))


def level_label(level: str) -> str:
    return str(FacilityLevel(level).label)


def policy_version_problems(version: PolicyVersion) -> list[str]:
    """Everything that stops `version` from being published, apart from its period (checked by the service)."""
    classes = list(version.enrollee_classes.all())
    rules = list(version.benefit_rules.select_related("enrollee_class"))
    problems = completeness_problems(version, classes, rules)
    problems += insutype_problems(version, classes)
    problems += payment_method_problems(version, rules)
    if version.region.admdvs.startswith(SHANDONG_PROVINCE):
        if version.is_resident:
            problems += shandong_resident_bound_problems(rules)
        else:
            problems += shandong_bound_problems(version, classes, rules)
    return list(dict.fromkeys(problems))


def insutype_problems(version: PolicyVersion, classes: list[EnrolleeClass]) -> list[str]:
    """An employee version's classes name person types; a resident version has one class naming none (residents
    have no person type) and no credit rules (residents have no personal account)."""
    problems = []
    if version.is_resident:
        for c in classes:
            if c.psn_type_set:
                problems.append(_("enrollee class %(cls)s of a resident version names person types: residents have "
                                  "none, leave them blank") % {"cls": c.name})
        if len(classes) > 1:
            problems.append(_("a resident version has one enrollee class, this one has %(n)s") % {"n": len(classes)})
        if version.credit_rules.exists():
            problems.append(_("a resident version has no credit rules: residents have no personal account"))
    else:
        for c in classes:
            if not c.psn_type_set:
                problems.append(_("enrollee class %(cls)s names no person type") % {"cls": c.name})
    return problems


def _ranges_meet(a: EnrolleeClass, b: EnrolleeClass) -> bool:
    if (a.retire_date_from, a.retire_date_to) == (None, None) or (b.retire_date_from, b.retire_date_to) == (None,
                                                                                                           None):
        return True
    a_from, b_from = a.retire_date_from, b.retire_date_from
    a_to, b_to = a.retire_date_to, b.retire_date_to
    return (a_to is None or b_from is None or b_from <= a_to) and (b_to is None or a_from is None or a_from <= b_to)


def completeness_problems(version: PolicyVersion, classes: list[EnrolleeClass],
                          rules: list[BenefitRule]) -> list[str]:
    """Every class × level × medical-type group the version uses has exactly one rule; classes do not overlap."""
    problems = []
    if not classes:
        return [_("%(code)s has no enrollee classes") % {"code": version.code}]
    for a, b in itertools.combinations(classes, 2):
        shared = a.psn_type_set & b.psn_type_set
        if shared and _ranges_meet(a, b):
            problems.append(_("enrollee classes %(a)s and %(b)s both cover person type %(t)s")
                            % {"a": a.name, "b": b.name, "t": ", ".join(sorted(shared))})
    general_levels = list(HOSPITAL_LEVELS)
    if version.pharmacy_settlement == PharmacySettlement.EXT_RX_POOLED or any(
            r.med_group == MedGroup.GENERAL and r.facility_level == FacilityLevel.PHARMACY for r in rules):
        general_levels.append(FacilityLevel.PHARMACY.value)
    groups = [(MedGroup.GENERAL.value, "")]
    groups += sorted({(r.med_group, r.dise_code) for r in rules if r.med_group == MedGroup.CHRONIC})
    for med_group, dise_code in groups:
        what = _("general outpatient") if med_group == MedGroup.GENERAL else dise_code
        for c in classes:
            levels = {r.facility_level for r in rules
                      if r.med_group == med_group and r.dise_code == dise_code and r.enrollee_class_id == c.pk}
            if FacilityLevel.ANY in levels:
                if len(levels) > 1:
                    problems.append(_("%(what)s for %(cls)s has a rule for any facility and rules by level")
                                    % {"what": what, "cls": c.name})
                continue
            required = general_levels if med_group == MedGroup.GENERAL else list(HOSPITAL_LEVELS)
            for level in required:
                if level not in levels:
                    problems.append(_("no %(what)s rule for %(cls)s at %(level)s")
                                    % {"what": what, "cls": c.name, "level": level_label(level)})
    return problems


def shandong_resident_bound_problems(rules: list[BenefitRule]) -> list[str]:
    """The provincial bounds on resident outpatient pooling: every general-outpatient cap at least 200 yuan a year
    (blank: no cap, above any floor) and every chronic-disease rate at least 65%."""
    problems = []
    for r in rules:
        where = {"cls": r.enrollee_class.name, "level": level_label(r.facility_level)}
        if r.med_group == MedGroup.GENERAL and r.annual_cap is not None and r.annual_cap < RESIDENT_CAP_MIN:
            problems.append(
                _("resident outpatient annual cap %(cap)s at %(level)s is below the Shandong minimum of 200 yuan a "
                  "year") % {**where, "cap": fmt_money(r.annual_cap)})
        if r.med_group == MedGroup.CHRONIC and r.rate < RESIDENT_CHRONIC_MIN_RATE:
            problems.append(
                _("resident chronic-disease rate %(rate)s for %(dise)s is below the Shandong minimum of 65%%")
                % {"rate": fmt_rate(r.rate), "dise": r.dise_code})
    return problems


def payment_method_problems(version: PolicyVersion, rules: list[BenefitRule]) -> list[str]:
    """Per-disease payment is for a disease the version covers; separately paid drugs have a rate when they have a
    cap. (Each row's own shape is checked by the model and the database.)"""
    problems = []
    covered = {r.dise_code for r in rules if r.med_group == MedGroup.CHRONIC}
    for method in version.payment_methods.all():
        if method.clr_way == ClearingWay.PER_DISEASE and method.dise_code not in covered:
            problems.append(_("per-disease payment for %(dise)s, a disease this version does not cover (no "
                              "chronic-disease benefit rule)") % {"dise": method.dise_code})
    if version.sep_pay_rate is None and version.sep_pay_annual_cap is not None:
        problems.append(_("separately paid drugs have an annual cap but no rate"))
    if version.sep_pay_rate is not None and not version.sep_pay_bucket.strip():
        problems.append(_("separately paid drugs need an accumulator bucket"))
    elif version.sep_pay_rate is not None and version.sep_pay_bucket in {r.bucket for r in rules}:
        problems.append(_("separately paid drugs need a bucket of their own, not %(bucket)s of the benefit rules")
                        % {"bucket": version.sep_pay_bucket})
    if version.plausible_line_max > version.plausible_bill_max:
        problems.append(_("the plausibility limit per bill line (%(line)s) is above the limit per bill (%(bill)s)")
                        % {"line": version.plausible_line_max, "bill": version.plausible_bill_max})
    return problems


def _average(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal("0")) / len(values)


def shandong_bound_problems(version: PolicyVersion, classes: list[EnrolleeClass],
                            rules: list[BenefitRule]) -> list[str]:
    """The provincial bounds on general outpatient pooling, against the provincial average wage of the year the
    version comes into force."""
    year = version.effective_from.year
    wage = next((v.amount for v in version.reference_values.all()
                 if v.kind == ReferenceKind.PROVINCIAL_AVG_WAGE and v.year == year), None)
    if wage is None:
        return [_("no provincial average wage for %(year)s: the Shandong bounds cannot be checked; add it to the "
                  "reference values") % {"year": year}]
    problems = []
    general = [r for r in rules if r.med_group == MedGroup.GENERAL]

    max_deductible = wage * DEDUCTIBLE_MAX_SHARE
    cap_low, cap_high = wage * CAP_SHARE_MIN, wage * CAP_SHARE_MAX
    for r in general:
        where = {"cls": r.enrollee_class.name, "level": level_label(r.facility_level)}
        if r.deductible > max_deductible:
            problems.append(
                _("deductible %(amount)s for %(cls)s at %(level)s is above the Shandong maximum of 2%% of the "
                  "provincial average wage (%(wage)s → %(max)s)")
                % {**where, "amount": fmt_money(r.deductible), "wage": fmt_money(wage),
                   "max": fmt_money(max_deductible)})
        if r.annual_cap is None or not cap_low <= r.annual_cap <= cap_high:
            problems.append(
                _("annual cap %(cap)s for %(cls)s at %(level)s is not about 5%% of the provincial average wage "
                  "%(wage)s (Shandong: about 5%%; accepted from %(low)s to %(high)s, 4%% to 6%%)")
                % {**where, "cap": fmt_money(r.annual_cap, none=_("none")), "wage": fmt_money(wage),
                   "low": fmt_money(cap_low), "high": fmt_money(cap_high)})
        if r.enrollee_class.is_in_service and r.rate < IN_SERVICE_MIN_RATE:
            problems.append(
                _("in-service reimbursement rate %(rate)s at %(level)s is below the Shandong minimum of 50%% "
                  "(%(cls)s)") % {**where, "rate": fmt_rate(r.rate)})

    averages: dict[int, Decimal] = {}
    for c in classes:
        by_level = {r.facility_level: r.rate for r in general if r.enrollee_class_id == c.pk}
        if FacilityLevel.ANY in by_level:
            rates = [by_level[FacilityLevel.ANY]] * 3
        elif all(level in by_level for level in HOSPITAL_LEVELS):
            rates = [by_level[level] for level in HOSPITAL_LEVELS]
        else:
            continue  # incomplete: reported by completeness_problems
        averages[c.pk] = _average(rates)
        for (low, low_rate), (high, high_rate) in itertools.pairwise(zip(HOSPITAL_LEVELS, rates, strict=True)):
            if high_rate > low_rate:
                problems.append(
                    _("reimbursement rate %(high_rate)s at %(high)s is above %(low_rate)s at %(low)s for %(cls)s: "
                      "Shandong rates favour primary care (lower levels pay at least as much)")
                    % {"high_rate": fmt_rate(high_rate), "high": level_label(high), "low_rate": fmt_rate(low_rate),
                       "low": level_label(low), "cls": c.name})
        spread = rates[0] - rates[-1]
        if spread < LEVEL_SPREAD_MIN:
            problems.append(
                _("difference between level 1 (%(r1)s) and level 3 (%(r3)s) reimbursement rates for %(cls)s is "
                  "%(points)s points, below the Shandong minimum of 10 points between facility levels")
                % {"r1": fmt_rate(rates[0]), "r3": fmt_rate(rates[-1]), "cls": c.name, "points": points(spread)})

    in_service = [averages[c.pk] for c in classes if c.is_in_service and c.pk in averages]
    if in_service:
        in_service_avg = _average(in_service)
        for c in classes:
            if not c.is_retired or c.pk not in averages:
                continue
            margin = averages[c.pk] - in_service_avg
            if margin < RETIRED_MARGIN_ACCEPTED:
                problems.append(
                    _("retired average reimbursement rate %(retired)s (%(cls)s) is %(points)s points above the "
                      "in-service average %(in_service)s: Shandong sets it on average 5 points above (accepted "
                      "from 4 points)")
                    % {"retired": fmt_rate(averages[c.pk]), "cls": c.name, "points": points(margin),
                       "in_service": fmt_rate(in_service_avg)})
    return problems
