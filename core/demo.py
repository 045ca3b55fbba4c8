"""Demo data for `seed_demo`: facilities, catalogs and a registry of about 2,000 enrollees in Shanghai and Jinan.

Deterministic (a fixed random seed) so that two machines show the same demo. Jinan's numbers are illustrative.
"""

import datetime
import random
from decimal import Decimal

from simple_history.utils import bulk_create_with_history

from accounts.models import Employer, Enrollment, FamilyLink, InsuStatus, Person, PsnType, Relation
from claims.models import Disease, Facility, Item, Recognition
from core.certno import certno_make
from policies.models import Region

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
]

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
                 region=regions[admdvs], begndate=datetime.date(2015, 1, 1))
        for code, name, kind, level, admdvs in FACILITIES
    ], Facility)
    bulk_create_with_history([
        Item(item_code=code, item_name=name, chrg_item_lv=cls, selfpay_prop=Decimal(share),
             pric_uplmt_amt=Decimal(limit) if limit else None)
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
            begndate=max(datetime.date(1993, 1, 1), datetime.date(brdy.year + 22, 7, 1)),
            retire_date=retire_date,
            psn_insu_stas=InsuStatus.ACTIVE if rng.random() > 0.02 else InsuStatus.SUSPENDED,
        ))
    bulk_create_with_history(persons, Person, batch_size=500)
    for enrollment in enrollments:
        enrollment.person_id = enrollment.person.pk
    bulk_create_with_history(enrollments, Enrollment, batch_size=500)

    # Family links: a working enrollee's account pays for a child without insurance here, and some couples and
    # retired parents share with each other.
    links, children = [], []
    in_service = [e for e in enrollments if e.psn_type == PsnType.IN_SERVICE and e.person.brdy.year < 1995]
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
    bulk_create_with_history(children, Person, batch_size=500)
    pairs = list(zip(rng.sample(in_service, 60), rng.sample(retired, 60), strict=True))
    for holder, parent in pairs:
        if holder.person is parent.person:
            continue
        links.append(FamilyLink(holder=holder.person, relative=parent.person, relation=Relation.PARENT,
                                begndate=datetime.date(2023, 1, 1), order=1))
    for link in links:
        link.holder_id, link.relative_id = link.holder.pk, link.relative.pk
    bulk_create_with_history(links, FamilyLink, batch_size=500)

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
            "family_links": len(links), "recognitions": len(recognitions)}
