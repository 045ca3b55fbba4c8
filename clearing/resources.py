"""The `signings` import kind (CONTRACT.md "Import kinds"): primary-care contracts, key psn_no + fixmedins_code +
begndate; enddate may change."""

import datetime
from collections.abc import Mapping
from typing import Any

import tablib
from django.utils.translation import gettext_lazy
from import_export.fields import Field
from import_export.widgets import DateWidget

from accounts.models import Person
from claims.models import Facility
from clearing.models import Signing, periods_meet
from core.imports import ImportResource, RowReader, assign, preload
from core.imports.messages import stored_gettext as _
from core.imports.messages import stored_pgettext as pgettext

DATE = DateWidget(format="%Y-%m-%d")


def _column(dataset: tablib.Dataset, name: str) -> list[str]:
    return [str(v or "").strip() for v in dataset[name]] if dataset.height else []


def _cell(row: Mapping[str, Any], column: str) -> str:
    return str(row.get(column) or "").strip()


class SigningResource(ImportResource):
    """Primary-care signings. A person is signed with one facility at a time: a row whose period meets another
    facility's signing of the same person (in the database, or in an earlier row of the file) is refused; a file
    that moves people lists the rows ending the old signings first."""

    columns = ("psn_no", "fixmedins_code", "begndate", "enddate")
    key_columns = ("psn_no", "fixmedins_code", "begndate")

    psn_no = Field(attribute="person__psn_no", column_name="psn_no")
    fixmedins_code = Field(attribute="facility__fixmedins_code", column_name="fixmedins_code")
    begndate = Field(attribute="begndate", column_name="begndate", widget=DATE)
    enddate = Field(attribute="enddate", column_name="enddate", widget=DATE)

    class Meta(ImportResource.Meta):
        model = Signing
        fields = ("psn_no", "fixmedins_code", "begndate", "enddate")
        import_id_fields = ("psn_no", "fixmedins_code", "begndate")
        name = gettext_lazy("Primary-care signings")

    @property
    def duplicate_column(self) -> str:
        return "psn_no"

    def begin_file(self) -> None:
        super().begin_file()
        # person id -> {(facility id, begndate): enddate}: the signings as the file has said so far.
        self._periods: dict[int, dict[tuple[int, datetime.date], datetime.date | None]] = {}

    def preload(self, dataset: tablib.Dataset) -> None:
        self._persons = {p.psn_no: p for p in preload(Person.objects.all(), "psn_no", _column(dataset, "psn_no"))}
        self._facilities = {f.fixmedins_code: f for f in preload(Facility.objects.all(), "fixmedins_code",
                                                                 _column(dataset, "fixmedins_code"))}
        self._signings = {}
        for signing in preload(Signing.objects.all(), "person_id", {p.pk for p in self._persons.values()}):
            self._signings[(signing.person_id, signing.facility_id, signing.begndate.isoformat())] = signing
            self._periods.setdefault(signing.person_id, {}).setdefault((signing.facility_id, signing.begndate),
                                                                        signing.enddate)

    def find_instance(self, row: Mapping[str, Any]) -> Signing | None:
        person = self._persons.get(_cell(row, "psn_no"))
        facility = self._facilities.get(_cell(row, "fixmedins_code"))
        if person is None or facility is None:
            return None
        return self._signings.get((person.pk, facility.pk, _cell(row, "begndate")))

    def clean_row(self, reader: RowReader, instance: Signing, line: int) -> dict[str, Any]:
        person = reader.lookup("psn_no", self._persons, _("no person has the number %(value)s"))
        facility = reader.lookup("fixmedins_code", self._facilities, _("no facility has the code %(value)s"))
        if facility is not None and facility.is_pharmacy:
            reader.error("fixmedins_code", _("%(code)s is a pharmacy: enrollees sign with a medical institution")
                         % {"code": facility.fixmedins_code})
        begndate = reader.date("begndate")
        enddate = reader.date("enddate", required=False)
        reader.period("enddate", begndate, enddate)
        if reader.ok() and person is not None and facility is not None and begndate is not None:
            periods = self._periods.setdefault(person.pk, {})
            clash = next(((begin, end) for (facility_id, begin), end in periods.items()
                          if facility_id != facility.pk and periods_meet(begin, end, begndate, enddate)), None)
            if clash is None:
                periods[(facility.pk, begndate)] = enddate
            else:
                reader.error("begndate", _("%(psn_no)s is signed with another facility from %(begin)s to %(end)s; "
                                           "end that signing first (in a row before this one)")
                             % {"psn_no": person.psn_no, "begin": clash[0],
                                "end": clash[1] or pgettext("period end", "open")})
        return {"person": person, "facility": facility, "begndate": begndate, "enddate": enddate}

    def apply_row(self, instance: Signing, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: Signing, row: Mapping[str, Any], **kwargs: Any) -> None:
        key = (instance.person_id, instance.facility_id, instance.begndate.isoformat())
        self._signings[key] = instance
