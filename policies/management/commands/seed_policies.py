"""`manage.py seed_policies`: the regions and the seeded policy versions of CONTRACT.md (SH-2023-07, JN-2022,
JN-2024 with their payment methods and separately paid drugs, and Jinan's resident insurance JN-R-2024), created as
drafts and published through the same service staff use. Idempotent: a version that exists is compared with the
seed and left as it is (published versions change only by clone and publish)."""

import datetime
from decimal import Decimal as D
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext_noop, pgettext_lazy

from policies.models import (
    PLAUSIBLE_BILL_MAX,
    PLAUSIBLE_LINE_MAX,
    BenefitRule,
    ClearingGroup,
    ClearingWay,
    CreditBasis,
    CreditFrequency,
    CreditRule,
    CrossRegionUnfiled,
    EnrolleeClass,
    FacilityLevel,
    InsuType,
    MedGroup,
    PaymentMethod,
    PharmacySettlement,
    Pocket,
    PolicyVersion,
    ReferenceKind,
    ReferenceValue,
    Region,
)
from policies.services import policy_version_publish

REGIONS = [("310000", "上海市"), ("370100", "济南市"), ("370200", "青岛市")]

IN_SERVICE = "1101,1103"
RETIRED = "1201,1203"
LEVELS = ("1", "2", "3")
# Every seeded version refuses an outpatient bill line above 100,000 yuan and a bill above 200,000
# (policies.models.PLAUSIBLE_LINE_MAX and PLAUSIBLE_BILL_MAX, the reasoning there).
PLAUSIBLE = {"plausible_line_max": PLAUSIBLE_LINE_MAX, "plausible_bill_max": PLAUSIBLE_BILL_MAX}


def _general(cls: str, deductibles: tuple, rates: tuple, cap: D | None, levels: tuple = LEVELS) -> list[dict]:
    return [{"med_group": MedGroup.GENERAL, "dise_code": "", "enrollee_class": cls, "facility_level": level,
             "deductible": D(deductible), "rate": D(rate), "annual_cap": cap, "bucket": "general",
             "supplementary_share_above_cap": D("0")}
            for level, deductible, rate in zip(levels, deductibles, rates, strict=True)]


def _chronic(dise_code: str, cls: str, rate: str, cap: str) -> dict:
    return {"med_group": MedGroup.CHRONIC, "dise_code": dise_code, "enrollee_class": cls,
            "facility_level": FacilityLevel.ANY, "deductible": D("0"), "rate": D(rate), "annual_cap": D(cap),
            "bucket": dise_code, "supplementary_share_above_cap": D("0")}


def _credit(name: str, psn_types: str, basis: str, frequency: str, pocket: str, order: int, **values: Any) -> dict:
    row = {"name": name, "psn_types": psn_types, "age_min": None, "age_max": None, "basis": basis, "rate": None,
           "amount": None, "reference_kind": "", "reference_year": None, "frequency": frequency, "pocket": pocket,
           "prorate_first_year": False, "order": order}
    row.update(values)
    return row


# Seeded names and titles are stored in English, the catalog's msgids, and shown in the reader's language; the
# enrollee classes' names with their context (EnrolleeClass.__str__), listed here for the catalog.
CLASS_NAMES = [pgettext_lazy("enrollee class", "in-service"), pgettext_lazy("enrollee class", "retired"),
               pgettext_lazy("enrollee class", "retired on or after 2001-01-01"),
               pgettext_lazy("enrollee class", "retired on or before 2000-12-31"),
               pgettext_lazy("enrollee class", "resident")]

SHANGHAI = {
    "version": {
        "code": "SH-2023-07", "region": "310000", "insutype": InsuType.EMPLOYEE,
        "title": gettext_noop("Shanghai employee outpatient mutual aid, from 2023-07-01"),
        "source_document": gettext_noop(
            "沪府办规〔2021〕18号 健全上海市职工基本医疗保险门诊共济保障机制实施办法 (POLICY.md); payment order of the "
            "2013 scheme. Supplementary fund share above the cap: none given for outpatient in the seed, recorded "
            "as 0."),
        "effective_from": datetime.date(2023, 7, 1), "effective_to": datetime.date(2026, 12, 31),
        "benefit_year_start_month": 1, "benefit_year_start_day": 1,
        "current_pocket_first": True, "two_pockets": True,
        "mulaid_from_current": False, "mulaid_from_historical": True,
        "pharmacy_settlement": PharmacySettlement.ACCOUNTS_ONLY, "acct_pays_out_of_scope": True,
        "acct_pays_relative_resident": False, "acct_pays_relative_ltc": False,
        "acct_pays_relative_commercial": False,
        # CONTRACT.md: SH-2023-07 refuses unfiled visits in another region.
        "cross_region_unfiled": CrossRegionUnfiled.REFUSE, "cross_region_rate_cut": D("0"),
        "sep_pay_rate": None, "sep_pay_annual_cap": None, "sep_pay_bucket": "sep_pay", "review_extrapolate": False,
        **PLAUSIBLE,
    },
    "reference_values": [],
    "classes": [
        {"code": "in_service", "name": "in-service", "psn_types": IN_SERVICE, "retire_date_from": None,
         "retire_date_to": None, "order": 1},
        {"code": "retired_from_2001", "name": "retired on or after 2001-01-01", "psn_types": RETIRED,
         "retire_date_from": datetime.date(2001, 1, 1), "retire_date_to": None, "order": 2},
        {"code": "retired_before_2001", "name": "retired on or before 2000-12-31", "psn_types": RETIRED,
         "retire_date_from": None, "retire_date_to": datetime.date(2000, 12, 31), "order": 3},
    ],
    "benefit_rules": (
        _general("in_service", ("500", "500", "500"), ("0.80", "0.75", "0.70"), None)
        + _general("retired_from_2001", ("300", "300", "300"), ("0.85", "0.80", "0.75"), None)
        + _general("retired_before_2001", ("200", "200", "200"), ("0.90", "0.85", "0.80"), None)
    ),
    "credit_rules": [
        _credit(gettext_noop("in-service: own contribution 2%"), IN_SERVICE, CreditBasis.CLCT_BASE_SHARE,
                CreditFrequency.MONTHLY,
                Pocket.CURRENT, 1, rate=D("0.02")),
        _credit(gettext_noop("retired, 74 and under"), RETIRED, CreditBasis.FIXED_AMOUNT, CreditFrequency.ANNUAL,
                Pocket.CURRENT,
                2, age_max=74, amount=D("1680.00"), prorate_first_year=True),
        _credit(gettext_noop("retired, 75 and over"), RETIRED, CreditBasis.FIXED_AMOUNT, CreditFrequency.ANNUAL,
                Pocket.CURRENT,
                3, age_min=75, amount=D("1890.00"), prorate_first_year=True),
    ],
    # The seed names capitation and per-disease payment but sets no numbers: every visit itemised.
    "payment_methods": [],
}


def _method(level: str, group: str, way: str, rate: str | None = None, dise_code: str = "") -> dict:
    return {"facility_level": level, "med_type_group": group, "dise_code": dise_code, "clr_way": way,
            "rate": D(rate) if rate is not None else None}


# JN-2024's payment methods and separately paid drugs (CONTRACT.md, illustrative).
JN_2024_PAYMENT = {
    "sep_pay": {"sep_pay_rate": D("0.70"), "sep_pay_annual_cap": D("30000.00"), "sep_pay_bucket": "sep_pay"},
    "payment_methods": [
        _method("1", ClearingGroup.GENERAL, ClearingWay.CAPITATION, "12.00"),
        _method(FacilityLevel.ANY, ClearingGroup.CHRONIC, ClearingWay.PER_DISEASE, "45.00", dise_code="M03900"),
    ],
}
NO_SEP_PAY = {"sep_pay_rate": None, "sep_pay_annual_cap": None, "sep_pay_bucket": "sep_pay"}


def _jinan(code: str, title: str, start: datetime.date, end: datetime.date | None, employer_share: bool,
           payment: dict | None = None) -> dict:
    credits = [_credit(gettext_noop("in-service: own contribution 2%"), IN_SERVICE, CreditBasis.CLCT_BASE_SHARE,
                       CreditFrequency.MONTHLY, Pocket.HISTORICAL, 1, rate=D("0.02"))]
    if employer_share:
        credits.append(_credit(gettext_noop("in-service: employer share 0.5% (halved)"), IN_SERVICE,
                               CreditBasis.CLCT_BASE_SHARE,
                               CreditFrequency.MONTHLY, Pocket.HISTORICAL, 2, rate=D("0.005")))
    credits += [
        # xgettext:no-python-format
        _credit(gettext_noop("retired, under 70: 2% of the 2023 average basic pension"), RETIRED,
                CreditBasis.REFERENCE_SHARE,
                CreditFrequency.MONTHLY, Pocket.HISTORICAL, 3, age_max=69, rate=D("0.02"),
                reference_kind=ReferenceKind.AVG_BASIC_PENSION, reference_year=2023),
        # xgettext:no-python-format
        _credit(gettext_noop("retired, 70 and over: 2.5% of the 2023 average basic pension"), RETIRED,
                CreditBasis.REFERENCE_SHARE,
                CreditFrequency.MONTHLY, Pocket.HISTORICAL, 4, age_min=70, rate=D("0.025"),
                reference_kind=ReferenceKind.AVG_BASIC_PENSION, reference_year=2023),
    ]
    years = range(2022, 2027)
    return {
        "version": {
            "code": code, "region": "370100", "insutype": InsuType.EMPLOYEE,
            "title": title,
            "source_document": gettext_noop(
                "Illustrative numbers inside the Shandong bounds of 鲁政办发〔2021〕22号 (POLICY.md, CONTRACT.md), "
                "provincial average wage taken as 90,000; not Jinan's published figures."),
            "effective_from": start, "effective_to": end,
            "benefit_year_start_month": 1, "benefit_year_start_day": 1,
            "current_pocket_first": False, "two_pockets": False,
            "mulaid_from_current": True, "mulaid_from_historical": True,
            "pharmacy_settlement": PharmacySettlement.EXT_RX_POOLED, "acct_pays_out_of_scope": True,
            "acct_pays_relative_resident": True, "acct_pays_relative_ltc": True,
            "acct_pays_relative_commercial": True,
            # CONTRACT.md: JN-2024 pays unfiled visits in another region at rates 10 points lower (JN-2022 alike).
            "cross_region_unfiled": CrossRegionUnfiled.LOWER_RATE, "cross_region_rate_cut": D("0.10"),
            **(payment["sep_pay"] if payment else NO_SEP_PAY), "review_extrapolate": False, **PLAUSIBLE,
        },
        "reference_values": (
            [{"kind": ReferenceKind.PROVINCIAL_AVG_WAGE, "year": y, "amount": D("90000.00")} for y in years]
            + [{"kind": ReferenceKind.AVG_BASIC_PENSION, "year": y, "amount": D("3200.00")} for y in years]
        ),
        "classes": [
            {"code": "in_service", "name": "in-service", "psn_types": IN_SERVICE,
             "retire_date_from": None,
             "retire_date_to": None, "order": 1},
            {"code": "retired", "name": "retired", "psn_types": RETIRED, "retire_date_from": None,
             "retire_date_to": None, "order": 2},
        ],
        "benefit_rules": (
            _general("in_service", ("200", "400", "600", "200"), ("0.70", "0.60", "0.50", "0.70"), D("4500.00"),
                     levels=LEVELS + (FacilityLevel.PHARMACY,))
            + _general("retired", ("200", "400", "600", "200"), ("0.75", "0.65", "0.55", "0.75"), D("4500.00"),
                       levels=LEVELS + (FacilityLevel.PHARMACY,))
            + [_chronic("M03900", "in_service", "0.70", "2000.00"), _chronic("M03900", "retired", "0.75", "2000.00"),
               _chronic("M07803", "in_service", "0.85", "60000.00"),
               _chronic("M07803", "retired", "0.90", "60000.00")]
        ),
        "credit_rules": credits,
        "payment_methods": payment["payment_methods"] if payment else [],
    }


# JN-R-2024 (CONTRACT.md), illustrative inside Shandong's resident bounds: general outpatient at level 1 no
# deductible and 50%, level 2 deductible 100 and 40%, level 3 no pooled payment and nothing counted (rate 0,
# deductible 0), external prescriptions at pharmacies as level 1; one cap of 300 for them all (the seed asks at least
# 200); M03900 no deductible, 65% (the seed asks at least 65% by 2025), cap 1,500; unfiled visits elsewhere refused.
JINAN_RESIDENT = {
    "version": {
        "code": "JN-R-2024", "region": "370100", "insutype": InsuType.RESIDENT,
        "title": gettext_noop("Jinan resident outpatient pooling 2024 (illustrative)"),
        "source_document": gettext_noop(
            "Illustrative numbers inside the Shandong resident bounds of 鲁政办发〔2021〕22号 二(九) (POLICY.md, "
            "CONTRACT.md): cap at least 200 yuan a year, chronic diseases at 65 per cent or more; not Jinan's "
            "published figures."),
        "effective_from": datetime.date(2024, 1, 1), "effective_to": None,
        "benefit_year_start_month": 1, "benefit_year_start_day": 1,
        "current_pocket_first": False, "two_pockets": False,
        "mulaid_from_current": True, "mulaid_from_historical": True,
        "pharmacy_settlement": PharmacySettlement.EXT_RX_POOLED, "acct_pays_out_of_scope": True,
        "acct_pays_relative_resident": False, "acct_pays_relative_ltc": False,
        "acct_pays_relative_commercial": False,
        "cross_region_unfiled": CrossRegionUnfiled.REFUSE, "cross_region_rate_cut": D("0"),
        **NO_SEP_PAY, "review_extrapolate": False, **PLAUSIBLE,
    },
    "reference_values": [],
    "classes": [
        {"code": "resident", "name": "resident", "psn_types": "", "retire_date_from": None,
         "retire_date_to": None,
         "order": 1},
    ],
    "benefit_rules": (
        _general("resident", ("0", "100", "0", "0"), ("0.50", "0.40", "0", "0.50"), D("300.00"),
                 levels=LEVELS + (FacilityLevel.PHARMACY,))
        + [_chronic("M03900", "resident", "0.65", "1500.00")]
    ),
    "credit_rules": [],
    "payment_methods": [],  # every resident visit itemised
}

SEEDS = [
    SHANGHAI,
    _jinan("JN-2022", gettext_noop("Jinan employee outpatient pooling 2022 (illustrative)"), datetime.date(2022, 1, 1),
           datetime.date(2023, 12, 31), employer_share=True),
    _jinan("JN-2024", gettext_noop("Jinan employee outpatient pooling 2024 (illustrative)"), datetime.date(2024, 1, 1),
           None, employer_share=False, payment=JN_2024_PAYMENT),
    JINAN_RESIDENT,
]

VERSION_FIELDS = [name for name in SHANGHAI["version"] if name not in ("code", "region")]
CLASS_FIELDS = list(SHANGHAI["classes"][0])
BENEFIT_FIELDS = [name for name in SHANGHAI["benefit_rules"][0] if name != "enrollee_class"]
CREDIT_FIELDS = list(SHANGHAI["credit_rules"][0])
METHOD_FIELDS = list(JN_2024_PAYMENT["payment_methods"][0])


def _rows(rows: list[dict], key: tuple) -> dict:
    return {tuple(row[k] for k in key): row for row in rows}


def version_snapshot(version: PolicyVersion) -> dict:
    """A version in the seed's own shape, to compare with it."""
    classes = list(version.enrollee_classes.all())
    codes = {c.pk: c.code for c in classes}
    return {
        "version": {name: getattr(version, name) for name in VERSION_FIELDS},
        "reference_values": [{"kind": v.kind, "year": v.year, "amount": v.amount}
                             for v in version.reference_values.all()],
        "classes": [{name: getattr(c, name) for name in CLASS_FIELDS} for c in classes],
        "benefit_rules": [{**{name: getattr(r, name) for name in BENEFIT_FIELDS},
                           "enrollee_class": codes[r.enrollee_class_id]} for r in version.benefit_rules.all()],
        "credit_rules": [{name: getattr(r, name) for name in CREDIT_FIELDS} for r in version.credit_rules.all()],
        "payment_methods": [{name: getattr(m, name) for name in METHOD_FIELDS}
                            for m in version.payment_methods.all()],
    }


def seed_differences(version: PolicyVersion, seed: dict) -> list[str]:
    """What differs between `version` and its seed, by field or table."""
    snapshot = version_snapshot(version)
    differences = [name for name in VERSION_FIELDS if snapshot["version"][name] != seed["version"][name]]
    keys = {"reference_values": ("kind", "year"), "classes": ("code",),
            "benefit_rules": ("med_group", "dise_code", "enrollee_class", "facility_level"),
            "credit_rules": ("name",), "payment_methods": ("facility_level", "med_type_group", "dise_code")}
    for table, key in keys.items():
        if _rows(snapshot[table], key) != _rows(seed[table], key):
            differences.append(table)
    return differences


@transaction.atomic
def seed_version(seed: dict) -> PolicyVersion:
    """Create one seeded version as a draft with all its rows, then publish it."""
    fields = seed["version"]
    version = PolicyVersion.objects.create(code=fields["code"], region=Region.objects.get(admdvs=fields["region"]),
                                           **{name: fields[name] for name in VERSION_FIELDS})
    for row in seed["reference_values"]:
        ReferenceValue.objects.create(version=version, **row)
    classes = {row["code"]: EnrolleeClass.objects.create(version=version, **row) for row in seed["classes"]}
    for row in seed["benefit_rules"]:
        BenefitRule.objects.create(version=version, **{**row, "enrollee_class": classes[row["enrollee_class"]]})
    for row in seed["credit_rules"]:
        CreditRule.objects.create(version=version, **row)
    for row in seed["payment_methods"]:
        PaymentMethod.objects.create(version=version, **row)
    return policy_version_publish(version=version, actor=None)


class Command(BaseCommand):
    help = "Create the regions and the seeded policy versions of CONTRACT.md (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for admdvs, name in REGIONS:
            region, created = Region.objects.get_or_create(admdvs=admdvs, defaults={"name": name})
            self.stdout.write(f"region {region}: {'created' if created else 'exists'}")
        for seed in SEEDS:
            code = seed["version"]["code"]
            version = PolicyVersion.objects.filter(code=code).first()
            if version is None:
                version = seed_version(seed)
                self.stdout.write(f"{code}: created and published, in force {version.effective_from} to "
                                  f"{version.effective_to or 'open'}")
                continue
            differences = seed_differences(version, seed)
            if differences:
                self.stdout.write(f"{code}: exists ({version.get_status_display()}), differs from the seed in "
                                  f"{', '.join(differences)}; left as it is (change a published version by clone "
                                  f"and publish)")
            else:
                self.stdout.write(f"{code}: unchanged")
