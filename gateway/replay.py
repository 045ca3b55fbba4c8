"""A day of national-interface traffic, generated from a seed, sent to a real server over HTTP with faults injected,
and every check of the books afterwards (issue 13, item 5). `bench/replay.py` runs a full day under gunicorn; the
test `gateway/tests/test_replay.py` a small one under Django's live server.

1. `world_build`: facilities (hospitals of every level and pharmacies, in Jinan and, while SH-2023-07 is in force,
   Shanghai), a catalog, patients with funded accounts, chronic-disease recognitions, and families whose holder pays
   for a child; a partner token per facility (half of them sign with x-tif headers). Written through the ORM.
2. `plan_day`: for each till (two per facility) the day's visits, drawn from `random.Random(seed)`: sign-in; full
   visits (1101, 2201, 2203, 2204 in one to three batches, sometimes 2205, 2206, 2207), visits cancelled (2202),
   settlements cancelled (2208), a refused 2207 followed by the right one, queries (5206, 5301), a batch undone by
   2601; sign-out; then each facility's 3201 per clearing type. Faults: a 2207 whose answer the client stops waiting
   for, followed by 2601 and a new 2207; a message resent under its msgid; a 2207 whose answer is lost and retried;
   two tills settling one family at the same instant (a barrier); backends killed mid-transaction
   (`pg_terminate_backend`) while the day runs.
3. `run_day`: one thread per till, each with its own HTTP connection, its own books of what it believes settled,
   and every message that answered RETRY or got no HTTP answer sent again under the same msgid.
4. `check_day`: every settlement's invariants, the ledger (`ledger_verify`) and each settlement's entries,
   accumulators against the sum over live settlements (set-based SQL), one live settlement per visit, each 3201
   agreeing, no money moved by a message the client believes failed; and a digest of the end state that does not
   depend on ids, timing or the order of the tills.

Each person's visits run in one till, and a family's holder has more than both settlements can take: whatever the
interleaving, the same seed gives the same end state (the digest).
"""

import contextlib
import datetime
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.ledger import Posting, accounts_lock, accounts_open, ledger_post_many, ledger_verify
from accounts.models import Enrollment, EntryKind, FamilyLink, InsuType, Person, PsnType
from claims.models import Accumulator, Disease, Facility, Item, Recognition, Settlement, SettlementLine
from claims.tokens import partner_token_create
from core.certno import certno_make
from core.money import ZERO, fen
from gateway.api.authentication import signature_of
from gateway.models import Reconciliation, Visit, VisitSettlement
from policies.cache import policy_version_resolved
from policies.errors import PolicyError
from policies.models import Region

URL = "/fsi/api/rsfComIfsService/callService"
JINAN, SHANGHAI = "370100", "310000"
TILLS = 2
CLR_TYPES = {"11": ("11", "13"), "14": ("14",), "41": ("41",)}
# item code: (class, pre-self-pay share, unit price limit, usual price)
CATALOG = {
    "RPA01": ("01", "0", "30.00", "28.00"), "RPA02": ("01", "0", "12.50", "12.00"), "RPA03": ("01", "0", None, "8.60"),
    "RPA04": ("01", "0", "120.00", "118.00"), "RPB01": ("02", "0.10", "45.00", "44.00"),
    "RPB02": ("02", "0.20", "18.00", "17.50"), "RPB03": ("02", "0.05", None, "66.00"),
    "RPC01": ("03", "0", None, "25.00"), "RPC02": ("03", "0", None, "9.90"),
}
DRUGS = ["RPA02", "RPA03", "RPB02", "RPB03", "RPC02"]


# --- the world -------------------------------------------------------------------------------------------------

@dataclass
class Site:
    index: int
    code: str
    admdvs: str
    pharmacy: bool
    level: str
    token: str = ""
    signed: bool = False


@dataclass
class Patient:
    index: int
    psn_no: str
    certno: str
    site: int
    till: int
    insured: bool = True
    chronic: bool = False


@dataclass
class World:
    tag: str
    day: datetime.date
    sites: list[Site]
    patients: list[Patient]
    families: list[tuple[int, int]]  # (holder, child) patient indexes


def _in_force(admdvs: str, day: datetime.date) -> bool:
    try:
        policy_version_resolved(admdvs, day)
    except PolicyError:
        return False
    return True


def _certno(area: str, serial: int, gend: str) -> tuple[str, datetime.date]:
    """A valid ID number unique per serial: 450 serials a birth date, birth dates from 1950 on."""
    brdy = datetime.date(1950, 1, 1) + datetime.timedelta(days=serial // 450)
    seq = (serial % 450) * 2 + (1 if gend == "1" else 2)
    return certno_make(f"{area}{brdy:%Y%m%d}{seq:03d}"), brdy


@transaction.atomic
def world_build(*, tag: str, run: int, seed: int, sites: int, patients_per_till: int, families: int,
                day: datetime.date) -> World:
    """Create the facilities, catalog, patients and families of a replay. `tag` (letters and digits) prefixes every
    code and `run` (0 to 99) keeps ID numbers apart, so that several worlds live in one database."""
    rng = random.Random(f"world-{seed}")
    regions = {r.admdvs: r for r in Region.objects.filter(admdvs__in=[JINAN, SHANGHAI])}
    shanghai = _in_force(SHANGHAI, day) and SHANGHAI in regions
    for code, (lv, prop, limit, _price) in CATALOG.items():
        Item.objects.update_or_create(item_code=code, defaults={
            "item_name": f"回放项目{code}", "chrg_item_lv": lv, "selfpay_prop": Decimal(prop),
            "pric_uplmt_amt": Decimal(limit) if limit else None})
    disease, _ = Disease.objects.get_or_create(opsp_dise_code="M03900", defaults={"opsp_dise_name": "高血压"})

    site_rows = []
    for n in range(sites):
        pharmacy = n % 5 == 4
        admdvs = SHANGHAI if shanghai and n % 3 == 2 else JINAN
        level = "" if pharmacy else str(1 + n % 3)
        site_rows.append(Site(index=n, code=f"{tag}F{n:02d}", admdvs=admdvs, pharmacy=pharmacy, level=level,
                              signed=n % 2 == 1))
    facilities = Facility.objects.bulk_create([
        Facility(fixmedins_code=s.code, fixmedins_name=f"回放{'药店' if s.pharmacy else '医院'}{s.index}",
                 fixmedins_type="2" if s.pharmacy else "1", hosp_lv=s.level, region=regions[s.admdvs],
                 begndate=datetime.date(2020, 1, 1)) for s in site_rows])
    for s, facility in zip(site_rows, facilities, strict=True):
        s.token = partner_token_create(facility=facility, label=f"replay {tag}")[1]

    patients: list[Patient] = []
    people, enrollments, serial = [], [], run * 100_000
    for s in site_rows:
        for till in range(TILLS):
            for _ in range(patients_per_till):
                n = len(patients)
                gend = rng.choice("12")
                certno, brdy = _certno("370102" if s.admdvs == JINAN else "310101", serial + n, gend)
                chronic = not s.pharmacy and s.admdvs == JINAN and s.level in "23" and rng.random() < 0.15
                patients.append(Patient(index=n, psn_no=f"{tag}{n:06d}", certno=certno, site=s.index, till=till,
                                        chronic=chronic))
                people.append(Person(psn_no=f"{tag}{n:06d}", certno=certno, psn_name=f"回放{n}", gend=gend,
                                     brdy=brdy))
    family_pairs = []
    jinan_hospitals = [s for s in site_rows if s.admdvs == JINAN and not s.pharmacy]
    for k in range(families if len(jinan_hospitals) >= 2 else 0):
        first, second = jinan_hospitals[k % len(jinan_hospitals)], jinan_hospitals[(k + 1) % len(jinan_hospitals)]
        for s, till, insured in ((first, k % TILLS, True), (second, (k + 1) % TILLS, False)):
            n = len(patients)
            gend = "1"
            certno, brdy = _certno("370102", serial + n, gend)
            patients.append(Patient(index=n, psn_no=f"{tag}{n:06d}", certno=certno, site=s.index, till=till,
                                    insured=insured))
            people.append(Person(psn_no=f"{tag}{n:06d}", certno=certno, psn_name=f"回放{n}", gend=gend, brdy=brdy))
        family_pairs.append((len(patients) - 2, len(patients) - 1))
    persons = Person.objects.bulk_create(people)
    for p, person in zip(patients, persons, strict=True):
        if not p.insured:
            continue
        retired = person.brdy.year < 1966
        enrollments.append(Enrollment(
            person=person, insutype=InsuType.EMPLOYEE, psn_type=PsnType.RETIRED if retired else PsnType.IN_SERVICE,
            region=regions[site_rows[p.site].admdvs], clct_base=None if retired else Decimal("8000.00"),
            begndate=datetime.date(2015, 1, 1), retire_date=person.brdy.replace(year=person.brdy.year + 60)
            if retired else None))
    Enrollment.objects.bulk_create(enrollments)
    Recognition.objects.bulk_create([
        Recognition(person=persons[p.index], disease=disease, facility=facilities[p.site],
                    begndate=datetime.date(2024, 1, 1)) for p in patients if p.chronic])
    FamilyLink.objects.bulk_create([
        FamilyLink(holder=persons[holder], relative=persons[child], relation="child",
                   begndate=datetime.date(2020, 1, 1)) for holder, child in family_pairs])

    # Opening balances: the holders more than the family's day can take, everyone else 0 to 800.
    holders = {holder for holder, _child in family_pairs}
    funded = [p for p in patients if p.insured]
    accounts_open(person_ids=[persons[p.index].pk for p in funded])
    accounts = accounts_lock(person_ids=[persons[p.index].pk for p in funded])
    postings = []
    for p in funded:
        account = accounts[persons[p.index].pk]
        amount = Decimal("30000.00") if p.index in holders else Decimal(rng.randrange(0, 80_000)) / 100
        pockets = [("historical", amount)]
        if site_rows[p.site].admdvs == SHANGHAI and p.index not in holders:
            current = Decimal(rng.randrange(0, 40_000)) / 100
            pockets = [("current", current), ("historical", amount)]
        postings += [Posting(account=account, pocket=pocket, amount=value, kind=EntryKind.OPENING_BALANCE,
                             reason=f"replay {tag}") for pocket, value in pockets if value > 0]
    ledger_post_many(postings)
    return World(tag=tag, day=day, sites=site_rows, patients=patients, families=family_pairs)


# --- the plan ------------------------------------------------------------------------------------------------------

@dataclass
class VisitPlan:
    """One patient's visit at a till, decided before the day starts."""

    key: str
    patient: int
    kind: str
    batches: list[list[tuple[str, Decimal, Decimal]]]
    med_type: str
    faults: tuple[str, ...] = ()
    cancel_batch: int | None = None
    family: int | None = None


@dataclass
class TillPlan:
    site: int
    till: int
    visits: list[VisitPlan] = field(default_factory=list)


def _lines(rng: random.Random, pharmacy: bool) -> list[tuple[str, Decimal, Decimal]]:
    codes = DRUGS if pharmacy else sorted(CATALOG)
    lines = []
    for code in rng.sample(codes, rng.randint(1, 3)):
        usual = Decimal(CATALOG[code][3])
        price = fen(usual * Decimal(rng.randrange(85, 111)) / 100)
        lines.append((code, Decimal(rng.choice((1, 1, 2, 3, "0.5", 4))), price))
    return lines


def plan_day(world: World, *, seed: int, visits_per_till: int) -> list[TillPlan]:
    """Every till's visits of the day, from the seed alone."""
    rng = random.Random(f"plan-{seed}")
    tills = {(s.index, t): TillPlan(site=s.index, till=t) for s in world.sites for t in range(TILLS)}
    by_till: dict[tuple[int, int], list[Patient]] = defaultdict(list)
    family_members = {i for pair in world.families for i in pair}
    for p in world.patients:
        if p.index not in family_members:
            by_till[(p.site, p.till)].append(p)
    for (site, till), plan in tills.items():
        pharmacy = world.sites[site].pharmacy
        fault_slots = rng.sample(range(visits_per_till), min(visits_per_till, 6))
        faults = dict(zip(fault_slots, ("timeout_2601", "resend", "lost_answer", "timeout_2601", "resend",
                                         "lost_answer"), strict=False))
        for v in range(visits_per_till):
            patient = rng.choice(by_till[(site, till)])
            if pharmacy:
                kind = "purchase"
            else:
                kind = rng.choices(["settle", "settle_cancel", "register_cancel", "wrong_total", "queries",
                                    "undo_batch"], weights=[62, 8, 6, 6, 10, 8])[0]
            med_type = "41" if pharmacy else ("14" if patient.chronic and rng.random() < 0.6 else
                                              rng.choice(("11", "11", "11", "13")))
            batches = [_lines(rng, pharmacy) for _ in range(1 if pharmacy else rng.choice((1, 1, 2, 3)))]
            cancel = rng.randrange(len(batches)) if len(batches) > 1 and rng.random() < 0.3 else None
            fault = (faults[v],) if v in faults and kind in ("settle", "purchase", "queries") else ()
            plan.visits.append(VisitPlan(key=f"{site}-{till}-{v}", patient=patient.index, kind=kind,
                                         batches=batches, med_type=med_type, faults=fault, cancel_batch=cancel))
    for k, (holder, child) in enumerate(world.families):
        for member in (holder, child):
            p = world.patients[member]
            plan = tills[(p.site, p.till)]
            # Families in increasing order within every till: two tills never wait for each other crosswise.
            position = min(len(plan.visits), 3 + 2 * k)
            plan.visits.insert(position, VisitPlan(
                key=f"family-{k}-{member}", patient=member, kind="settle", batches=[_lines(rng, False)],
                med_type="11", family=k))
    return list(tills.values())


# --- the clients -----------------------------------------------------------------------------------------------------

class Progress:
    def __init__(self, total: int) -> None:
        self.total, self.sent, self.lock = total, 0, threading.Lock()

    def tick(self) -> None:
        with self.lock:
            self.sent += 1

    @property
    def share(self) -> float:
        return self.sent / max(self.total, 1)


@dataclass
class Books:
    """What one till believes: its live settlements (by setl_id), the msgids it believes failed, what it saw."""

    live: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    abandoned: set[str] = field(default_factory=set)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    retries: int = 0
    messages: int = 0
    problems: list[str] = field(default_factory=list)
    outcomes: dict[str, Any] = field(default_factory=dict)


class Till:
    """One cashier's terminal: sends a till's messages in order on its own HTTP connection."""

    def __init__(self, base_url: str, site: Site, till: int, world: World, progress: Progress) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname, url.port or 80
        self.site, self.till, self.world, self.progress = site, till, world, progress
        self.books = Books()
        self.sequence = 0
        self.conn: http.client.HTTPConnection | None = None
        self.clock = datetime.datetime.combine(world.day, datetime.time(8, 0))

    def msgid(self) -> str:
        self.sequence += 1
        self.clock += datetime.timedelta(seconds=2)
        return f"{self.site.code}{self.clock:%Y%m%d%H%M%S}{self.till}{self.sequence % 1000:03d}"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.site.signed:
            timestamp, nonce = str(int(time.time())), f"{self.till}-{self.sequence}-{random.getrandbits(48):x}"
            headers.update({"x-tif-paasid": self.site.code, "x-tif-timestamp": timestamp, "x-tif-nonce": nonce,
                            "x-tif-signature": signature_of(timestamp=timestamp, token=self.site.token,
                                                            nonce=nonce)})
        else:
            headers["Authorization"] = f"Token {self.site.token}"
        return headers

    def _post(self, body: bytes, *, abandon: bool = False) -> tuple[int, dict[str, Any] | None]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            self.conn.request("POST", URL, body=body, headers=self._headers())
            if abandon:  # the client's timeout: it stops waiting and drops the connection
                self.conn.close()
                self.conn = None
                return 0, None
            response = self.conn.getresponse()
            status, raw = response.status, response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return status, json.loads(raw) if raw else None
        except (OSError, http.client.HTTPException, ValueError):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return 0, None

    def send(self, infno: str, input_: dict[str, Any], *, msgid: str | None = None, abandon: bool = False,
             expect_ok: bool = True) -> dict[str, Any] | None:
        """Send until the message has a definitive answer (RETRY and transport errors are sent again under the same
        msgid); None when abandoned. A refusal is recorded as a message the client believes failed."""
        msgid = msgid or self.msgid()
        body = json.dumps({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": self.site.admdvs,
                           "insuplc_admdvs": self.site.admdvs, "recer_sys_code": "FSI", "infver": "V1.0",
                           "opter_type": "1", "opter": f"T{self.till}", "opter_name": "收费员",
                           "inf_time": f"{self.clock:%Y-%m-%d %H:%M:%S}", "fixmedins_code": self.site.code,
                           "fixmedins_name": self.site.code, "sign_no": "", "input": input_},
                          ensure_ascii=False, default=str).encode()
        self.books.messages += 1
        self.progress.tick()
        if abandon:
            self._post(body, abandon=True)
            self.books.abandoned.add(msgid)
            return None
        for attempt in range(30):
            started = time.perf_counter()
            status, answer = self._post(body)
            took = time.perf_counter() - started
            if status == 200 and answer is not None and not str(answer.get("err_msg", "")).startswith("RETRY:"):
                if attempt == 0:
                    self.books.latencies[infno].append(took)
                if answer["infcode"] != 0:
                    self.books.failed.add(msgid)
                    if expect_ok:
                        self.books.problems.append(f"{self.site.code} {infno} {msgid}: {answer['err_msg']}")
                answer["msgid"] = msgid
                return answer
            self.books.retries += 1
            time.sleep(0.05 * (attempt + 1))
        self.books.problems.append(f"{self.site.code} {infno} {msgid}: no answer after 30 attempts")
        self.books.failed.add(msgid)
        return None


def _detail(sn: int, mdtrt_id: str, psn_no: str, batch: str, line: tuple[str, Decimal, Decimal],
            med_type: str, when: datetime.datetime) -> dict[str, Any]:
    code, cnt, price = line
    return {"feedetl_sn": str(sn), "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch, "med_type": med_type,
            "fee_ocur_time": f"{when:%Y-%m-%d %H:%M:%S}", "med_list_codg": code, "medins_list_codg": f"H{code}",
            "det_item_fee_sumamt": str(fen(cnt * price)), "cnt": str(cnt), "pric": str(price),
            "bilg_dept_codg": "D01", "bilg_dr_codg": "DR01"}


def run_visit(till: Till, visit: VisitPlan, barriers: dict[int, threading.Barrier]) -> None:
    """One visit's messages, as a HIS sends them."""
    world, p = till.world, till.world.patients[visit.patient]
    books = till.books
    till.send("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno, "psn_cert_type": "01",
                                "certno": p.certno, "psn_name": ""}})
    registered = f"{world.day:%Y-%m-%d} {till.clock:%H:%M:%S}"
    registration = {"data": {"psn_no": p.psn_no, "insutype": "310", "begntime": registered,
                             "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno, "ipt_otp_no": visit.key,
                             "dept_code": "D01", "dept_name": "门诊"}}
    answer = till.send("2201", registration)
    if answer is None or answer["infcode"] != 0:
        return
    mdtrt_id = answer["output"]["data"]["mdtrt_id"]
    if "resend" in visit.faults:  # the same msgid again: the first answer, the same visit
        again = till.send("2201", registration, msgid=answer["msgid"])
        if again is None or again["output"] != answer["output"] or again["inf_refmsgid"] != answer["inf_refmsgid"]:
            books.problems.append(f"{visit.key}: a resent 2201 was not answered with its first answer")
    if visit.kind == "register_cancel":
        till.send("2202", {"data": {"psn_no": p.psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": visit.key}})
        return
    if not till.site.pharmacy:
        info = {"mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "med_type": visit.med_type, "main_cond_dscr": "复诊",
                "dise_codg": "M03900" if visit.med_type == "14" else "I10",
                "dise_name": "高血压"}
        till.send("2203", {"mdtrtinfo": info, "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "I10",
                                                            "diag_name": "高血压"}]})
    sn, total, live_batches = 0, ZERO, []
    for b, lines in enumerate(visit.batches):
        details = []
        for line in lines:
            sn += 1
            details.append(_detail(sn, mdtrt_id, p.psn_no, f"B{b + 1}", line, visit.med_type, till.clock))
        answer = till.send("2204", {"feedetail": details})
        if answer is not None and answer["infcode"] == 0:
            live_batches.append((f"B{b + 1}", sum((Decimal(d["det_item_fee_sumamt"]) for d in details), ZERO)))
    if visit.cancel_batch is not None and len(live_batches) > 1:
        batch, amount = live_batches.pop(visit.cancel_batch % len(live_batches))
        till.send("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": batch, "psn_no": p.psn_no}})
    if visit.kind == "undo_batch":
        extra = [_detail(sn + 1, mdtrt_id, p.psn_no, "BX", ("RPC02", Decimal(1), Decimal("9.90")), visit.med_type,
                         till.clock)]
        answer = till.send("2204", {"feedetail": extra})
        if answer is not None:
            till.send("2601", {"data": {"psn_no": p.psn_no, "omsgid": answer["msgid"], "oinfno": "2204"}})
    total = sum((amount for _batch, amount in live_batches), ZERO)
    settle = {"data": {"psn_no": p.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno,
                       "med_type": visit.med_type, "medfee_sumamt": str(total), "psn_setlway": "01",
                       "mdtrt_id": mdtrt_id, "chrg_bchno": live_batches[-1][0] if live_batches else "",
                       "acct_used_flag": "1", "insutype": "310"}}
    if not till.site.pharmacy:
        till.send("2206", settle)
    if visit.kind == "wrong_total":  # refused: no money may move
        till.send("2207", {"data": {**settle["data"], "medfee_sumamt": str(total + Decimal("0.01"))}},
                  expect_ok=False)
    if "timeout_2601" in visit.faults:
        msgid = till.msgid()
        till.send("2207", settle, msgid=msgid, abandon=True)
        till.send("2601", {"data": {"psn_no": p.psn_no, "omsgid": msgid, "oinfno": "2207"}})
    if visit.family is not None:
        barriers[visit.family].wait()
    answer = till.send("2207", settle)
    if answer is None or answer["infcode"] != 0:
        return
    if "lost_answer" in visit.faults:  # the answer never reached the cashier: the same message again
        again = till.send("2207", settle, msgid=answer["msgid"])
        if again is None or again["output"] != answer["output"]:
            books.problems.append(f"{visit.key}: a retried 2207 was not answered with its first answer")
    setlinfo = answer["output"]["setlinfo"]
    books.live[setlinfo["setl_id"]] = setlinfo
    books.outcomes[visit.key] = setlinfo
    if visit.kind == "queries":
        till.send("5206", {"data": {"psn_no": p.psn_no, "cum_ym": f"{world.day:%Y%m}"}})
        till.send("5301", {"data": {"psn_no": p.psn_no}})
    if visit.kind == "settle_cancel":
        cancelled = till.send("2208", {"data": {"setl_id": setlinfo["setl_id"], "mdtrt_id": mdtrt_id,
                                                "psn_no": p.psn_no}})
        if cancelled is not None and cancelled["infcode"] == 0:
            del books.live[setlinfo["setl_id"]]
            books.outcomes[visit.key] = None


def run_till(till: Till, plan: TillPlan, barriers: dict[int, threading.Barrier]) -> None:
    try:
        signed_in = till.send("9001", {"signIn": {"opter_no": f"T{till.till}", "mac": "", "ip": "10.0.0.1"}})
        for visit in plan.visits:
            run_visit(till, visit, barriers)
        if signed_in is not None:
            till.send("9002", {"signOut": {"sign_no": signed_in["output"]["signinoutb"]["sign_no"],
                                           "opter_no": f"T{till.till}"}})
    except Exception as e:  # noqa: BLE001  (reported with the day's problems; the other tills go on)
        till.books.problems.append(f"till {till.site.code}/{till.till}: {type(e).__name__}: {e}")
        for barrier in barriers.values():
            barrier.abort()


# --- faults on the database -----------------------------------------------------------------------------------------

def kill_backends(*, times: int, progress: Progress, stop: threading.Event, database: dict[str, Any],
                  killed: list[str]) -> None:
    """At each of `times` points of the day, terminate one backend of this database that is inside a transaction
    (`idle in transaction`: between two statements of a message's transaction)."""
    import psycopg

    params = {"dbname": database["NAME"], "user": database["USER"], "host": database["HOST"],
              "port": database["PORT"], "password": database["PASSWORD"]}
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        for k in range(1, times + 1):
            while progress.share < k / (times + 1) and not stop.is_set():
                time.sleep(0.05)
            deadline = time.monotonic() + 20
            while not stop.is_set() and time.monotonic() < deadline:
                row = admin.execute(
                    "SELECT pid, left(query, 60) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'idle in transaction' AND backend_type = 'client backend' "
                    "LIMIT 1").fetchone()
                if row and admin.execute("SELECT pg_terminate_backend(%s)", [row[0]]).fetchone()[0]:
                    killed.append(f"pid {row[0]} after {row[1]!r}")
                    break
                time.sleep(0.0005)


# --- the server ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn_serving(*, port: int, env: dict[str, str], log: Path, workers: int = 3,
                     ready: Callable[[subprocess.Popen], None] | None = None) -> Iterator[str]:
    """`gunicorn -c config/gunicorn.py config.wsgi` on the database of this process (its NAME), stopped after.
    `ready` is given the server process once its workers are warm (the bench samples their CPU from there)."""
    database = connection.settings_dict
    url = (f"postgres://{database['USER'] or 'postgres'}"
           + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
           + f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}?conn_max_age=600")
    root = Path(__file__).resolve().parent.parent
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.py", "-w",
             str(workers), "-b", f"127.0.0.1:{port}"], cwd=root, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "DATABASE_URL": url, **env}, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}: see {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not listen within 60 s: see {log}") from None
                time.sleep(0.2)
        for _ in range(workers * 3):  # each worker's first request loads the URLs and views: not the day's
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            warm.request("POST", URL, body=b"{}", headers={"Content-Type": "application/json"})
            warm.getresponse().read()
            warm.close()
        if ready is not None:
            ready(server)
        yield f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


# --- the day ---------------------------------------------------------------------------------------------------

@dataclass
class DayResult:
    messages: int
    seconds: float
    retries: int
    killed: list[str]
    latencies: dict[str, list[float]]
    books: dict[int, list[Books]]
    reconciliations: dict[int, list[dict[str, Any]]]
    problems: list[str]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def run_day(world: World, plans: list[TillPlan], *, base_url: str, kills: int = 0,
            say: Callable[[str], None] = print) -> DayResult:
    """Send the day through the server at `base_url`, then each facility's 3201 per clearing type."""
    total = sum(len(plan.visits) * 9 + 2 for plan in plans)
    progress = Progress(total)
    barriers = {k: threading.Barrier(2, timeout=300) for k in range(len(world.families))}
    tills = {(plan.site, plan.till): Till(base_url, world.sites[plan.site], plan.till, world, progress)
             for plan in plans}
    stop, killed = threading.Event(), []
    killer = None
    if kills and connection.vendor == "postgresql":
        killer = threading.Thread(target=kill_backends, kwargs={
            "times": kills, "progress": progress, "stop": stop, "database": connection.settings_dict,
            "killed": killed}, daemon=True)
        killer.start()
    threads = [threading.Thread(target=run_till, args=(tills[(plan.site, plan.till)], plan, barriers))
               for plan in plans]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    if killer is not None:
        killer.join(timeout=30)

    reconciliations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for site in world.sites:
        closing = Till(base_url, site, 9, world, progress)
        closing.clock = datetime.datetime.combine(world.day, datetime.time(23, 0))
        live = [s for t in range(TILLS) for s in tills[(site.index, t)].books.live.values()]
        for clr_type, med_types in CLR_TYPES.items():
            rows = [s for s in live if s["med_type"] in med_types and s["insutype"] == "310"]
            if not rows and clr_type != ("41" if site.pharmacy else "11"):
                continue
            day = f"{world.day:%Y-%m-%d}"
            answer = closing.send("3201", {"data": {
                "insutype": "310", "clr_type": clr_type, "setl_optins": site.admdvs, "stmt_begndate": day,
                "stmt_enddate": day,
                "medfee_sumamt": str(sum((Decimal(s["medfee_sumamt"]) for s in rows), ZERO)),
                "fund_pay_sumamt": str(sum((Decimal(s["fund_pay_sumamt"]) for s in rows), ZERO)),
                "acct_pay": str(sum((Decimal(s["acct_pay"]) for s in rows), ZERO)), "fixmedins_setl_cnt": len(rows)}})
            if answer is not None:
                reconciliations[site.index].append(answer["output"]["stmtinfo"])
        tills[(site.index, 9)] = closing
    seconds = time.perf_counter() - started

    latencies: dict[str, list[float]] = defaultdict(list)
    for till in tills.values():
        for infno, values in till.books.latencies.items():
            latencies[infno] += values
    problems = [p for till in tills.values() for p in till.books.problems]
    if kills and connection.vendor == "postgresql" and not killed:
        problems.append("no backend was caught inside a transaction to kill")
    books: dict[int, list[Books]] = defaultdict(list)
    for (site, _till), till in tills.items():
        books[site].append(till.books)
    say(f"day sent: {progress.sent} messages in {seconds:.1f} s, {sum(t.books.retries for t in tills.values())} "
        f"resent after RETRY or no answer, backends killed: {len(killed)}")
    return DayResult(messages=progress.sent, seconds=seconds, retries=sum(t.books.retries for t in tills.values()),
                     killed=killed, latencies=dict(latencies), books=books, reconciliations=dict(reconciliations),
                     problems=problems)


# --- the checks ------------------------------------------------------------------------------------------------------

def _rows(sql: str, params: list[Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def check_books() -> list[str]:
    """The invariants over every settlement in the database, set-based."""
    s, line = Settlement._meta.db_table, SettlementLine._meta.db_table
    acc, vs = Accumulator._meta.db_table, VisitSettlement._meta.db_table
    from accounts.models import LedgerEntry

    ledger = LedgerEntry._meta.db_table
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    problems = []
    bad = _rows(f"""SELECT setl_id FROM {s} WHERE medfee_sumamt <> fund_pay_sumamt + acct_pay + acct_mulaid_pay
                    + psn_cash_pay OR fund_pay_sumamt <> hifp_pay + oth_pay OR psn_part_amt <> medfee_sumamt
                    - fund_pay_sumamt OR medfee_sumamt <> fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt
                    + inscp_scp_amt OR {least}(acct_pay, acct_mulaid_pay, psn_cash_pay, hifp_pay, oth_pay,
                    act_pay_dedc, balc) < 0 LIMIT 5""")
    problems += [f"settlement {r[0]}: its amounts do not add up" for r in bad]
    bad = _rows(f"""SELECT s.setl_id FROM {s} s JOIN (SELECT settlement_id, SUM(amount) AS total FROM {line}
                    GROUP BY settlement_id) l ON l.settlement_id = s.id WHERE l.total <> s.medfee_sumamt LIMIT 5""")
    problems += [f"settlement {r[0]}: its lines do not add up to its total" for r in bad]
    bad = _rows(f"""SELECT s.setl_id FROM {s} s LEFT JOIN (
                      SELECT ref_id, SUM(CASE WHEN kind IN ('settlement', 'mulaid_settlement') THEN amount ELSE 0 END)
                             AS debits,
                             SUM(CASE WHEN kind = 'reversal' THEN amount ELSE 0 END) AS reversals
                      FROM {ledger} WHERE ref_type = 'settlement' GROUP BY ref_id) e ON e.ref_id = s.setl_id
                    WHERE COALESCE(-e.debits, 0) <> s.acct_pay + s.acct_mulaid_pay
                       OR COALESCE(e.reversals, 0) <> CASE WHEN s.status = 'reversed'
                                                         THEN s.acct_pay + s.acct_mulaid_pay ELSE 0 END LIMIT 5""")
    problems += [f"settlement {r[0]}: its ledger entries are not its account payments" for r in bad]
    bad = _rows(f"""SELECT a.person_id, a.bucket, a.dedc_used, a.hifp_paid, COALESCE(t.dedc, 0), COALESCE(t.hifp, 0)
                    FROM {acc} a LEFT JOIN (
                      SELECT person_id, year_start, bucket, SUM(act_pay_dedc) AS dedc, SUM(hifp_pay) AS hifp
                      FROM {s} WHERE status = 'settled' AND bucket <> '' GROUP BY person_id, year_start, bucket) t
                    ON t.person_id = a.person_id AND t.year_start = a.year_start AND t.bucket = a.bucket
                    WHERE a.dedc_used <> COALESCE(t.dedc, 0) OR a.hifp_paid <> COALESCE(t.hifp, 0) LIMIT 5""")
    problems += [f"accumulator of person {r[0]} bucket {r[1]}: {r[2]}/{r[3]}, the live settlements say {r[4]}/{r[5]}"
                 for r in bad]
    bad = _rows(f"""SELECT t.person_id FROM (SELECT person_id, year_start, bucket FROM {s}
                    WHERE status = 'settled' AND bucket <> '' GROUP BY person_id, year_start, bucket) t
                    LEFT JOIN {acc} a ON a.person_id = t.person_id AND a.year_start = t.year_start
                    AND a.bucket = t.bucket WHERE a.id IS NULL LIMIT 5""")
    problems += [f"person {r[0]}: live settlements without their accumulator" for r in bad]
    bad = _rows(f"""SELECT v.visit_id FROM {vs} v JOIN {s} s ON s.id = v.settlement_id WHERE s.status = 'settled'
                    GROUP BY v.visit_id HAVING COUNT(*) > 1 LIMIT 5""")
    problems += [f"visit {r[0]} has more than one live settlement" for r in bad]
    problems += [f"ledger: {p}" for p in ledger_verify()[:5]]
    return problems


def check_day(world: World, day: DayResult) -> list[str]:
    """What the day must leave behind, beyond the books: each 3201 agreeing, and nothing settled under a msgid the
    client believes failed."""
    problems = list(day.problems) + check_books()
    for site in world.sites:
        rows = day.reconciliations.get(site.index, [])
        if not rows:
            problems.append(f"{site.code}: no 3201 answered")
        problems += [f"{site.code}: 3201 disagrees: {r['stmt_rslt_dscr']}" for r in rows if r["stmt_rslt"] != "0"]
    codes = [s.code for s in world.sites]
    if Reconciliation.objects.filter(facility__fixmedins_code__in=codes, agreed=False).exists():
        problems.append("a reconciliation of the day is stored as disagreeing")
    failed = {msgid for books in day.books.values() for b in books for msgid in b.failed | b.abandoned}
    moved = Settlement.objects.filter(facility__fixmedins_code__in=codes, medins_setl_id__in=failed,
                                      status="settled").values_list("medins_setl_id", flat=True)
    problems += [f"message {m}: the client believes it failed, yet its settlement stands" for m in moved[:5]]
    believed = {setl_id for books in day.books.values() for b in books for setl_id in b.live}
    standing = set(Settlement.objects.filter(facility__fixmedins_code__in=codes, status="settled")
                   .values_list("setl_id", flat=True))
    if believed != standing:
        problems.append(f"the tills believe {len(believed)} settlements stand, the system has {len(standing)}: "
                        f"{sorted(believed ^ standing)[:5]}")
    return problems


def digest(world: World, day: DayResult) -> str:
    """The end state by position (patient, visit, facility), not by id: the same seed gives the same digest."""
    persons = {p.psn_no: p.index for p in world.patients}
    state: dict[str, Any] = {"balances": {}, "accumulators": [], "visits": {}, "reconciliations": {}}
    for psn_no, current, historical in Person.objects.filter(psn_no__in=persons, account__isnull=False).values_list(
            "psn_no", "account__balc_current", "account__balc_historical"):
        state["balances"][persons[psn_no]] = [f"{current:.2f}", f"{historical:.2f}"]
    for psn_no, bucket, dedc, hifp in Accumulator.objects.filter(person__psn_no__in=persons).values_list(
            "person__psn_no", "bucket", "dedc_used", "hifp_paid"):
        state["accumulators"].append([persons[psn_no], bucket, f"{dedc:.2f}", f"{hifp:.2f}"])
    state["accumulators"].sort()
    money = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "act_pay_dedc", "acct_pay", "acct_mulaid_pay",
             "psn_cash_pay", "med_type")
    for books in day.books.values():
        for b in books:
            for key, setlinfo in b.outcomes.items():
                state["visits"][key] = [setlinfo[k] for k in money] if setlinfo else None
    for site, rows in day.reconciliations.items():
        state["reconciliations"][site] = [r["system_figures"] for r in rows]
    state["visits_registered"] = Visit.objects.filter(facility__fixmedins_code__in=[s.code for s in world.sites]) \
        .count()
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def report(day: DayResult) -> list[str]:
    """Messages per second and p50/p99 per infno, as printable lines."""
    lines = [f"{day.messages} messages in {day.seconds:.1f} s: {day.rate:.1f} messages/s; {day.retries} resent; "
             f"{len(day.killed)} backends killed mid-transaction",
             "| infno | messages | p50 ms | p99 ms |", "| --- | ---: | ---: | ---: |"]
    for infno in sorted(day.latencies):
        values = day.latencies[infno]
        lines.append(f"| {infno} | {len(values)} | {percentile(values, 50) * 1000:.1f} | "
                     f"{percentile(values, 99) * 1000:.1f} |")
    return lines


def today() -> datetime.date:
    """The replay's day is today (Asia/Shanghai): the service-date window ends today, whatever the clock says."""
    return timezone.localdate()

