"""Imports of facilities, the catalogs, disease recognitions and cross-region filings (CONTRACT.md "Import
kinds")."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import tablib
from django.utils.translation import gettext_lazy
from import_export.fields import Field
from import_export.widgets import BooleanWidget, DateWidget

from accounts.models import Person
from claims.models import (
    ADMDVS_PATTERN,
    RECOGNITION_LIVE,
    CrossRegionFiling,
    Disease,
    Facility,
    FacilityType,
    FilingType,
    HospitalLevel,
    Item,
    ItemClass,
    Recognition,
)
from core.imports import ImportResource, RowReader, assign, preload
from core.imports.messages import stored_gettext as _
from policies.models import Region

DATE = DateWidget(format="%Y-%m-%d")
FLAG = BooleanWidget()  # exported as 1 / 0, as the flag columns are imported
DISEASE_CODE_PATTERN = r"M\d{5}"


def _column(dataset: tablib.Dataset, name: str) -> list[str]:
    return [str(v or "").strip() for v in dataset[name]] if dataset.height else []


def _cell(row: Mapping[str, Any], column: str) -> str:
    return str(row.get(column) or "").strip()


class FacilityResource(ImportResource):
    """Designated facilities, key fixmedins_code. Optional column `online_flag` (`1`: designated for online
    follow-up visits; blank or absent `0`)."""

    columns = ("fixmedins_code", "fixmedins_name", "fixmedins_type", "hosp_lv", "admdvs", "begndate", "enddate")
    optional_columns = ("online_flag",)
    key_columns = ("fixmedins_code",)

    fixmedins_code = Field(attribute="fixmedins_code", column_name="fixmedins_code")
    fixmedins_name = Field(attribute="fixmedins_name", column_name="fixmedins_name")
    fixmedins_type = Field(attribute="fixmedins_type", column_name="fixmedins_type")
    hosp_lv = Field(attribute="hosp_lv", column_name="hosp_lv")
    admdvs = Field(attribute="region__admdvs", column_name="admdvs")
    begndate = Field(attribute="begndate", column_name="begndate", widget=DATE)
    enddate = Field(attribute="enddate", column_name="enddate", widget=DATE)
    online_flag = Field(attribute="online_service", column_name="online_flag", widget=FLAG)

    class Meta(ImportResource.Meta):
        model = Facility
        fields = ("fixmedins_code", "fixmedins_name", "fixmedins_type", "hosp_lv", "admdvs", "begndate", "enddate",
                  "online_flag")
        import_id_fields = ("fixmedins_code",)
        name = gettext_lazy("Designated facilities")

    def preload(self, dataset: tablib.Dataset) -> None:
        self._regions = {r.admdvs: r for r in Region.objects.all()}
        self._facilities = {f.fixmedins_code: f for f in preload(Facility.objects.all(), "fixmedins_code",
                                                                 _column(dataset, "fixmedins_code"))}

    def find_instance(self, row: Mapping[str, Any]) -> Facility | None:
        return self._facilities.get(_cell(row, "fixmedins_code"))

    def clean_row(self, reader: RowReader, instance: Facility, line: int) -> dict[str, Any]:
        values = {
            "fixmedins_code": reader.text("fixmedins_code", max_length=30, pattern=r"[0-9A-Za-z]+",
                                          pattern_message=_("a facility code has letters and digits only")),
            "fixmedins_name": reader.text("fixmedins_name", max_length=200),
            "fixmedins_type": reader.choice("fixmedins_type", FacilityType.values),
            "region": reader.lookup("admdvs", self._regions, _("no region has the code %(value)s")),
            "begndate": reader.date("begndate"),
            "enddate": reader.date("enddate", required=False),
            "online_service": reader.flag("online_flag"),
        }
        hosp_lv = reader.raw("hosp_lv")
        if values["fixmedins_type"] == FacilityType.MEDICAL_INSTITUTION and hosp_lv not in HospitalLevel.values:
            reader.error("hosp_lv", _("a medical institution (type 1) needs a hospital level 1, 2 or 3"))
        elif values["fixmedins_type"] == FacilityType.RETAIL_PHARMACY and hosp_lv:
            reader.error("hosp_lv", _("a retail pharmacy (type 2) has no hospital level; leave hosp_lv blank"))
        values["hosp_lv"] = hosp_lv
        reader.period("enddate", values["begndate"], values["enddate"])
        return values

    def apply_row(self, instance: Facility, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: Facility, row: Mapping[str, Any], **kwargs: Any) -> None:
        self._facilities[instance.fixmedins_code] = instance


class ItemResource(ImportResource):
    """The item catalog, key item_code. Optional flag columns `acct_pay_forbidden` (no account may pay: out of
    scope, cash only) and `sep_pay_flag` (a negotiated drug paid separately); blank or absent `0`."""

    columns = ("item_code", "item_name", "chrg_item_lv", "selfpay_prop", "pric_uplmt_amt")
    optional_columns = ("acct_pay_forbidden", "sep_pay_flag")
    key_columns = ("item_code",)

    item_code = Field(attribute="item_code", column_name="item_code")
    item_name = Field(attribute="item_name", column_name="item_name")
    chrg_item_lv = Field(attribute="chrg_item_lv", column_name="chrg_item_lv")
    selfpay_prop = Field(attribute="selfpay_prop", column_name="selfpay_prop")
    pric_uplmt_amt = Field(attribute="pric_uplmt_amt", column_name="pric_uplmt_amt")
    acct_pay_forbidden = Field(attribute="acct_pay_forbidden", column_name="acct_pay_forbidden", widget=FLAG)
    sep_pay_flag = Field(attribute="sep_pay_flag", column_name="sep_pay_flag", widget=FLAG)

    class Meta(ImportResource.Meta):
        model = Item
        fields = ("item_code", "item_name", "chrg_item_lv", "selfpay_prop", "pric_uplmt_amt", "acct_pay_forbidden",
                  "sep_pay_flag")
        import_id_fields = ("item_code",)
        name = gettext_lazy("Catalog items")

    def preload(self, dataset: tablib.Dataset) -> None:
        self._items = {i.item_code: i for i in preload(Item.objects.all(), "item_code", _column(dataset, "item_code"))}

    def find_instance(self, row: Mapping[str, Any]) -> Item | None:
        return self._items.get(_cell(row, "item_code"))

    def clean_row(self, reader: RowReader, instance: Item, line: int) -> dict[str, Any]:
        selfpay_prop = reader.decimal("selfpay_prop", required=False, places=4, max_digits=5,
                                      min_value=Decimal(0), max_value=Decimal(1))
        return {
            "item_code": reader.text("item_code", max_length=50),
            "item_name": reader.text("item_name", max_length=200),
            "chrg_item_lv": reader.choice("chrg_item_lv", ItemClass.values),
            "selfpay_prop": Decimal(0) if selfpay_prop is None else selfpay_prop,
            "pric_uplmt_amt": reader.decimal("pric_uplmt_amt", required=False, min_value=Decimal(0)),
            "acct_pay_forbidden": reader.flag("acct_pay_forbidden"),
            "sep_pay_flag": reader.flag("sep_pay_flag"),
        }

    def apply_row(self, instance: Item, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: Item, row: Mapping[str, Any], **kwargs: Any) -> None:
        self._items[instance.item_code] = instance


class DiseaseResource(ImportResource):
    """The chronic and special disease catalog, key opsp_dise_code."""

    columns = ("opsp_dise_code", "opsp_dise_name", "opsp_dise_majcls_name", "recognition_criteria")
    key_columns = ("opsp_dise_code",)

    opsp_dise_code = Field(attribute="opsp_dise_code", column_name="opsp_dise_code")
    opsp_dise_name = Field(attribute="opsp_dise_name", column_name="opsp_dise_name")
    opsp_dise_majcls_name = Field(attribute="opsp_dise_majcls_name", column_name="opsp_dise_majcls_name")
    recognition_criteria = Field(attribute="recognition_criteria", column_name="recognition_criteria")

    class Meta(ImportResource.Meta):
        model = Disease
        fields = ("opsp_dise_code", "opsp_dise_name", "opsp_dise_majcls_name", "recognition_criteria")
        import_id_fields = ("opsp_dise_code",)
        name = gettext_lazy("Chronic and special diseases")

    def preload(self, dataset: tablib.Dataset) -> None:
        self._diseases = {d.opsp_dise_code: d for d in Disease.objects.all()}

    def find_instance(self, row: Mapping[str, Any]) -> Disease | None:
        return self._diseases.get(_cell(row, "opsp_dise_code"))

    def clean_row(self, reader: RowReader, instance: Disease, line: int) -> dict[str, Any]:
        return {
            "opsp_dise_code": reader.text("opsp_dise_code", pattern=DISEASE_CODE_PATTERN,
                                          pattern_message=_("a disease code is M and five digits, e.g. M03900")),
            "opsp_dise_name": reader.text("opsp_dise_name", max_length=100),
            "opsp_dise_majcls_name": reader.text("opsp_dise_majcls_name", required=False, max_length=100),
            "recognition_criteria": reader.text("recognition_criteria", required=False),
        }

    def apply_row(self, instance: Disease, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: Disease, row: Mapping[str, Any], **kwargs: Any) -> None:
        self._diseases[instance.opsp_dise_code] = instance


class RecognitionResource(ImportResource):
    """Disease recognitions, key psn_no + opsp_dise_code + fixmedins_code + begndate; enddate may change. A new row
    is an approved recognition (imported as it is); a row whose key an application still under review holds changes
    that application's end date only."""

    columns = ("psn_no", "opsp_dise_code", "fixmedins_code", "begndate", "enddate")
    key_columns = ("psn_no", "opsp_dise_code", "fixmedins_code", "begndate")

    psn_no = Field(attribute="person__psn_no", column_name="psn_no")
    opsp_dise_code = Field(attribute="disease__opsp_dise_code", column_name="opsp_dise_code")
    fixmedins_code = Field(attribute="facility__fixmedins_code", column_name="fixmedins_code")
    begndate = Field(attribute="begndate", column_name="begndate", widget=DATE)
    enddate = Field(attribute="enddate", column_name="enddate", widget=DATE)

    class Meta(ImportResource.Meta):
        model = Recognition
        fields = ("psn_no", "opsp_dise_code", "fixmedins_code", "begndate", "enddate")
        import_id_fields = ("psn_no", "opsp_dise_code", "fixmedins_code", "begndate")
        name = gettext_lazy("Disease recognitions")

    @property
    def duplicate_column(self) -> str:
        return "psn_no"

    def preload(self, dataset: tablib.Dataset) -> None:
        self._persons = {p.psn_no: p for p in preload(Person.objects.all(), "psn_no", _column(dataset, "psn_no"))}
        self._diseases = {d.opsp_dise_code: d for d in Disease.objects.all()}
        self._facilities = {f.fixmedins_code: f for f in preload(Facility.objects.all(), "fixmedins_code",
                                                                 _column(dataset, "fixmedins_code"))}
        self._recognitions = {(r.person_id, r.disease_id, r.facility_id, r.begndate.isoformat()): r
                              for r in preload(Recognition.objects.filter(status__in=RECOGNITION_LIVE), "person_id",
                                               {p.pk for p in self._persons.values()})}

    def find_instance(self, row: Mapping[str, Any]) -> Recognition | None:
        person = self._persons.get(_cell(row, "psn_no"))
        disease = self._diseases.get(_cell(row, "opsp_dise_code"))
        facility = self._facilities.get(_cell(row, "fixmedins_code"))
        if person is None or disease is None or facility is None:
            return None
        return self._recognitions.get((person.pk, disease.pk, facility.pk, _cell(row, "begndate")))

    def clean_row(self, reader: RowReader, instance: Recognition, line: int) -> dict[str, Any]:
        person = reader.lookup("psn_no", self._persons, _("no person has the number %(value)s"))
        disease = None
        if reader.text("opsp_dise_code", pattern=DISEASE_CODE_PATTERN,
                       pattern_message=_("a disease code is M and five digits, e.g. M03900")):
            if reader.ok("opsp_dise_code"):
                disease = reader.lookup("opsp_dise_code", self._diseases,
                                        _("disease %(value)s is not in the catalog"))
        facility = reader.lookup("fixmedins_code", self._facilities, _("no facility has the code %(value)s"))
        begndate = reader.date("begndate")
        enddate = reader.date("enddate", required=False)
        reader.period("enddate", begndate, enddate)
        return {"person": person, "disease": disease, "facility": facility, "begndate": begndate,
                "enddate": enddate}

    def apply_row(self, instance: Recognition, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: Recognition, row: Mapping[str, Any], **kwargs: Any) -> None:
        key = (instance.person_id, instance.disease_id, instance.facility_id, instance.begndate.isoformat())
        self._recognitions[key] = instance


class CrossRegionFilingResource(ImportResource):
    """Cross-region filings (异地就医备案), key psn_no + mdtrtarea_admvs + filing_type + begndate; enddate may
    change. `mdtrtarea_admvs` is the region of treatment, a region code or a province code (370000) covering all its
    regions."""

    columns = ("psn_no", "mdtrtarea_admvs", "filing_type", "begndate", "enddate")
    key_columns = ("psn_no", "mdtrtarea_admvs", "filing_type", "begndate")

    psn_no = Field(attribute="person__psn_no", column_name="psn_no")
    mdtrtarea_admvs = Field(attribute="mdtrtarea_admvs", column_name="mdtrtarea_admvs")
    filing_type = Field(attribute="filing_type", column_name="filing_type")
    begndate = Field(attribute="begndate", column_name="begndate", widget=DATE)
    enddate = Field(attribute="enddate", column_name="enddate", widget=DATE)

    class Meta(ImportResource.Meta):
        model = CrossRegionFiling
        fields = ("psn_no", "mdtrtarea_admvs", "filing_type", "begndate", "enddate")
        import_id_fields = ("psn_no", "mdtrtarea_admvs", "filing_type", "begndate")
        name = gettext_lazy("Cross-region filings")

    @property
    def duplicate_column(self) -> str:
        return "psn_no"

    def preload(self, dataset: tablib.Dataset) -> None:
        self._persons = {p.psn_no: p for p in preload(Person.objects.all(), "psn_no", _column(dataset, "psn_no"))}
        self._filings = {(f.person_id, f.mdtrtarea_admvs, f.filing_type, f.begndate.isoformat()): f
                         for f in preload(CrossRegionFiling.objects.all(), "person_id",
                                          {p.pk for p in self._persons.values()})}

    def find_instance(self, row: Mapping[str, Any]) -> CrossRegionFiling | None:
        person = self._persons.get(_cell(row, "psn_no"))
        if person is None:
            return None
        return self._filings.get((person.pk, _cell(row, "mdtrtarea_admvs"), _cell(row, "filing_type"),
                                  _cell(row, "begndate")))

    def clean_row(self, reader: RowReader, instance: CrossRegionFiling, line: int) -> dict[str, Any]:
        person = reader.lookup("psn_no", self._persons, _("no person has the number %(value)s"))
        mdtrtarea_admvs = reader.text("mdtrtarea_admvs", pattern=ADMDVS_PATTERN[1:-1],
                                      pattern_message=_("a region code is six digits, e.g. 310000 or 370000"))
        filing_type = reader.choice("filing_type", FilingType.values)
        begndate = reader.date("begndate")
        enddate = reader.date("enddate", required=False)
        reader.period("enddate", begndate, enddate)
        return {"person": person, "mdtrtarea_admvs": mdtrtarea_admvs, "filing_type": filing_type,
                "begndate": begndate, "enddate": enddate}

    def apply_row(self, instance: CrossRegionFiling, values: dict[str, Any]) -> bool:
        return assign(instance, **values)

    def after_save_instance(self, instance: CrossRegionFiling, row: Mapping[str, Any], **kwargs: Any) -> None:
        key = (instance.person_id, instance.mdtrtarea_admvs, instance.filing_type, instance.begndate.isoformat())
        self._filings[key] = instance
