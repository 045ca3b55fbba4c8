"""Imports of the registry (CONTRACT.md "Import kinds"): `roster` and `family_links`."""

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import tablib
from django.db.models import Max
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from import_export.fields import Field
from import_export.widgets import DateWidget

from accounts.ledger import BALANCES_IMPORT, accounts_lock, ledger_post, persons_with_live_accounts
from accounts.models import (
    RETIRED_PSN_TYPES,
    Contribution,
    Employer,
    Enrollment,
    EntryKind,
    FamilyLink,
    Gender,
    InsuStatus,
    InsuType,
    LedgerEntry,
    Person,
    PersonalAccount,
    PsnType,
    Relation,
)
from accounts.services import PsnNoSequence, employer_ensure, person_create_uninsured
from core.certno import FEMALE, MALE, certno_gender, certno_mask
from core.imports import ImportResource, RowReader, assign, chunked, preload
from core.imports.base import DATE_RE, FastValidator, certno_birth, certno_quick_birth, preload_values
from core.imports.messages import stored_gettext as _
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from policies.errors import PolicyError
from policies.models import Region
from policies.selectors import policy_version_in_force

PSN_NO_PATTERN = r"[0-9A-Za-z]+"
FLEXIBLE_PSN_TYPES = (PsnType.FLEXIBLE_IN_SERVICE, PsnType.FLEXIBLE_RETIRED)
# Computed once: `Choices.values` builds a new list on every call, and the messages are formatted only for bad rows.
GENDERS, PSN_TYPES, INSU_STATUSES, RELATIONS, INSUTYPES = (tuple(c.values) for c in (Gender, PsnType, InsuStatus,
                                                                                   Relation, InsuType))
RESIDENT_BLANK = ("psn_type", "emp_no", "emp_name", "clct_base")
# Msgids (messages of bad rows are stored untranslated and read in the reader's language: core.imports.messages).
PSN_NO_MESSAGE = gettext_noop("a person number has letters and digits only")
NO_REGION = gettext_noop("no region has the code %(value)s")
NO_PERSON = gettext_noop("no person has the number %(value)s")
DATE = DateWidget(format="%Y-%m-%d")
LIVE_ACCOUNT = gettext_noop("the account of %(psn_no)s already has entries other than an opening balance "
                            "(credits, payments, corrections): no opening balance for a live account")
OPENING_SET = gettext_noop("the %(pocket)s pocket of %(psn_no)s has its opening balance %(opening)s already: an "
                           "opening balance is set once; a change is a correction, asked for under account "
                           "adjustments and approved by a second person")


def _column(dataset: tablib.Dataset, name: str) -> list[str]:
    return [str(v or "").strip() for v in dataset[name]] if dataset.height else []


def _certno_key(value: Any) -> str:
    return str(value or "").strip().upper()


@dataclass(frozen=True, slots=True)
class _KnownPerson:
    """A person already in the database as validation sees it (the streaming import's instance: the writer reads
    its pk)."""

    pk: int
    psn_no: str
    certno: str


class RosterResource(ImportResource):
    """One row per enrollee: the Person (key certno), its enrollment of the row's insurance type and its Employer.

    Optional columns (CONTRACT.md): `insutype` (blank `310`; `390` resident insurance, whose psn_type, emp_no,
    emp_name and clct_base are blank) and `stas_date`, the day the row's status takes effect (blank: begndate for
    a new enrollee, the import day for a change), recorded in the enrollment's dated statuses."""

    columns = ("psn_no", "certno", "psn_name", "gend", "brdy", "psn_type", "insuplc_admdvs", "emp_no", "emp_name",
               "clct_base", "begndate", "retire_date", "psn_insu_stas")
    optional_columns = ("insutype", "stas_date")
    key_columns = ("certno",)

    psn_no = Field(attribute="psn_no", column_name="psn_no")
    certno = Field(attribute="certno", column_name="certno")
    psn_name = Field(attribute="psn_name", column_name="psn_name")
    gend = Field(attribute="gend", column_name="gend")
    brdy = Field(attribute="brdy", column_name="brdy", widget=DATE)
    psn_type = Field(column_name="psn_type")
    insuplc_admdvs = Field(column_name="insuplc_admdvs")
    emp_no = Field(column_name="emp_no")
    emp_name = Field(column_name="emp_name")
    clct_base = Field(column_name="clct_base")
    begndate = Field(column_name="begndate")
    retire_date = Field(column_name="retire_date")
    psn_insu_stas = Field(column_name="psn_insu_stas")

    class Meta(ImportResource.Meta):
        model = Person
        fields = ("psn_no", "certno", "psn_name", "gend", "brdy", "psn_type", "insuplc_admdvs", "emp_no",
                  "emp_name", "clct_base", "begndate", "retire_date", "psn_insu_stas")
        import_id_fields = ("certno",)
        name = gettext_lazy("Roster (persons and enrollments)")

    def begin_file(self) -> None:
        super().begin_file()
        self._psn_no_in_file: dict[str, tuple[int, str]] = {}
        self._emp_name_in_file: dict[str, tuple[int, str]] = {}

    def preload_for_validation(self, dataset: tablib.Dataset) -> None:
        certnos = [_certno_key(v) for v in _column(dataset, "certno")]
        psn_nos = _column(dataset, "psn_no")
        self._regions = {r.admdvs: r for r in Region.objects.all()}
        self._employer_nos = {emp_no for (emp_no,) in preload_values(Employer, ("emp_no",), "emp_no",
                                                                        _column(dataset, "emp_no"))}
        # Only what validation reads: the ID number, the number and the key, as tuples (model instances cost a
        # quarter of a re-import's time, the queryset's iteration another tenth).
        persons = [_KnownPerson(*values) for lookup, keys in (("certno", certnos), ("psn_no", psn_nos))
                   for values in preload_values(Person, ("id", "psn_no", "certno"), lookup, keys)]
        self._persons = {p.certno: p for p in persons}
        self._psn_no_owner = {p.psn_no: p.certno for p in persons}

    def preload(self, dataset: tablib.Dataset) -> None:
        self.preload_for_validation(dataset)
        self._employers = {e.emp_no: e for e in preload(Employer.objects.all(), "emp_no", self._employer_nos)}
        persons = preload(Person.objects.all(), "certno", list(self._persons))
        self._persons = {p.certno: p for p in persons}
        self._enrollments = {(e.person_id, e.insutype): e for e in preload(
            Enrollment.objects.prefetch_related("status_changes"), "person_id", {p.pk for p in persons})}
        self._psn_nos = PsnNoSequence(taken=_column(dataset, "psn_no"))

    def find_instance(self, row: Mapping[str, Any]) -> Person | None:
        return self._persons.get(_certno_key(row.get("certno")))

    def clean_row(self, reader: RowReader, instance: Person, line: int) -> dict[str, Any]:
        certno = reader.certno("certno")
        psn_no = reader.text("psn_no", required=False, max_length=30, pattern=PSN_NO_PATTERN,
                             pattern_message=PSN_NO_MESSAGE)
        psn_name = reader.text("psn_name", max_length=50)
        gend = reader.choice("gend", GENDERS, required=False)
        brdy = reader.date("brdy", required=False)
        insutype = reader.choice("insutype", INSUTYPES, required=False) or InsuType.EMPLOYEE
        resident = insutype == InsuType.RESIDENT
        psn_type = reader.choice("psn_type", PSN_TYPES, required=not resident)
        region = reader.lookup("insuplc_admdvs", self._regions, NO_REGION)
        emp_no = reader.text("emp_no", required=False, max_length=30)
        emp_name = reader.text("emp_name", required=False, max_length=200)
        clct_base = reader.decimal("clct_base", required=False, min_value=0)
        begndate = reader.date("begndate")
        retire_date = reader.date("retire_date", required=False)
        psn_insu_stas = reader.choice("psn_insu_stas", INSU_STATUSES, required=False) or InsuStatus.ACTIVE
        stas_date = reader.date("stas_date", required=False)
        if resident:
            for column in RESIDENT_BLANK:
                if reader.raw(column) and reader.ok(column):
                    reader.error(column, _("resident insurance (390) has no %(column)s: leave it blank")
                                 % {"column": column})
            psn_type, emp_no, emp_name, clct_base = "", "", "", None

        if certno:
            if gend and gend != certno_gender(certno):
                reader.error("certno", _("gend %(gend)s does not match the ID number, whose 17th digit says %(want)s")
                             % {"gend": gend, "want": certno_gender(certno)})
            brdy_in_certno = certno_birth(certno)
            if brdy and brdy != brdy_in_certno:
                reader.error("certno", _("brdy %(brdy)s does not match the birth date in the ID number, %(want)s")
                             % {"brdy": brdy.isoformat(), "want": brdy_in_certno.isoformat()})
            brdy = brdy_in_certno
            gend = certno_gender(certno)
        if psn_type in RETIRED_PSN_TYPES and retire_date is None and reader.ok("retire_date"):
            reader.error("retire_date", _("person type %(type)s is retired and needs a retirement date")
                         % {"type": psn_type})
        if retire_date and brdy and retire_date < brdy:
            reader.error("retire_date", _("the retirement date %(retire)s is before the date of birth %(brdy)s")
                         % {"retire": retire_date.isoformat(), "brdy": brdy.isoformat()})
        if psn_type and psn_type not in FLEXIBLE_PSN_TYPES and not emp_no and reader.ok("emp_no"):
            reader.error("emp_no", _("person type %(type)s needs an employer; only flexible employment (1103, 1203) "
                                     "may leave emp_no blank") % {"type": psn_type})
        if psn_type and psn_type not in RETIRED_PSN_TYPES and clct_base is None and reader.ok("clct_base"):
            reader.error("clct_base", _("person type %(type)s is in service and needs a contribution base")
                         % {"type": psn_type})
        if emp_no and reader.ok("emp_no", "emp_name"):
            self._check_employer(reader, line, emp_no, emp_name)
        if psn_no and certno and reader.ok("psn_no"):
            self._check_psn_no(reader, line, psn_no, certno, instance)
        return {"certno": certno, "psn_no": psn_no, "psn_name": psn_name, "gend": gend, "brdy": brdy,
                "psn_type": psn_type, "region": region, "emp_no": emp_no, "emp_name": emp_name,
                "clct_base": clct_base, "begndate": begndate, "retire_date": retire_date,
                "psn_insu_stas": psn_insu_stas, "insutype": insutype, "stas_date": stas_date}

    def fast_validator(self, header: Sequence[str]) -> FastValidator:
        """`clean_row` for a row with nothing unusual (see `ImportResource.fast_validator`): every condition below
        is one under which `clean_row` records no error and computes these values; anything else (a bad cell, an
        ID number not already canonical, a duplicate, a date or number to check against another row, resident
        insurance with a cell to refuse) is left to `validate_row`.
        `accounts/tests/test_fastimport_roster_check.py` holds the two to the same results."""
        index = {column: i for i, column in enumerate(header)}
        absent = len(header)  # absent optional columns read as blank: the index of an extra "" cell
        (i_certno, i_psn_no, i_name, i_gend, i_brdy, i_insutype, i_type, i_admdvs, i_emp_no, i_emp_name, i_base,
         i_begn, i_retire, i_stas, i_stas_date) = (index.get(c, absent) for c in (
            "certno", "psn_no", "psn_name", "gend", "brdy", "insutype", "psn_type", "insuplc_admdvs", "emp_no",
            "emp_name", "clct_base", "begndate", "retire_date", "psn_insu_stas", "stas_date"))
        psn_no_re, date_re = re.compile(PSN_NO_PATTERN), DATE_RE
        insutypes, psn_types, statuses = set(INSUTYPES), set(PSN_TYPES), set(INSU_STATUSES)
        retired, flexible = set(RETIRED_PSN_TYPES), set(FLEXIBLE_PSN_TYPES)
        employee, resident, active = InsuType.EMPLOYEE, InsuType.RESIDENT, InsuStatus.ACTIVE
        first_line_of_key, psn_no_in_file, emp_name_in_file = (self._first_line_of_key, self._psn_no_in_file,
                                                               self._emp_name_in_file)
        longest_whole = MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES
        pad = [""] if absent in (i_insutype, i_stas_date) else []

        class Days(dict):
            """Date cells as `RowReader.date` reads them: `days[cell]` is the date, None when blank, False when it
            would refuse it; a file's dates repeat (begndate, retire_date), each is read once."""

            def __missing__(self, value: str) -> datetime.date | None | bool:
                found: datetime.date | bool = False
                if date_re.match(value):
                    try:
                        found = datetime.date.fromisoformat(value)
                    except ValueError:
                        pass
                if len(self) < 50_000:
                    self[value] = found
                return found

        days = Days({"": None})
        born_on = certno_quick_birth()
        genders = {str(d): MALE if d % 2 else FEMALE for d in range(10)}  # certno_gender by the 17th digit

        def check(line: int, cells: list[str]) -> tuple[dict[str, Any], Any] | None:
            if pad:
                cells = cells + pad
            certno = cells[i_certno]
            if not certno or certno in first_line_of_key:
                return None
            brdy = born_on(certno)
            if brdy is None:
                return None
            psn_no, psn_name, gend = cells[i_psn_no], cells[i_name], cells[i_gend]
            if psn_no and (len(psn_no) > 30 or not psn_no_re.fullmatch(psn_no)):
                return None
            if not psn_name or len(psn_name) > 50:
                return None
            want_gend = genders[certno[16]]
            if gend and gend != want_gend:
                return None  # an unknown code or one the ID number contradicts
            given = cells[i_brdy]
            if given and days[given] != brdy:
                return None
            insutype = cells[i_insutype] or employee
            if insutype not in insutypes:
                return None
            psn_type, emp_no, emp_name, base = cells[i_type], cells[i_emp_no], cells[i_emp_name], cells[i_base]
            region = self._regions.get(cells[i_admdvs]) if cells[i_admdvs] else None
            if region is None:
                return None
            begndate = days[cells[i_begn]]
            retire_date = days[cells[i_retire]]
            stas_date = days[cells[i_stas_date]]
            if not begndate or retire_date is False or stas_date is False:
                return None
            psn_insu_stas = cells[i_stas] or active
            if psn_insu_stas not in statuses:
                return None
            clct_base = None
            if insutype == resident:
                if psn_type or emp_no or emp_name or base:
                    return None
            else:
                if psn_type not in psn_types or len(emp_no) > 30 or len(emp_name) > 200:
                    return None
                if base:
                    whole, _dot, fraction = base.partition(".")
                    if (not whole.isdigit() or not whole.isascii() or len(whole) > longest_whole
                            or _dot and (not fraction.isdigit() or not fraction.isascii()
                                         or len(fraction) > MONEY_DECIMAL_PLACES)):
                        return None  # signs, spaces, exponents and the like: clean_row says what is wrong
                    clct_base = Decimal(base)
                if psn_type in retired:
                    if retire_date is None:
                        return None
                elif clct_base is None:
                    return None
                if psn_type not in flexible and not emp_no:
                    return None
            if retire_date and retire_date < brdy:
                return None
            if emp_no:
                first = emp_name_in_file.get(emp_no)
                if emp_name:
                    if first is not None and first[1] != emp_name:
                        return None
                elif first is None and emp_no not in self._employer_nos:
                    return None  # a new employer without a name
            instance = self._persons.get(certno)
            if psn_no:
                first_psn = psn_no_in_file.get(psn_no)
                owner = self._psn_no_owner.get(psn_no)
                if (first_psn is not None and first_psn[1] != certno or owner is not None and owner != certno
                        or instance is not None and instance.psn_no != psn_no):
                    return None
                psn_no_in_file.setdefault(psn_no, (line, certno))
            if emp_name:
                emp_name_in_file.setdefault(emp_no, (line, emp_name))
            first_line_of_key[certno] = line
            return ({"certno": certno, "psn_no": psn_no, "psn_name": psn_name, "gend": want_gend, "brdy": brdy,
                     "psn_type": psn_type, "region": region, "emp_no": emp_no, "emp_name": emp_name,
                     "clct_base": clct_base, "begndate": begndate, "retire_date": retire_date,
                     "psn_insu_stas": psn_insu_stas, "insutype": insutype, "stas_date": stas_date},
                    instance)

        return check

    def _check_employer(self, reader: RowReader, line: int, emp_no: str, emp_name: str) -> None:
        if not emp_name and emp_no not in self._employer_nos and emp_no not in self._emp_name_in_file:
            reader.error("emp_name", _("employer %(emp_no)s is new and needs a name") % {"emp_no": emp_no})
        if emp_name:
            first_line, first_name = self._emp_name_in_file.setdefault(emp_no, (line, emp_name))
            if first_name != emp_name:
                reader.error("emp_name", _('employer %(emp_no)s is named "%(name)s" in row %(row)d')
                             % {"emp_no": emp_no, "name": first_name, "row": first_line})

    def _check_psn_no(self, reader: RowReader, line: int, psn_no: str, certno: str, instance: Person) -> None:
        first_line, first_certno = self._psn_no_in_file.setdefault(psn_no, (line, certno))
        owner = self._psn_no_owner.get(psn_no)
        if first_certno != certno:
            reader.error("psn_no", _("person number %(psn_no)s is given to another ID number in row %(row)d")
                         % {"psn_no": psn_no, "row": first_line})
        elif owner is not None and owner != certno:
            reader.error("psn_no", _("person number %(psn_no)s belongs to another person (ID number %(certno)s)")
                         % {"psn_no": psn_no, "certno": certno_mask(owner)})
        elif instance.pk is not None and instance.psn_no != psn_no:
            reader.error("psn_no", _("this person's number is %(current)s; an import cannot change it")
                         % {"current": instance.psn_no})

    def apply_row(self, instance: Person, values: dict[str, Any]) -> bool:
        region: Region = values["region"]
        psn_no = values["psn_no"] or instance.psn_no or self._psn_nos.next(admdvs=region.admdvs)
        self._person_changed = assign(instance, psn_no=psn_no, certno=values["certno"], psn_name=values["psn_name"],
                                      gend=values["gend"], brdy=values["brdy"])
        emp_no, emp_name = values["emp_no"], values["emp_name"]
        employer = self._employers.get(emp_no) if emp_no else None
        self._employer_changed = bool(emp_no) and (employer is None or bool(emp_name)
                                                   and employer.emp_name != emp_name)
        enrollment = self._enrollments.get((instance.pk, values["insutype"])) if instance.pk else None
        if enrollment is None:
            enrollment = Enrollment(insutype=values["insutype"])
        enrollment_values = {key: values[key] for key in ("psn_type", "region", "clct_base", "begndate",
                                                          "retire_date", "psn_insu_stas")}
        self._enrollment_changed = assign(enrollment, **enrollment_values)
        stas_date = values["stas_date"]
        if stas_date is not None and enrollment.pk is not None and not any(
                (c.stas_date, c.psn_insu_stas) == (stas_date, values["psn_insu_stas"])
                for c in enrollment.status_changes.all()):
            self._enrollment_changed = True  # a dated status not recorded yet
        enrollment.stas_date = stas_date
        if employer is not None:
            self._enrollment_changed |= assign(enrollment, employer=employer)
        elif not emp_no:
            self._enrollment_changed |= enrollment.employer_id is not None
            enrollment.employer = None
        else:
            self._enrollment_changed = True  # a new employer
        self._enrollment = enrollment
        return self._person_changed or self._employer_changed or self._enrollment_changed

    def before_save_instance(self, instance: Person, row: Mapping[str, Any], **kwargs: Any) -> None:
        super().before_save_instance(instance, row, **kwargs)
        values = self._row_values
        if values["emp_no"]:
            employer, _written = employer_ensure(emp_no=values["emp_no"], emp_name=values["emp_name"],
                                                 region=values["region"], known=self._employers,
                                                 user=kwargs.get("user"))
            self._enrollment.employer = employer

    def do_instance_save(self, instance: Person, is_create: bool) -> None:
        if is_create or self._person_changed:
            instance.save(force_insert=is_create)

    def after_save_instance(self, instance: Person, row: Mapping[str, Any], **kwargs: Any) -> None:
        self._persons[instance.certno] = instance
        self._psn_no_owner[instance.psn_no] = instance.certno
        enrollment = self._enrollment
        if self._enrollment_changed:
            enrollment.person = instance
            if kwargs.get("user") is not None:
                enrollment._history_user = kwargs["user"]
            enrollment.save()
            self._enrollments[(instance.pk, enrollment.insutype)] = enrollment

    # export: the person's employee enrollment
    def _enrollment_of(self, person: Person) -> Enrollment | None:
        return next((e for e in person.enrollments.all() if e.insutype == InsuType.EMPLOYEE), None)

    def get_queryset(self) -> Any:
        return Person.objects.prefetch_related("enrollments__employer", "enrollments__region")

    def dehydrate_psn_type(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.psn_type if enrollment else ""

    def dehydrate_insuplc_admdvs(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.region.admdvs if enrollment else ""

    def dehydrate_emp_no(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.employer.emp_no if enrollment and enrollment.employer else ""

    def dehydrate_emp_name(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.employer.emp_name if enrollment and enrollment.employer else ""

    def dehydrate_clct_base(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return "" if enrollment is None or enrollment.clct_base is None else str(enrollment.clct_base)

    def dehydrate_begndate(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.begndate.isoformat() if enrollment else ""

    def dehydrate_retire_date(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.retire_date.isoformat() if enrollment and enrollment.retire_date else ""

    def dehydrate_psn_insu_stas(self, person: Person) -> str:
        enrollment = self._enrollment_of(person)
        return enrollment.psn_insu_stas if enrollment else ""


class FamilyLinkResource(ImportResource):
    """Family mutual-aid links (key holder + relative); a relative who is not yet a person is created uninsured."""

    columns = ("holder_psn_no", "relative_certno", "relative_name", "relation", "begndate", "enddate")
    key_columns = ("holder_psn_no", "relative_certno")

    holder_psn_no = Field(attribute="holder__psn_no", column_name="holder_psn_no")
    relative_certno = Field(attribute="relative__certno", column_name="relative_certno")
    relative_name = Field(attribute="relative__psn_name", column_name="relative_name")
    relation = Field(attribute="relation", column_name="relation")
    begndate = Field(attribute="begndate", column_name="begndate", widget=DATE)
    enddate = Field(attribute="enddate", column_name="enddate", widget=DATE)

    class Meta(ImportResource.Meta):
        model = FamilyLink
        fields = ("holder_psn_no", "relative_certno", "relative_name", "relation", "begndate", "enddate")
        import_id_fields = ("holder_psn_no", "relative_certno")
        name = gettext_lazy("Family links")

    def row_key(self, row: Mapping[str, Any]) -> tuple[str, ...]:
        return (str(row.get("holder_psn_no") or "").strip(), _certno_key(row.get("relative_certno")))

    def preload_for_validation(self, dataset: tablib.Dataset) -> None:
        """What `clean_row` reads: the holders and the relatives who are persons already. The streaming engine
        validates with this alone (its writer reads links, orders and regions set-based), so `find_instance` finds
        no link there: every row is validated as a new one, which `clean_row` does not distinguish anyway."""
        holders = preload(Person.objects.all(), "psn_no", _column(dataset, "holder_psn_no"))
        relatives = preload(Person.objects.all(), "certno", [_certno_key(v) for v in _column(dataset,
                                                                                             "relative_certno")])
        self._holders = {p.psn_no: p for p in holders}
        self._relatives = {p.certno: p for p in relatives}
        self._links: dict[tuple[int, int], FamilyLink] = {}

    def preload(self, dataset: tablib.Dataset) -> None:
        self.preload_for_validation(dataset)
        holders, relatives = self._holders.values(), self._relatives.values()
        self._links = {(link.holder_id, link.relative_id): link
                       for link in preload(FamilyLink.objects.all(), "holder_id", {p.pk for p in holders})}
        self._max_order: dict[int, int] = {}
        for batch in chunked(sorted({p.pk for p in relatives})):
            self._max_order.update(FamilyLink.objects.filter(relative_id__in=batch).values("relative_id")
                                   .annotate(m=Max("order")).values_list("relative_id", "m"))
        self._holder_region = dict(preload(Enrollment.objects.filter(insutype=InsuType.EMPLOYEE)
                                           .values_list("person_id", "region__admdvs"),
                                           "person_id", {p.pk for p in holders}))
        self._psn_nos = PsnNoSequence()

    def begin_file(self) -> None:
        super().begin_file()
        self._new_relatives_in_file: set[str] = set()

    def find_instance(self, row: Mapping[str, Any]) -> FamilyLink | None:
        holder = self._holders.get(str(row.get("holder_psn_no") or "").strip())
        relative = self._relatives.get(_certno_key(row.get("relative_certno")))
        if holder is None or relative is None:
            return None
        return self._links.get((holder.pk, relative.pk))

    def clean_row(self, reader: RowReader, instance: FamilyLink, line: int) -> dict[str, Any]:
        holder = reader.lookup("holder_psn_no", self._holders, NO_PERSON)
        certno = reader.certno("relative_certno")
        relative = self._relatives.get(certno) if certno else None
        named_before = certno in self._new_relatives_in_file
        relative_name = reader.text("relative_name", required=relative is None and bool(certno) and not named_before,
                                    max_length=50)
        if relative is None and certno and relative_name:
            self._new_relatives_in_file.add(certno)
        relation = reader.choice("relation", RELATIONS)
        begndate = reader.date("begndate")
        enddate = reader.date("enddate", required=False)
        reader.period("enddate", begndate, enddate)
        if holder is not None and certno and holder.certno == certno:
            reader.error("relative_certno", _("a person cannot be linked to themselves"))
        return {"holder": holder, "certno": certno, "relative": relative, "relative_name": relative_name,
                "relation": relation, "begndate": begndate, "enddate": enddate}

    def apply_row(self, instance: FamilyLink, values: dict[str, Any]) -> bool:
        self._new_relative = values["relative"] is None
        changed = assign(instance, relation=values["relation"], begndate=values["begndate"],
                         enddate=values["enddate"])
        if instance.pk is None:
            instance.holder = values["holder"]
            changed = True
        return changed

    def before_save_instance(self, instance: FamilyLink, row: Mapping[str, Any], **kwargs: Any) -> None:
        super().before_save_instance(instance, row, **kwargs)
        values = self._row_values
        relative = values["relative"]
        if relative is None:
            certno = values["certno"]
            admdvs = self._holder_region.get(values["holder"].pk) or f"{certno[:2]}0000"
            relative = person_create_uninsured(certno=certno, psn_name=values["relative_name"],
                                               psn_no=self._psn_nos.next(admdvs=admdvs), user=kwargs.get("user"))
            self._relatives[certno] = relative
        if instance.pk is None:
            instance.relative = relative
            instance.order = self._max_order.get(relative.pk, 0) + 1
            self._max_order[relative.pk] = instance.order

    def after_save_instance(self, instance: FamilyLink, row: Mapping[str, Any], **kwargs: Any) -> None:
        self._links[(instance.holder_id, instance.relative_id)] = instance



# --- personal accounts: contributions and opening balances ---------------------------------------------------------

PERIOD_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"


def _period(value: str) -> datetime.date:
    return datetime.date.fromisoformat(f"{value}-01")


class ContributionResource(ImportResource):
    """Paid monthly contributions, key psn_no + period (YYYY-MM). They earn the in-service credits; a
    contribution whose credit has landed can no longer change."""

    columns = ("psn_no", "period", "clct_base", "psn_clct_amt", "emp_clct_amt")
    key_columns = ("psn_no", "period")

    psn_no = Field(attribute="person__psn_no", column_name="psn_no")
    period = Field(column_name="period")
    clct_base = Field(attribute="clct_base", column_name="clct_base")
    psn_clct_amt = Field(attribute="psn_clct_amt", column_name="psn_clct_amt")
    emp_clct_amt = Field(attribute="emp_clct_amt", column_name="emp_clct_amt")

    class Meta(ImportResource.Meta):
        model = Contribution
        fields = ("psn_no", "period", "clct_base", "psn_clct_amt", "emp_clct_amt")
        import_id_fields = ("psn_no", "period")
        name = gettext_lazy("Contributions")

    def dehydrate_period(self, obj: Contribution) -> str:
        return f"{obj.period:%Y-%m}"

    @property
    def duplicate_column(self) -> str:
        return "period"

    def preload(self, dataset: tablib.Dataset) -> None:
        self._persons = {p.psn_no: p for p in preload(Person.objects.all(), "psn_no", _column(dataset, "psn_no"))}
        person_ids = {p.pk for p in self._persons.values()}
        self._contributions = {(c.person_id, f"{c.period:%Y-%m}"): c
                               for c in preload(Contribution.objects.all(), "person_id", person_ids)}
        self._credited = {(account_person, f"{period:%Y-%m}") for account_person, period in
                          preload(LedgerEntry.objects.filter(kind=EntryKind.CREDIT_IN_SERVICE)
                                  .values_list("account__person_id", "period"), "account__person_id", person_ids)}

    def find_instance(self, row: Mapping[str, Any]) -> Contribution | None:
        person = self._persons.get(str(row.get("psn_no") or "").strip())
        return None if person is None else self._contributions.get((person.pk, str(row.get("period") or "").strip()))

    def clean_row(self, reader: RowReader, instance: Contribution, line: int) -> dict[str, Any]:
        person = reader.lookup("psn_no", self._persons, NO_PERSON)
        period = reader.text("period", pattern=PERIOD_PATTERN,
                             pattern_message=_("a period is a month in the form YYYY-MM"))
        values = {"person": person, "period": _period(period) if period and reader.ok("period") else None,
                  "clct_base": reader.decimal("clct_base", min_value=Decimal(0)),
                  "psn_clct_amt": reader.decimal("psn_clct_amt", min_value=Decimal(0)),
                  "emp_clct_amt": reader.decimal("emp_clct_amt", min_value=Decimal(0))}
        if instance.pk is not None and reader.ok() and (person.pk, period) in self._credited:
            changed = any(getattr(instance, k) != values[k] for k in ("clct_base", "psn_clct_amt", "emp_clct_amt"))
            if changed:
                reader.error("clct_base", _("the credit for %(period)s has been made from this contribution; it "
                                            "cannot change (post a correction instead)") % {"period": period})
        return values

    def apply_row(self, instance: Contribution, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: Contribution, row: Mapping[str, Any], **kwargs: Any) -> None:
        self._contributions[(instance.person_id, f"{instance.period:%Y-%m}")] = instance


class BalanceResource(ImportResource):
    """Opening balances from a former system, key psn_no + pocket. The first import posts an opening-balance entry;
    the same amount again is unchanged. An opening balance is set once (one per pocket, `ledger_opening_once`): a
    row with another amount for a pocket that has one is refused, naming it, for a change of money is a
    correction, which a second person approves (account adjustments); the import never posts one. A row is refused
    for an account that has any entry other than an opening balance (CONTRACT.md: a credit, a payment, a
    correction): the account is live. Money moves: through the admin, a second person approves the file before it
    is imported."""

    moves_money = True

    columns = ("psn_no", "pocket", "amount", "as_of")
    key_columns = ("psn_no", "pocket")

    psn_no = Field(attribute="account__person__psn_no", column_name="psn_no")
    pocket = Field(attribute="pocket", column_name="pocket")
    amount = Field(attribute="amount", column_name="amount")
    as_of = Field(attribute="period", column_name="as_of", widget=DATE)

    class Meta(ImportResource.Meta):
        model = LedgerEntry
        fields = ("psn_no", "pocket", "amount", "as_of")
        import_id_fields = ("psn_no", "pocket")
        name = gettext_lazy("Opening balances")

    @property
    def duplicate_column(self) -> str:
        return "pocket"

    def preload_for_validation(self, dataset: tablib.Dataset) -> None:
        """What `clean_row` reads: the persons, the regions of their employee enrollments, whether their accounts
        are live and the amounts of their pockets' opening balances. The streaming engine validates with this alone
        (its writer reads the ledger set-based, and checks again under the accounts' locks), so `find_instance`
        finds no opening entry there: `clean_row` reads the amounts instead."""
        persons = preload(Person.objects.all(), "psn_no", _column(dataset, "psn_no"))
        self._persons = {p.psn_no: p for p in persons}
        ids = {p.pk for p in persons}
        self._regions = dict(preload(Enrollment.objects.filter(insutype=InsuType.EMPLOYEE)
                                     .values_list("person_id", "region__admdvs"), "person_id", ids))
        self._live = persons_with_live_accounts(ids)
        self._opening_amounts = {(person_id, pocket): amount for person_id, pocket, amount in preload(
            LedgerEntry.objects.filter(kind=EntryKind.OPENING_BALANCE).values_list("account__person_id", "pocket",
                                                                                   "amount"),
            "account__person_id", ids)}
        self._openings: dict[tuple[int, str], LedgerEntry] = {}

    def preload(self, dataset: tablib.Dataset) -> None:
        self.preload_for_validation(dataset)
        ids = {p.pk for p in self._persons.values()}
        self._openings = {(e.account.person_id, e.pocket): e for e in preload(
            LedgerEntry.objects.filter(kind=EntryKind.OPENING_BALANCE).select_related("account"),
            "account__person_id", ids)}
        self._accounts = set(preload(PersonalAccount.objects.values_list("person_id", flat=True), "person_id", ids))

    def begin_file(self) -> None:
        super().begin_file()
        self._two_pockets: dict[str, bool | None] = {}

    def find_instance(self, row: Mapping[str, Any]) -> LedgerEntry | None:
        person = self._persons.get(str(row.get("psn_no") or "").strip())
        return None if person is None else self._openings.get((person.pk, str(row.get("pocket") or "").strip()))

    def _keeps_two_pockets(self, admdvs: str, day: datetime.date) -> bool | None:
        key = f"{admdvs}:{day}"
        if key not in self._two_pockets:
            try:
                self._two_pockets[key] = policy_version_in_force(admdvs, day).two_pockets
            except PolicyError:
                self._two_pockets[key] = None
        return self._two_pockets[key]

    def clean_row(self, reader: RowReader, instance: LedgerEntry, line: int) -> dict[str, Any]:
        person = reader.lookup("psn_no", self._persons, NO_PERSON)
        pocket = reader.choice("pocket", ["current", "historical"])
        amount = reader.decimal("amount", min_value=Decimal(0))
        as_of = reader.date("as_of")
        if person is not None and person.pk not in self._regions:
            reader.error("psn_no", _("%(psn_no)s has no employee insurance, so no personal account")
                         % {"psn_no": person.psn_no})
        elif person is not None and person.pk in self._live:
            reader.error("psn_no", _(LIVE_ACCOUNT) % {"psn_no": person.psn_no})
        elif person is not None and pocket == "current" and as_of is not None:
            if self._keeps_two_pockets(self._regions[person.pk], as_of) is False:
                reader.error("pocket", _("the policy of region %(admdvs)s keeps one pocket: use historical")
                             % {"admdvs": self._regions[person.pk]})
        if person is not None and amount is not None and reader.ok("psn_no", "pocket"):
            opening = self._opening_amounts.get((person.pk, pocket))
            if opening is not None and opening != amount:
                reader.error("amount", _(OPENING_SET) % {"pocket": pocket, "psn_no": person.psn_no, "opening": opening})
        return {"person": person, "pocket": pocket, "amount": amount, "as_of": as_of}

    def apply_row(self, instance: LedgerEntry, values: dict[str, Any]) -> bool:
        self._values = values
        if (values["person"].pk, values["pocket"]) in self._opening_amounts:
            return False  # its opening balance again (another amount was refused): nothing to post
        if values["amount"] == 0:
            return values["person"].pk not in self._accounts  # nothing to post: new only if it opens the account
        return True

    def save_instance(self, instance: LedgerEntry, is_create: bool, row: Mapping[str, Any], **kwargs: Any) -> None:
        values, user = self._values, kwargs.get("user")
        person, pocket = values["person"], values["pocket"]
        key = (person.pk, pocket)
        account = accounts_lock(person_ids=[person.pk])[person.pk]
        if values["amount"] == 0:
            return
        self._openings[key] = ledger_post(account=account, pocket=pocket, amount=values["amount"],
                                          kind=EntryKind.OPENING_BALANCE, period=values["as_of"],
                                          ref_type=BALANCES_IMPORT,
                                          reason=gettext("opening balance from the former system"), user=user)
        self._opening_amounts[key] = values["amount"]

