"""Demo data for `seed_demo`: facilities, catalogs and a registry of about 2,000 enrollees in Shanghai and Jinan;
then their contributions for the second half of 2025, the credit runs of July 2025 to January 2026, and a few
hundred outpatient settlements of 2026 (some reversed), all through the same services staff and facilities use.

Deterministic (fixed random seeds) so that two machines show the same demo (the setl_ids the service draws
differ). Jinan's numbers, facilities and policy are illustrative, not published figures.
"""

import datetime
import random
from collections import Counter
from decimal import Decimal

from simple_history.utils import bulk_create_with_history

from accounts.credits import credits_run_month, rollover_run
from accounts.models import (
    Contribution,
    Employer,
    Enrollment,
    EnrollmentStatus,
    FamilyLink,
    InsuStatus,
    InsuType,
    Person,
    PsnType,
    Relation,
)
from claims.errors import ClaimError
from claims.models import CrossRegionFiling, Disease, Facility, FilingStatus, FilingType, Item, Recognition, Settlement
from claims.recognitions import recognition_apply, recognition_cancel, recognition_decide, recognition_renew
from claims.services import settlement_create, settlement_reverse
from core.certno import certno_make
from core.money import fen
from policies.errors import PolicyError
from policies.models import Region
from policies.selectors import policy_version_in_force

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文立新海波宁晨欣怡浩然子轩梓涵雨婷佳琪"

FACILITIES = [
    # code, name, type, level, region
    ("H31010100001", "上海市黄浦区某社区卫生服务中心（演示）", "1", "1", "310000"),
    ("H31010400002", "上海市徐汇区某区级医院（演示）", "1", "2", "310000"),
    ("H31010400003", "上海市某三级甲等医院（演示）", "1", "3", "310000"),
    ("P31010100004", "上海市黄浦区某定点零售药店（演示）", "2", "", "310000"),
    ("P31010400005", "上海市徐汇区某定点零售药店（演示）", "2", "", "310000"),
    ("H37010200001", "济南市历下区某社区卫生服务中心（演示）", "1", "1", "370100"),
    ("H37010300002", "济南市市中区某二级医院（演示）", "1", "2", "370100"),
    ("H37010200003", "济南市某三级甲等医院（演示）", "1", "3", "370100"),
    ("P37010200004", "济南市历下区某定点零售药店（演示）", "2", "", "370100"),
    ("P37010500005", "济南市天桥区某定点零售药店（演示）", "2", "", "370100"),
]

ITEMS = [
    # code, name, class, pre-self-pay share, unit price limit
    ("XA01AAA001", "普通门诊诊查费", "01", "0", "25.00"),
    ("XA01AAA002", "急诊诊查费", "01", "0", "30.00"),
    ("XC09AAA003", "硝苯地平控释片 30mg×7", "01", "0", "32.50"),
    ("XA10BAA004", "二甲双胍片 0.5g×48", "01", "0", "18.00"),
    ("XJ01CAA005", "阿莫西林胶囊 0.25g×24", "01", "0", "12.80"),
    ("XN02BEA006", "对乙酰氨基酚片 0.5g×20", "01", "0", None),
    ("XB01ACA007", "阿司匹林肠溶片 100mg×30", "01", "0", "15.60"),
    ("XC10AAA008", "阿托伐他汀钙片 20mg×7", "02", "0.10", "28.00"),
    ("XA02BCA009", "奥美拉唑肠溶胶囊 20mg×14", "02", "0.05", "35.00"),
    ("XL04ADA010", "他克莫司胶囊 1mg×50", "02", "0.10", "980.00"),
    ("XB03XAA011", "重组人促红素注射液 3000IU", "02", "0.10", "120.00"),
    ("F00000001201", "血液透析（次）", "01", "0", "420.00"),
    ("F00000001202", "血常规检查", "01", "0", "20.00"),
    ("F00000001203", "CT平扫（单部位）", "02", "0.10", "260.00"),
    ("F00000001204", "彩色多普勒超声检查", "02", "0.05", "180.00"),
    ("ZC00000001301", "中药饮片（自费品种）", "03", "0", None),
    ("ZC00000001302", "保健按摩", "03", "0", None),
    ("ZC00000001303", "医用口罩（自费）", "03", "0", None),
    ("ZA00000001304", "运动健身指导（体育健身）", "01", "0", None),
]
# Outside basic medical insurance altogether (public health, fitness, wellness): no account may pay them, whatever
# their class (acct_pay_forbidden); cash pays them.
ACCT_PAY_FORBIDDEN = {"ZC00000001302", "ZA00000001304"}
# Designated for online services (Internet+ follow-up visits of recognised chronic diseases): the Jinan level-2
# hospital, where the demo's recognitions are.
ONLINE_FACILITIES = {"H37010300002"}

DISEASES = [
    ("M03900", "高血压", "循环系统疾病",
     "收缩压≥140mmHg和/或舒张压≥90mmHg，经二级及以上医院确诊，规范治疗三个月以上。"),
    ("M01600", "糖尿病", "内分泌、营养和代谢疾病", "符合糖尿病诊断标准，需长期药物治疗。"),
    ("M07803", "血液透析", "泌尿生殖系统疾病", "慢性肾功能衰竭尿毒症期，需规律血液透析治疗。"),
    ("M00503", "恶性肿瘤放化疗", "肿瘤", "病理确诊恶性肿瘤，需门诊放疗或化疗。"),
    ("M08300", "器官移植抗排异治疗", "其他", "器官移植术后需长期抗排异药物治疗。"),
]

AREAS = {"310000": ["310101", "310104", "310105", "310106"], "370100": ["370102", "370103", "370104", "370105"]}
REGION_NAMES = {"310000": "上海市", "370100": "济南市", "370200": "青岛市"}
TODAY = datetime.date(2026, 11, 1)
RESIDENTS_FROM = datetime.date(2024, 1, 1)  # JN-R-2024's first day
SUSPENDED_IN_2026 = 20  # enrollees suspended part way through the demo's service year (dated statuses)
SUSPENDED_HOLDERS = 6  # of them holders of family links


def _certno(rng: random.Random, area: str, brdy: datetime.date, gend: str, used: set[str]) -> str:
    while True:
        seq = rng.randrange(0, 999)
        seq = seq - seq % 2 + (1 if gend == "1" else 0)
        number = certno_make(f"{area}{brdy:%Y%m%d}{seq:03d}")
        if number not in used:
            used.add(number)
            return number


def _birth(rng: random.Random, age_low: int, age_high: int) -> datetime.date:
    age = rng.randint(age_low, age_high)
    return datetime.date(TODAY.year - age, rng.randint(1, 12), rng.randint(1, 28))


def _insured_from(brdy: datetime.date) -> datetime.date:
    """Insured from 1993 or the July after turning 22; the youngest, from the September after turning 18 (never
    after the demo's today)."""
    start = max(datetime.date(1993, 1, 1), datetime.date(brdy.year + 22, 7, 1))
    return start if start < datetime.date(TODAY.year - 1, 1, 1) else datetime.date(brdy.year + 18, 9, 1)


def demo_registry_create(*, enrollees: int = 2000, seed: int = 20260701) -> dict[str, int]:
    """Create the demo registry unless it is there already (demo facilities present). Returns row counts made."""
    if Facility.objects.filter(fixmedins_code=FACILITIES[0][0]).exists():
        return {}
    rng = random.Random(seed)
    regions = {}
    for code, name in REGION_NAMES.items():
        regions[code], _ = Region.objects.get_or_create(admdvs=code, defaults={"name": name})

    facilities = bulk_create_with_history([
        Facility(fixmedins_code=code, fixmedins_name=name, fixmedins_type=kind, hosp_lv=level,
                 region=regions[admdvs], begndate=datetime.date(2015, 1, 1), online_service=code in ONLINE_FACILITIES)
        for code, name, kind, level, admdvs in FACILITIES
    ], Facility)
    bulk_create_with_history([
        Item(item_code=code, item_name=name, chrg_item_lv=cls, selfpay_prop=Decimal(share),
             pric_uplmt_amt=Decimal(limit) if limit else None, acct_pay_forbidden=code in ACCT_PAY_FORBIDDEN)
        for code, name, cls, share, limit in ITEMS
    ], Item)
    diseases = bulk_create_with_history([
        Disease(opsp_dise_code=code, opsp_dise_name=name, opsp_dise_majcls_name=cls, recognition_criteria=crit)
        for code, name, cls, crit in DISEASES
    ], Disease)

    employers = bulk_create_with_history([
        Employer(emp_no=f"{admdvs}E{i:05d}", emp_name=f"{REGION_NAMES[admdvs]}演示单位{i}有限公司",
                 region=regions[admdvs])
        for admdvs in AREAS for i in range(1, 21)
    ], Employer)
    employers_by_region = {code: [e for e in employers if e.region_id == regions[code].pk] for code in AREAS}

    used: set[str] = set()
    persons, enrollments = [], []
    for i in range(enrollees):
        admdvs = "310000" if i < enrollees * 3 // 5 else "370100"
        roll = rng.random()
        psn_type = (PsnType.IN_SERVICE if roll < 0.60 else PsnType.FLEXIBLE_IN_SERVICE if roll < 0.70
                    else PsnType.RETIRED if roll < 0.95 else PsnType.FLEXIBLE_RETIRED)
        retired = psn_type in (PsnType.RETIRED, PsnType.FLEXIBLE_RETIRED)
        gend = rng.choice("12")
        brdy = _birth(rng, 56, 96) if retired else _birth(rng, 19, 59)
        retire_date = None
        if retired:
            retire_age = 60 if gend == "1" else rng.choice([50, 55])
            retire_date = datetime.date(brdy.year + retire_age, brdy.month, 1)
            if retire_date > TODAY:
                retire_date = datetime.date(TODAY.year, 1, 1)
        person = Person(psn_no=f"{admdvs}{i + 1:010d}",
                        certno=_certno(rng, rng.choice(AREAS[admdvs]), brdy, gend, used),
                        psn_name=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2]))),
                        gend=gend, brdy=brdy)
        persons.append(person)
        flexible = psn_type in (PsnType.FLEXIBLE_IN_SERVICE, PsnType.FLEXIBLE_RETIRED)
        enrollments.append(Enrollment(
            person=person, psn_type=psn_type, region=regions[admdvs],
            employer=None if flexible else rng.choice(employers_by_region[admdvs]),
            clct_base=None if retired else Decimal(rng.randrange(7_000, 36_000, 100)),
            begndate=_insured_from(brdy),
            retire_date=retire_date,
            psn_insu_stas=InsuStatus.ACTIVE if rng.random() > 0.02 else InsuStatus.SUSPENDED,
        ))
    bulk_create_with_history(persons, Person, batch_size=500)
    for enrollment in enrollments:
        enrollment.person_id = enrollment.person.pk
    bulk_create_with_history(enrollments, Enrollment, batch_size=500)

    # Family links, within the rules (accounts.mulaid): the holder an active employee enrollee of the relative's
    # region. A working enrollee's account pays for a child: in Jinan most children are resident enrollees (390,
    # JN-R-2024, no account of their own), elsewhere relatives without insurance here. Some retired parents are
    # paid for by a working child of their own region.
    links, children, residents = [], [], []
    in_service = [e for e in enrollments if e.psn_type == PsnType.IN_SERVICE and e.person.brdy.year < 1995
                  and e.psn_insu_stas == InsuStatus.ACTIVE]
    retired = [e for e in enrollments if e.retire_date]
    for n, holder in enumerate(rng.sample(in_service, min(200, len(in_service)))):
        admdvs = holder.region.admdvs
        brdy = _birth(rng, 3, 17)
        gend = rng.choice("12")
        child = Person(psn_no=f"{admdvs}9{n + 1:09d}", certno=_certno(rng, rng.choice(AREAS[admdvs]), brdy, gend, used),
                       psn_name=holder.person.psn_name[0] + "".join(rng.sample(GIVEN, 2)), gend=gend, brdy=brdy)
        children.append(child)
        links.append(FamilyLink(holder=holder.person, relative=child, relation=Relation.CHILD,
                                begndate=datetime.date(2022, 7, 1), order=1))
        if admdvs == "370100" and rng.random() < 0.7:
            residents.append(Enrollment(person=child, insutype=InsuType.RESIDENT, psn_type="", region=holder.region,
                                        employer=None, clct_base=None, begndate=RESIDENTS_FROM,
                                        psn_insu_stas=InsuStatus.ACTIVE))
    bulk_create_with_history(children, Person, batch_size=500)
    for enrollment in residents:
        enrollment.person_id = enrollment.person.pk
    bulk_create_with_history(residents, Enrollment, batch_size=500)
    for admdvs in AREAS:
        holders = [e for e in in_service if e.region.admdvs == admdvs]
        parents = [e for e in retired if e.region.admdvs == admdvs]
        n = min(30, len(holders), len(parents))
        for holder, parent in zip(rng.sample(holders, n), rng.sample(parents, n), strict=True):
            links.append(FamilyLink(holder=holder.person, relative=parent.person, relation=Relation.PARENT,
                                    begndate=datetime.date(2023, 1, 1), order=1))
    for link in links:
        link.holder_id, link.relative_id = link.holder.pk, link.relative.pk
    bulk_create_with_history(links, FamilyLink, batch_size=500)
    statuses = _statuses_create(rng, [*enrollments, *residents], holders={link.holder.pk for link in links})

    # Chronic-disease recognitions at the level-2 hospitals, mostly among the retired.
    level2 = {f.region_id: f for f in facilities if f.hosp_lv == "2"}
    recognitions = []
    for n, enrollment in enumerate(rng.sample(retired, min(150, len(retired)))):
        disease = diseases[0] if n % 5 else diseases[2]
        recognitions.append(Recognition(person=enrollment.person, disease=disease,
                                        facility=level2[enrollment.region_id],
                                        begndate=datetime.date(2023, 1, 1)))
    for r in recognitions:
        r.person_id = r.person.pk
    bulk_create_with_history(recognitions, Recognition, batch_size=500)
    return {"facilities": len(facilities), "items": len(ITEMS), "diseases": len(diseases),
            "employers": len(employers), "enrollees": len(persons), "relatives": len(children),
            "family_links": len(links), "recognitions": len(recognitions), "residents": len(residents),
            "dated_statuses": statuses}


def _statuses_create(rng: random.Random, enrollments: list[Enrollment], holders: set[int]) -> int:
    """Each enrollment's status dated from its begndate (bulk inserts do not record it as Enrollment.save does),
    and a few enrollees, some holders of family links (`holders`: their person ids) among them, suspended part way
    through the demo's service year: their visits, and what their accounts pay for relatives, are judged on the
    status of each service date (a relative's visit before the suspension is paid from the account, one after is
    not)."""
    rows = [EnrollmentStatus(enrollment_id=e.pk, stas_date=e.begndate, psn_insu_stas=e.psn_insu_stas)
            for e in enrollments]
    active = [e for e in enrollments if e.insutype == InsuType.EMPLOYEE and e.psn_insu_stas == InsuStatus.ACTIVE]
    paying = [e for e in active if e.person.pk in holders]
    suspended = rng.sample(paying, min(SUSPENDED_HOLDERS, len(paying)))
    others = [e for e in active if e.person.pk not in holders]
    suspended += rng.sample(others, min(SUSPENDED_IN_2026 - len(suspended), len(others)))
    for e in suspended:
        e.psn_insu_stas = InsuStatus.SUSPENDED
        rows.append(EnrollmentStatus(enrollment_id=e.pk, psn_insu_stas=InsuStatus.SUSPENDED,
                                     stas_date=SERVICE_FROM + datetime.timedelta(days=rng.randint(30, 240))))
    Enrollment.objects.filter(pk__in=[e.pk for e in suspended]).update(psn_insu_stas=InsuStatus.SUSPENDED)
    EnrollmentStatus.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# --- cross-region filings and recognitions in every state ------------------------------------------------------

# Where each region's enrollees are filed for treatment: the other demo region (Shandong by its province code).
FILED_FOR = {"310000": "370000", "370100": "310000"}
DEMO_EVIDENCE = "门诊病历：非同日三次血压 {0}/{1} mmHg；心电图、肾功能检查报告（演示）"
VALID_MONTHS = {"M03900": 24, "M01600": 24}
FILINGS_CANCELLED_AT = datetime.datetime(2026, 2, 16, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def demo_workflows_create(*, clerk: object, reviewer: object, seed: int = 20260110) -> dict[str, int]:
    """Cross-region filings (some ended, some cancelled) for enrollees of both regions, and chronic-disease
    recognitions in every state of the workflow at the Jinan level-2 hospital: applied, approved, refused,
    withdrawn, expired, and renewals awaiting review; `clerk` applies, `reviewer` decides. Run once, with the
    registry."""
    rng = random.Random(seed)
    Disease.objects.filter(opsp_dise_code__in=list(VALID_MONTHS)).update(recognition_valid_months=24)
    enrollments = {admdvs: list(Enrollment.objects.filter(region__admdvs=admdvs, insutype=InsuType.EMPLOYEE,
                                                          psn_insu_stas=InsuStatus.ACTIVE)
                                .select_related("person").order_by("pk"))
                   for admdvs in AREAS}
    filings = []
    types = [FilingType.TEMPORARY, FilingType.LONG_TERM, FilingType.RESETTLED, FilingType.REFERRAL]
    for admdvs, count in (("310000", 40), ("370100", 30)):
        for n, enrollment in enumerate(rng.sample(enrollments[admdvs], min(count, len(enrollments[admdvs])))):
            ended = n % 8 == 7
            cancelled = n % 10 == 9
            filings.append(CrossRegionFiling(
                person=enrollment.person, mdtrtarea_admvs=FILED_FOR[admdvs], filing_type=types[n % len(types)],
                begndate=datetime.date(2026, 1, 1), enddate=datetime.date(2026, 3, 31) if ended else None,
                status=FilingStatus.CANCELLED if cancelled else FilingStatus.ACTIVE,
                cancelled_at=FILINGS_CANCELLED_AT if cancelled else None,
                memo="申请人撤销备案（演示）" if cancelled else ""))
    # Resident children of Jinan filed for Shanghai (JN-R-2024 refuses their unfiled visits there), one in three.
    residents = list(Enrollment.objects.filter(region__admdvs="370100", insutype=InsuType.RESIDENT)
                     .select_related("person").order_by("pk"))
    for n, enrollment in enumerate(residents[::3]):
        filings.append(CrossRegionFiling(
            person=enrollment.person, mdtrtarea_admvs=FILED_FOR["370100"],
            filing_type=(FilingType.TEMPORARY, FilingType.REFERRAL)[n % 2], begndate=datetime.date(2026, 1, 1)))
    bulk_create_with_history(filings, CrossRegionFiling, batch_size=500)

    hospital = Facility.objects.get(fixmedins_code="H37010300002")
    hypertension = Disease.objects.get(opsp_dise_code="M03900")
    recognised = set(Recognition.objects.values_list("person_id", flat=True))
    candidates = [e.person for e in enrollments["370100"] if e.person_id not in recognised]
    counts: Counter[str] = Counter()
    if len(candidates) < 26:  # a registry too small for every state
        return {"cross_region_filings": len(filings)}
    people = iter(rng.sample(candidates, 26))

    def apply(begndate: datetime.date) -> Recognition:
        evidence = DEMO_EVIDENCE.format(rng.randint(142, 178), rng.randint(91, 108))
        return recognition_apply(person=next(people), disease=hypertension, facility=hospital, begndate=begndate,
                                 evidence=evidence, user=clerk)

    for _ in range(6):
        recognition_decide(recognition=apply(datetime.date(2026, 2, 1)), user=reviewer, approve=True,
                           note="符合认定标准（演示）")
        counts["approved"] += 1
    for _ in range(4):
        recognition_decide(recognition=apply(datetime.date(2026, 3, 1)), user=reviewer, approve=False,
                           note="血压记录不足三次非同日，不予认定（演示）")
        counts["refused"] += 1
    for _ in range(3):
        recognition_cancel(recognition=apply(datetime.date(2026, 4, 1)), note="申请人撤回（演示）", user=clerk)
        counts["cancelled"] += 1
    for n in range(5):
        expired = recognition_decide(recognition=apply(datetime.date(2024, 1, 1)), user=reviewer, approve=True,
                                     note="符合认定标准（演示）", enddate=datetime.date(2025, 12, 31))
        counts["expired"] += 1
        if n < 2:
            recognition_renew(recognition=expired, evidence="复查：血压仍控制不佳，需继续治疗（演示）", user=clerk)
            counts["renewals applied"] += 1
    for _ in range(8):
        apply(datetime.date(2026, 10, 1))
        counts["applied"] += 1
    return {"cross_region_filings": len(filings), **{f"recognitions {k}": v for k, v in counts.items()}}


# --- accounts and settlements -----------------------------------------------------------------------------------

CONTRIBUTION_MONTHS = [datetime.date(2025, month, 1) for month in range(7, 13)]
CREDIT_MONTHS = [*CONTRIBUTION_MONTHS, datetime.date(2026, 1, 1)]
BENEFIT_YEAR_2026 = datetime.date(2026, 1, 1)
SERVICE_FROM, SERVICE_TO = datetime.date(2026, 1, 5), datetime.date(2026, 10, 31)
# Contribution rates, illustrative: the enrollee's 2% (what the in-service credit is computed from) and an
# employer's share; a flexible-employment enrollee pays both.
PERSONAL_RATE, EMPLOYER_RATE = Decimal("0.02"), Decimal("0.09")
UNPAID_MONTH, UNPAID_EVERY = datetime.date(2025, 10, 1), 40  # one enrollee in forty has October 2025 unpaid
# The visits of the demo, with their weights: (kind, weight).
VISIT_KINDS = [("general", 40), ("emergency", 8), ("pharmacy", 15), ("ext_rx", 10), ("chronic", 12),
               ("relative", 15), ("cross_region", 10), ("online", 4), ("resident_away", 4)]
# What a visit bills, by kind: items drawn from these (codes of ITEMS).
CONSULTATION, EMERGENCY_FEE = "XA01AAA001", "XA01AAA002"
DRUGS = ["XC09AAA003", "XA10BAA004", "XJ01CAA005", "XN02BEA006", "XB01ACA007", "XC10AAA008", "XA02BCA009"]
EXAMS = ["F00000001202", "F00000001203", "F00000001204"]
OUT_OF_SCOPE = ["ZC00000001301", "ZC00000001302", "ZC00000001303", "ZA00000001304"]
CHRONIC_ITEMS = {"M03900": ["XC09AAA003", "XB01ACA007", "XC10AAA008"], "M07803": ["F00000001201", "XB03XAA011"]}
REGULARS = 12  # per region
DEMO_REVERSAL_REASON = "演示：重复结算，已撤销"


def demo_settlements_exist() -> bool:
    return Settlement.objects.filter(facility__fixmedins_code__in=[row[0] for row in FACILITIES]).exists()


def demo_contributions_create() -> int:
    """Monthly contributions of the active in-service demo enrollees for the last six months of 2025; a few of
    October's declared and not paid (0.00), which earn no credit."""
    enrollments = (Enrollment.objects.select_related("person")
                   .filter(insutype=InsuType.EMPLOYEE, psn_insu_stas=InsuStatus.ACTIVE, clct_base__isnull=False,
                           psn_type__in=[PsnType.IN_SERVICE, PsnType.FLEXIBLE_IN_SERVICE],
                           region__admdvs__in=list(AREAS))
                   .order_by("pk"))
    existing = set(Contribution.objects.filter(period__in=CONTRIBUTION_MONTHS).values_list("person_id", "period"))
    rows = []
    for n, enrollment in enumerate(enrollments):
        base = enrollment.clct_base
        flexible = enrollment.psn_type == PsnType.FLEXIBLE_IN_SERVICE
        for month in CONTRIBUTION_MONTHS:
            if (enrollment.person_id, month) in existing or enrollment.begndate > month:
                continue
            if month == UNPAID_MONTH and n % UNPAID_EVERY == 0:
                # Declared but not paid (in arrears): no paid contribution, no in-service credit for the month.
                rows.append(Contribution(person=enrollment.person, period=month, clct_base=base,
                                         psn_clct_amt=Decimal("0.00"), emp_clct_amt=Decimal("0.00")))
                continue
            rows.append(Contribution(
                person=enrollment.person, period=month, clct_base=base,
                psn_clct_amt=fen(base * (PERSONAL_RATE + EMPLOYER_RATE if flexible else PERSONAL_RATE)),
                emp_clct_amt=Decimal("0.00") if flexible else fen(base * EMPLOYER_RATE)))
    bulk_create_with_history(rows, Contribution, batch_size=1000)
    return len(rows)


def demo_credits_run() -> list[str]:
    """The credit runs of July 2025 to January 2026, and the rollover at the 2026 benefit-year start where the
    policy keeps two pockets (Shanghai), in date order. Returns a line per run."""
    lines = []
    for month in CREDIT_MONTHS:
        if month == BENEFIT_YEAR_2026:
            for admdvs in AREAS:
                try:
                    version = policy_version_in_force(admdvs, month)
                except PolicyError:
                    continue
                if version.two_pockets and version.benefit_year_start_for(month) == month:
                    run = rollover_run(admdvs=admdvs, day=month)
                    lines.append(f"rollover {month} {admdvs}: {run.entries_created} entries, "
                                 f"{run.amount_total} yuan {run.status}")
        run = credits_run_month(month=month)
        lines.append(f"credits {month:%Y-%m}: {run.entries_created} entries, {run.amount_total} yuan {run.status}"
                     + (f" ({run.error})" if run.error else ""))
    return lines


def _price(rng: random.Random, item: Item) -> Decimal:
    """A unit price: mostly at or under the item's limit, about one in six over it."""
    if item.pric_uplmt_amt is None:
        return fen(Decimal(rng.randrange(500, 12_000)) / 100)
    limit = item.pric_uplmt_amt
    factor = Decimal(rng.randrange(110, 140)) / 100 if rng.random() < 0.16 else Decimal(rng.randrange(80, 101)) / 100
    return fen(limit * factor)


def _lines(rng: random.Random, items: dict[str, Item], codes: list[tuple[str, int]]) -> list[dict]:
    return [{"item_code": code, "qty": Decimal(qty), "price": _price(rng, items[code])} for code, qty in codes]


def _bill(rng: random.Random, kind: str, dise_code: str = "") -> list[tuple[str, int]]:
    """What one visit of `kind` bills: (item code, quantity)."""
    codes: list[tuple[str, int]] = []
    if kind in ("general", "relative"):
        codes.append((CONSULTATION, 1))
    elif kind == "emergency":
        codes.append((EMERGENCY_FEE, 1))
    if kind == "chronic":
        return [(code, rng.randint(1, 4) if code != "F00000001201" else rng.randint(4, 12))
                for code in CHRONIC_ITEMS[dise_code]]
    codes += [(code, rng.randint(1, 6)) for code in rng.sample(DRUGS, rng.randint(1, 4))]
    if kind in ("general", "emergency", "relative") and rng.random() < 0.45:
        codes += [(code, 1) for code in rng.sample(EXAMS, rng.randint(1, 2))]
    if rng.random() < (0.4 if kind == "pharmacy" else 0.15):
        codes.append((rng.choice(OUT_OF_SCOPE), rng.randint(1, 3)))
    return codes


def _visits(rng: random.Random, count: int) -> list[tuple[Facility, dict]]:
    """`count` settlement requests at the demo facilities, sorted by service date."""
    facilities = {f.fixmedins_code: f for f in Facility.objects.filter(
        fixmedins_code__in=[row[0] for row in FACILITIES]).select_related("region")}
    by_region: dict[str, dict[str, list[Facility]]] = {admdvs: {"hospital": [], "pharmacy": []} for admdvs in AREAS}
    for facility in facilities.values():
        by_region[facility.region.admdvs]["pharmacy" if facility.is_pharmacy else "hospital"].append(facility)
    items = {i.item_code: i for i in Item.objects.filter(item_code__in=[row[0] for row in ITEMS])}
    enrollees = {admdvs: list(Enrollment.objects.filter(region__admdvs=admdvs, insutype=InsuType.EMPLOYEE)
                              .select_related("person").order_by("pk"))
                 for admdvs in AREAS}
    # Recognitions whose disease the region's policy covers (the seeded Shanghai version has no chronic rules).
    recognitions = list(Recognition.objects.approved().filter(facility__region__admdvs="370100")
                        .select_related("person", "disease", "facility").order_by("pk"))
    # Relatives without employee insurance: residents (390) and persons without insurance here.
    children = list(FamilyLink.objects.exclude(relative__enrollments__insutype=InsuType.EMPLOYEE)
                    .select_related("holder", "relative").order_by("pk"))
    regions_by_holder = dict(Enrollment.objects.filter(person_id__in=[link.holder_id for link in children])
                             .values_list("person_id", "region__admdvs"))
    # Regular patients, mostly retired, who come back often enough to use up their deductible and show the
    # pooled fund paying.
    regulars = {}
    for admdvs, rows in enrollees.items():
        pool = [e for e in rows if e.retire_date] or rows
        regulars[admdvs] = rng.sample(pool, min(REGULARS, len(pool)))
    # Visitors from the other region: mostly filed for it (some filings ended or cancelled), some never filed.
    filed = list(CrossRegionFiling.objects.select_related("person").order_by("pk"))
    # Jinan's resident children, filed for Shanghai (settled there under JN-R-2024) or not (refused there).
    residents = list(Enrollment.objects.filter(region__admdvs="370100", insutype=InsuType.RESIDENT)
                     .select_related("person").order_by("pk"))
    residents_filed = {f.person_id for f in filed if f.status == FilingStatus.ACTIVE and f.enddate is None}
    other = {"310000": "370100", "370100": "310000"}
    kinds, weights = zip(*VISIT_KINDS, strict=True)
    days = (SERVICE_TO - SERVICE_FROM).days

    visits = []
    for n in range(count):
        # Twice every kind first (a small demo shows each, the resident away from home filed and unfiled), then
        # at random by weight.
        early = n < 2 * len(kinds)
        kind = kinds[n % len(kinds)] if early else rng.choices(kinds, weights)[0]
        if ((kind in ("chronic", "online") and not recognitions) or (kind == "relative" and not children)
                or (kind == "cross_region" and not filed) or (kind == "resident_away" and not residents)):
            kind = "general"
        admdvs = "310000" if rng.random() < 0.55 else "370100"
        day = SERVICE_FROM + datetime.timedelta(days=rng.randint(0, days))
        extra: dict = {}
        if kind == "chronic":
            recognition = rng.choice(recognitions)
            person, facility = recognition.person, recognition.facility
            med_type, extra["dise_codg"] = "14", recognition.disease.opsp_dise_code
        elif kind == "online":  # an Internet+ follow-up of a recognition valid that day, at a facility online
            valid = [r for r in recognitions if r.facility.online_service and r.begndate <= day
                     and (r.enddate is None or day <= r.enddate)] or recognitions
            recognition = rng.choice(valid)
            person, facility = recognition.person, recognition.facility
            med_type, extra["dise_codg"], extra["online"] = "14", recognition.disease.opsp_dise_code, True
            kind = "chronic"  # its bill
        elif kind == "resident_away":
            want_filed = n < len(kinds) if early else rng.random() < 0.6
            pool = [e for e in residents if (e.person_id in residents_filed) == want_filed] or residents
            person = rng.choice(pool).person
            facility, med_type = rng.choice(by_region["310000"]["hospital"]), "11"
            kind = "general"
        elif kind == "cross_region":
            if rng.random() < 0.6:
                home = rng.choice(list(AREAS))
                person = rng.choice([f for f in filed if f.mdtrtarea_admvs == FILED_FOR[home]]).person
            else:  # unfiled: Shanghai refuses the visit, Jinan pays it at lower rates
                home = "370100" if rng.random() < 0.7 else "310000"
                person = rng.choice(enrollees[home]).person
            facility, med_type = rng.choice(by_region[other[home]]["hospital"]), "11"
        elif kind == "relative":
            link = rng.choice(children)
            admdvs = regions_by_holder.get(link.holder_id, admdvs)
            person, facility, med_type = link.relative, rng.choice(by_region[admdvs]["hospital"]), "11"
            if rng.random() < 0.5:
                extra["mulaid_psn_no"] = link.holder.psn_no
        else:
            if kind == "ext_rx":
                admdvs = "370100"
            person = rng.choice(regulars[admdvs] if rng.random() < 0.5 else enrollees[admdvs]).person
            if kind in ("general", "emergency"):
                facility, med_type = rng.choice(by_region[admdvs]["hospital"]), "11" if kind == "general" else "13"
            else:
                facility = rng.choice(by_region[admdvs]["pharmacy"])
                med_type = "41" if kind == "pharmacy" else "11"
                extra["ext_rx"] = kind == "ext_rx"
        data = {"medins_setl_id": f"DEMO{day:%Y%m%d}{n + 1:05d}", "psn_no": person.psn_no, "med_type": med_type,
                "setl_date": day, "acct_used_flag": "0" if rng.random() < 0.05 else "1",
                "items": _lines(rng, items, _bill(rng, kind, extra.get("dise_codg", ""))), **extra}
        visits.append((facility, data))
    visits.sort(key=lambda visit: (visit[1]["setl_date"], visit[1]["medins_setl_id"]))
    return visits


def demo_settlements_create(*, count: int = 300, reversals: int | None = None, seed: int = 20260105,
                            user: object = None) -> dict[str, object]:
    """About `count` outpatient settlements of 2026 through `settlement_create`, then `reversals` of them
    (default one in thirty) reversed through `settlement_reverse` by `user`. A refused request is counted by its
    error code, not raised. Returns {"settled": n, "refused": {code: n}, "reversed": n}."""
    rng = random.Random(seed)
    settled: list[str] = []
    refused: Counter[str] = Counter()
    for facility, data in _visits(rng, count):
        try:
            answer, _created = settlement_create(facility=facility, data=data)
        except ClaimError as e:
            refused[e.err_code] += 1
            continue
        settled.append(answer["setl_id"])
    reversals = len(settled) // 30 if reversals is None else min(reversals, len(settled))
    chosen = rng.sample(settled, reversals)
    for settlement in Settlement.objects.filter(setl_id__in=chosen).order_by("pk"):
        settlement_reverse(settlement=settlement, reason=DEMO_REVERSAL_REASON, user=user)
    return {"settled": len(settled), "refused": dict(sorted(refused.items())), "reversed": len(chosen)}


def demo_activity_create(*, settlements: int = 300, user: object = None) -> dict[str, object] | None:
    """Contributions, credit runs and settlements for the demo registry, unless demo settlements exist already
    (then None). Returns the counts for `seed_demo` to print."""
    if demo_settlements_exist():
        return None
    contributions = demo_contributions_create()
    runs = demo_credits_run()
    result = demo_settlements_create(count=settlements, user=user)
    return {"contributions": contributions, "runs": runs, **result}
