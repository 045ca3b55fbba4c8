"""Reads of policy versions: the version in force, the benefit terms for a visit, the credit rules for an
enrollee, and the rule tables (for the admin, the API and the side-by-side diff)."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from core.money import ZERO, fen
from policies.errors import PolicyError
from policies.models import (
    GENERAL_BUCKET,
    BenefitRule,
    ClearingGroup,
    ClearingWay,
    CreditBasis,
    CreditFrequency,
    CreditRule,
    EnrolleeClass,
    FacilityLevel,
    InsuType,
    MedGroup,
    PaymentMethod,
    PharmacySettlement,
    PolicyStatus,
    PolicyVersion,
    ReferenceKind,
)

GENERAL_MED_TYPES = ("11", "13")
CHRONIC_MED_TYPE = "14"
PHARMACY_MED_TYPE = "41"


# --- versions ---------------------------------------------------------------------------------------------------

def policy_versions_published_overlapping(*, region_id: int, start: datetime.date, end: datetime.date | None,
                                          insutype: str = InsuType.EMPLOYEE,
                                          exclude_pk: int | None = None) -> QuerySet[PolicyVersion]:
    """Published versions of a region and insurance type whose period meets [start, end] (end None: open)."""
    qs = PolicyVersion.objects.filter(region_id=region_id, insutype=insutype, status=PolicyStatus.PUBLISHED)
    qs = qs.exclude(effective_to__lt=start)
    if end is not None:
        qs = qs.filter(effective_from__lte=end)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.order_by("effective_from")


def no_policy_in_force(admdvs: str, day: datetime.date, insutype: str) -> PolicyError:
    if insutype == InsuType.RESIDENT:
        return PolicyError(PolicyError.NO_POLICY_IN_FORCE,
                           _("no resident-insurance policy in force in region %(admdvs)s on %(day)s")
                           % {"admdvs": admdvs, "day": day})
    return PolicyError(PolicyError.NO_POLICY_IN_FORCE,
                       _("no policy in force in region %(admdvs)s on %(day)s") % {"admdvs": admdvs, "day": day})


def policy_version_in_force(admdvs: str, day: datetime.date, insutype: str = InsuType.EMPLOYEE) -> PolicyVersion:
    """The one published version of insurance type `insutype` in force in region `admdvs` on `day`, or PolicyError
    NO_POLICY_IN_FORCE."""
    versions = list(
        PolicyVersion.objects.select_related("region")
        .filter(region__admdvs=admdvs, insutype=insutype, status=PolicyStatus.PUBLISHED, effective_from__lte=day)
        .exclude(effective_to__lt=day)[:2]
    )
    if len(versions) != 1:
        # Two would break the no-overlap rule that publish and the database enforce; refuse rather than guess.
        raise no_policy_in_force(admdvs, day, insutype)
    return versions[0]


# --- benefit rules ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BenefitTerms:
    """The plain numbers a settlement computes with. `fund_pays` False: the accounts and cash pay everything
    (e.g. a pharmacy purchase without an external prescription)."""

    version_code: str
    fund_pays: bool
    med_group: str = ""
    bucket: str = ""
    enrollee_class: str = ""
    facility_level: str = ""
    deductible: Decimal = ZERO
    rate: Decimal = Decimal("0")
    annual_cap: Decimal | None = None
    supplementary_share_above_cap: Decimal = Decimal("0")
    rule_id: int | None = None


def facility_level_of(facility: object) -> str:
    """The benefit-rule level of a claims.Facility: its hospital level, or `pharmacy`."""
    return FacilityLevel.PHARMACY.value if facility.is_pharmacy else facility.hosp_lv


def enrollee_class_for(*, version: PolicyVersion, psn_type: str,
                       retire_date: datetime.date | None) -> EnrolleeClass:
    """The one enrollee class of `version` for an enrollee of `psn_type` on the service date."""
    matches = [c for c in version.enrollee_classes.all() if c.matches(psn_type, retire_date)]
    if len(matches) != 1:
        raise PolicyError(
            PolicyError.NO_BENEFIT_RULE,
            _("policy %(code)s has %(n)s enrollee classes for person type %(psn_type)s retired on %(retire)s")
            % {"code": version.code, "n": len(matches), "psn_type": psn_type, "retire": retire_date or "-"})
    return matches[0]


def benefit_rule_for(*, version: PolicyVersion, psn_type: str, retire_date: datetime.date | None,
                     facility_level: str, med_type: str, ext_rx: bool = False, dise_code: str = "") -> BenefitTerms:
    """The benefit terms for one visit under `version`.

    `psn_type` is the person type on the service date (Enrollment.psn_type_on(day)), `facility_level` "1", "2",
    "3" or "pharmacy" (facility_level_of). Raises PolicyError MED_TYPE_NOT_ALLOWED (a med_type the facility or the
    policy does not settle), DISEASE_NOT_COVERED (med_type 14 for a disease without rules) or NO_BENEFIT_RULE.
    """
    at_pharmacy = facility_level == FacilityLevel.PHARMACY
    not_allowed = PolicyError(PolicyError.MED_TYPE_NOT_ALLOWED,
                              _("medical type %(med_type)s is not settled at a facility of level %(level)s")
                              % {"med_type": med_type, "level": facility_level})
    if med_type in GENERAL_MED_TYPES + (PHARMACY_MED_TYPE,) and at_pharmacy:
        if med_type in GENERAL_MED_TYPES and not ext_rx:
            raise not_allowed
        if not (ext_rx and version.pharmacy_settlement == PharmacySettlement.EXT_RX_POOLED):
            return BenefitTerms(version_code=version.code, fund_pays=False, facility_level=facility_level)
        med_group, dise_code = MedGroup.GENERAL, ""
    elif med_type in GENERAL_MED_TYPES:
        med_group, dise_code = MedGroup.GENERAL, ""
    elif med_type == CHRONIC_MED_TYPE:
        med_group = MedGroup.CHRONIC
        if not dise_code:
            raise PolicyError(PolicyError.DISEASE_NOT_COVERED, _("medical type 14 needs a disease code"))
    else:
        raise not_allowed

    rules = [r for r in version.benefit_rules.all() if r.med_group == med_group and r.dise_code == dise_code]
    if not rules and med_group == MedGroup.CHRONIC:
        raise PolicyError(PolicyError.DISEASE_NOT_COVERED,
                          _("disease %(dise)s is not covered by policy %(code)s")
                          % {"dise": dise_code, "code": version.code})
    enrollee_class = enrollee_class_for(version=version, psn_type=psn_type, retire_date=retire_date)
    rules = [r for r in rules if r.enrollee_class_id == enrollee_class.pk]
    rule = (next((r for r in rules if r.facility_level == facility_level), None)
            or next((r for r in rules if r.facility_level == FacilityLevel.ANY), None))
    if rule is None:
        if med_group == MedGroup.CHRONIC:
            raise PolicyError(PolicyError.DISEASE_NOT_COVERED,
                              _("disease %(dise)s is not covered at a facility of level %(level)s")
                              % {"dise": dise_code, "level": facility_level})
        raise PolicyError(PolicyError.NO_BENEFIT_RULE,
                          _("policy %(code)s has no rule for %(cls)s at level %(level)s")
                          % {"code": version.code, "cls": enrollee_class.name, "level": facility_level})
    return BenefitTerms(
        version_code=version.code, fund_pays=True, med_group=rule.med_group, bucket=rule.bucket,
        enrollee_class=enrollee_class.code, facility_level=facility_level, deductible=rule.deductible,
        rate=rule.rate, annual_cap=rule.annual_cap,
        supplementary_share_above_cap=rule.supplementary_share_above_cap, rule_id=rule.pk,
    )


@dataclass(frozen=True)
class SepPayTerms:
    """How the pooled fund pays the lines of separately paid drugs (单独支付): `rate` of their in-scope amount, no
    deductible, up to what is left of `annual_cap` (None: none) in the accumulator `bucket`."""

    rate: Decimal
    annual_cap: Decimal | None
    bucket: str


def sep_pay_terms_for(version: PolicyVersion) -> SepPayTerms | None:
    """The version's terms for separately paid drugs; None when it sets none (they settle as ordinary lines)."""
    if version.sep_pay_rate is None:
        return None
    return SepPayTerms(rate=version.sep_pay_rate, annual_cap=version.sep_pay_annual_cap,
                       bucket=version.sep_pay_bucket)


# --- payment methods --------------------------------------------------------------------------------------------

def clearing_group_of(med_type: str, ext_rx: bool) -> str:
    """A settlement's `med_type_group` for clearing: general (11, 13, and 41 with an external prescription),
    chronic (14) or pharmacy (41 without one)."""
    if med_type == CHRONIC_MED_TYPE:
        return ClearingGroup.CHRONIC.value
    if med_type == PHARMACY_MED_TYPE and not ext_rx:
        return ClearingGroup.PHARMACY.value
    return ClearingGroup.GENERAL.value


def payment_method_for(*, methods: list[PaymentMethod], facility_level: str, med_type_group: str,
                       dise_code: str = "") -> PaymentMethod | None:
    """The payment method among `methods` (one version's) for a group of visits at a facility level: the row for
    that disease before the group's row, the level's own row before the row for any facility. None: itemised."""
    candidates = [m for m in methods if m.med_type_group == med_type_group
                  and m.facility_level in (facility_level, FacilityLevel.ANY)
                  and m.dise_code in ((dise_code, "") if dise_code else ("",))]
    candidates.sort(key=lambda m: (m.dise_code == "", m.facility_level == FacilityLevel.ANY))
    return candidates[0] if candidates else None


def _payment_method_text(method: PaymentMethod) -> str:
    if method.clr_way == ClearingWay.ITEMISED:
        return str(ClearingWay.ITEMISED.label)
    return _("%(way)s: %(rate)s per enrollee a month") % {"way": method.get_clr_way_display(),
                                                          "rate": fmt_money(method.rate)}


# --- credit rules -----------------------------------------------------------------------------------------------

def credit_rules_for(*, version: PolicyVersion, psn_type: str, age: int,
                     frequency: str | None = None) -> list[CreditRule]:
    """Every credit rule of `version` for an enrollee of `psn_type` aged `age` on the first day of the credited
    month (there may be several, e.g. an own and an employer share), optionally of one frequency."""
    rules = [r for r in version.credit_rules.all() if r.applies_to(psn_type, age)]
    if frequency is not None:
        rules = [r for r in rules if r.frequency == frequency]
    return rules


def reference_amount(*, version: PolicyVersion, kind: str, year: int) -> Decimal:
    """A reference value of `version` for `year`, or PolicyError REFERENCE_VALUE_MISSING."""
    value = next((v for v in version.reference_values.all() if v.kind == kind and v.year == year), None)
    if value is None:
        raise PolicyError(PolicyError.REFERENCE_VALUE_MISSING,
                          _("policy %(code)s has no %(kind)s for %(year)s")
                          % {"code": version.code, "kind": ReferenceKind(kind).label, "year": year})
    return value.amount


def credit_amount(*, rule: CreditRule, credited_month: datetime.date, clct_base: Decimal | None = None,
                  prorate_months: int | None = None) -> Decimal:
    """The amount of one credit under `rule` for `credited_month`, rounded half-up to the fen.

    A share of the contribution base needs `clct_base`; a fixed amount a year is divided by 12 when credited
    monthly; `prorate_months` (a first annual credit after retirement) takes that many twelfths.
    """
    if rule.basis == CreditBasis.CLCT_BASE_SHARE:
        if clct_base is None:
            raise PolicyError(PolicyError.INVALID_REQUEST, _("a contribution-base credit needs the base"))
        amount = Decimal(clct_base) * rule.rate
    elif rule.basis == CreditBasis.FIXED_AMOUNT:
        amount = rule.amount / 12 if rule.frequency == CreditFrequency.MONTHLY else rule.amount
    else:
        year = rule.reference_year or credited_month.year
        amount = reference_amount(version=rule.version, kind=rule.reference_kind, year=year) * rule.rate
    if prorate_months is not None and rule.prorate_first_year and rule.frequency == CreditFrequency.ANNUAL:
        amount = amount * prorate_months / 12
    return fen(amount)


# --- tables and diff --------------------------------------------------------------------------------------------

def policy_version_full(pk: int) -> PolicyVersion:
    """A version with all its tables prefetched."""
    return (PolicyVersion.objects.select_related("region")
            .prefetch_related("reference_values", "enrollee_classes", "credit_rules", "credit_rules__version",
                              "payment_methods",
                              Prefetch("benefit_rules", BenefitRule.objects.select_related("enrollee_class")))
            .get(pk=pk))


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[str]]] = field(default_factory=list)

    def cell(self, row: str, column: str) -> str | None:
        for label, cells in self.rows:
            if label == row:
                return cells[self.columns.index(column)] if column in self.columns else None
        return None


def fmt_money(value: Decimal | None, none: str = "") -> str:
    return none if value is None else f"{value:,.2f}"


def fmt_rate(value: Decimal | None) -> str:
    return "" if value is None else f"{(value * 100).quantize(Decimal('0.01'))}%"


def fmt_bool(value: bool) -> str:
    return _("yes") if value else _("no")


def _disease_names() -> dict[str, str]:
    from claims.models import Disease

    return dict(Disease.objects.values_list("opsp_dise_code", "opsp_dise_name"))


# Codes shown with their names (the catalog's msgids of accounts.PsnType and the ledger's pockets; policies sits
# below accounts and does not import it).
PSN_TYPE_NAMES = {"1101": gettext_lazy("in-service employee"), "1103": gettext_lazy("flexible-employment in-service"),
                  "1201": gettext_lazy("retired employee"), "1203": gettext_lazy("flexible-employment retired")}
POCKET_NAMES = {"current": gettext_lazy("current-year pocket"), "historical": gettext_lazy("historical pocket")}


def psn_types_named(value: str) -> str:
    """"1101,1103" as "1101 in-service employee, 1103 flexible-employment in-service"."""
    codes = [code.strip() for code in value.split(",") if code.strip()]
    # A no-break space keeps each code on the line of its name.
    return ", ".join(f"{code}\u00a0{PSN_TYPE_NAMES[code]}" if code in PSN_TYPE_NAMES else code for code in codes)


def policy_version_tables(version: PolicyVersion) -> list[Table]:
    """The version as tables laid out like CONTRACT.md's: options, reference values, enrollee classes, one benefit
    table per medical-type group (rows = rule, columns = facility level), and the credit rules."""
    tables = [Table("version", _("Version and options"), [_("value")], [
        (_("code"), [version.code]),
        (_("region"), [str(version.region)]),
        (_("insurance type"), [f"{version.insutype} {version.get_insutype_display()}"]),
        (_("title"), [version.title_label]),
        (_("source document"), [_(version.source_document) if version.source_document else ""]),
        (_("status"), [version.get_status_display()]),
        (_("in force from"), [str(version.effective_from)]),
        (_("in force until"), [str(version.effective_to) if version.effective_to else pgettext("period end", "open")]),
        (_("benefit year starts"), [f"{version.benefit_year_start_month:02d}-{version.benefit_year_start_day:02d}"]),
        (_("current-year pocket pays first"), [fmt_bool(version.current_pocket_first)]),
        (_("two pockets"), [fmt_bool(version.two_pockets)]),
        (_("mutual aid draws on"), [", ".join(str(POCKET_NAMES.get(p, p)) for p in version.mulaid_pockets)
                                    or _("nothing")]),
        (_("pharmacy purchases"), [version.get_pharmacy_settlement_display()]),
        (_("accounts may pay out-of-scope items"), [fmt_bool(version.acct_pays_out_of_scope)]),
        (_("accounts may pay relatives' contributions"), [", ".join(version.relative_contributions) or _("none")]),
        (_("unfiled visits in another region"), [_unfiled_rule(version)]),
        (_("separately paid drugs"), [_sep_pay_text(version)]),
        (_("extrapolate review deductions"), [fmt_bool(version.review_extrapolate)]),
        (_("plausibility limit per bill line"), [fmt_money(version.plausible_line_max)]),
        (_("plausibility limit per bill"), [fmt_money(version.plausible_bill_max)]),
    ])]

    refs = list(version.reference_values.all())
    years = sorted({r.year for r in refs})
    ref_table = Table("reference", _("Reference values"), [str(y) for y in years])
    for kind in ReferenceKind:
        by_year = {r.year: r.amount for r in refs if r.kind == kind}
        if by_year:
            ref_table.rows.append((str(kind.label), [fmt_money(by_year.get(y)) for y in years]))
    tables.append(ref_table)

    classes = list(version.enrollee_classes.all())
    tables.append(Table("classes", _("Enrollee classes"),
                        [_("person types"), _("retired on or after"), _("retired on or before")],
                        [(str(c), [psn_types_named(c.psn_types), str(c.retire_date_from or ""),
                                   str(c.retire_date_to or "")])
                         for c in classes]))

    rules = list(version.benefit_rules.all())
    groups = sorted({(r.med_group, r.dise_code) for r in rules}, key=lambda g: (g[0] != MedGroup.GENERAL, g[1]))
    names = _disease_names() if any(d for _g, d in groups) or any(m.dise_code for m in
                                                                   version.payment_methods.all()) else {}
    level_order = [lv.value for lv in FacilityLevel]
    for med_group, dise_code in groups:
        group_rules = [r for r in rules if r.med_group == med_group and r.dise_code == dise_code]
        levels = sorted({r.facility_level for r in group_rules}, key=level_order.index)
        if med_group == MedGroup.GENERAL:
            key, title = "benefit:general", _("General outpatient and emergency (med_type 11, 13)")
        else:
            key = f"benefit:{dise_code}"
            title = _("Chronic disease %(code)s %(name)s (med_type 14)") % {"code": dise_code,
                                                                           "name": names.get(dise_code, "")}
        table = Table(key, title.strip(), [str(FacilityLevel(lv).label) for lv in levels])
        cell = {(r.enrollee_class_id, r.facility_level): r for r in group_rules}
        present = [c for c in classes if any(r.enrollee_class_id == c.pk for r in group_rules)]
        attributes = [
            (_("deductible"), lambda r: fmt_money(r.deductible)),
            (_("rate"), lambda r: fmt_rate(r.rate)),
            (_("annual cap"), lambda r: fmt_money(r.annual_cap, none=_("no cap"))),
            (_("supplementary share above cap"), lambda r: fmt_rate(r.supplementary_share_above_cap)),
            (_("bucket"), lambda r: str(_("general outpatient")) if r.bucket == GENERAL_BUCKET else r.bucket),
        ]
        for label, show in attributes:
            for c in present:
                table.rows.append((f"{label} · {c}",
                                   [show(cell[(c.pk, lv)]) if (c.pk, lv) in cell else "—" for lv in levels]))
        tables.append(table)

    methods = list(version.payment_methods.all())
    method_levels = sorted({m.facility_level for m in methods}, key=level_order.index)
    payment = Table("payment", _("Payment methods (everything not listed is itemised)"),
                    [str(FacilityLevel(lv).label) for lv in method_levels])
    for group, dise_code in sorted({(m.med_type_group, m.dise_code) for m in methods}):
        label = str(ClearingGroup(group).label)
        if dise_code:
            label = f"{label} · {dise_code} {names.get(dise_code, '')}".strip()
        cell = {m.facility_level: m for m in methods if (m.med_type_group, m.dise_code) == (group, dise_code)}
        payment.rows.append((label, [_payment_method_text(cell[lv]) if lv in cell else "—" for lv in method_levels]))
    tables.append(payment)

    credit = Table("credit", _("Personal-account credits"),
                   [_("person types"), _("age"), _("basis"), _("share or amount"), _("reference"), _("frequency"),
                    _("pocket"), _("prorated"), _("credit")])
    for r in version.credit_rules.all():
        age = f"{'' if r.age_min is None else r.age_min}–{'' if r.age_max is None else r.age_max}"
        ref = f"{ReferenceKind(r.reference_kind).label} {r.reference_year or ''}".strip() if r.reference_kind else ""
        credit.rows.append((str(r), [
            psn_types_named(r.psn_types), age if age != "–" else _("any"), r.get_basis_display(),
            fmt_rate(r.rate) if r.basis != CreditBasis.FIXED_AMOUNT else fmt_money(r.amount),
            ref, r.get_frequency_display(), r.get_pocket_display(), fmt_bool(r.prorate_first_year),
            _credit_example(r, version),
        ]))
    tables.append(credit)
    return tables


def _unfiled_rule(version: PolicyVersion) -> str:
    cut = version.unfiled_rate_cut
    if cut is None:
        return str(version.get_cross_region_unfiled_display())
    return _("paid at rates lowered by %(points)s points") % {"points": format((cut * 100).normalize(), "f")}


def _sep_pay_text(version: PolicyVersion) -> str:
    terms = sep_pay_terms_for(version)
    if terms is None:
        return _("none: settled as ordinary lines")
    return (_("the pooled fund pays %(rate)s of the in-scope amount, no deductible; annual cap %(cap)s; bucket "
              "%(bucket)s")
            % {"rate": fmt_rate(terms.rate), "cap": fmt_money(terms.annual_cap, none=_("no cap")),
               "bucket": terms.bucket})


def _credit_example(rule: CreditRule, version: PolicyVersion) -> str:
    if rule.basis == CreditBasis.CLCT_BASE_SHARE:
        return _("%(rate)s of clct_base") % {"rate": fmt_rate(rule.rate)}
    try:
        return fmt_money(credit_amount(rule=rule, credited_month=version.effective_from))
    except PolicyError as exc:
        return exc.err_msg


@dataclass
class DiffTable:
    key: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[tuple[str | None, str | None, bool]]]]

    @property
    def changed(self) -> bool:
        return any(changed for _label, cells in self.rows for _a, _b, changed in cells)


def policy_version_diff(a: PolicyVersion, b: PolicyVersion) -> list[DiffTable]:
    """Version `a` beside version `b`, table by table: each cell as (a's value, b's value, changed); a cell one
    version lacks is None."""
    tables_a = {t.key: t for t in policy_version_tables(a)}
    tables_b = {t.key: t for t in policy_version_tables(b)}
    keys = list(tables_a) + [k for k in tables_b if k not in tables_a]
    result = []
    for key in keys:
        ta, tb = tables_a.get(key), tables_b.get(key)
        base = ta or tb
        columns = list((ta or tb).columns) + [c for c in (tb.columns if ta and tb else []) if c not in base.columns]
        labels = [label for label, _c in (ta.rows if ta else [])]
        labels += [label for label, _c in (tb.rows if tb else []) if label not in labels]
        rows = []
        for label in labels:
            cells = []
            for column in columns:
                va = ta.cell(label, column) if ta else None
                vb = tb.cell(label, column) if tb else None
                cells.append((va, vb, va != vb))
            rows.append((label, cells))
        result.append(DiffTable(key, base.title, columns, rows))
    return result


def policy_version_changed_cells(a: PolicyVersion, b: PolicyVersion) -> list[tuple[str, str, str, str | None,
                                                                                      str | None]]:
    """Only the differences: (table title, row, column, a's value, b's value)."""
    return [(t.title, label, column, va, vb)
            for t in policy_version_diff(a, b) for label, cells in t.rows
            for column, (va, vb, changed) in zip(t.columns, cells, strict=True) if changed]

