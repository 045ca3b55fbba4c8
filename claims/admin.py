"""Staff admin for designated facilities, the disease and item catalogs, and disease recognitions."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin

from claims.models import Disease, Facility, Item, Recognition
from claims.resources import DiseaseResource, FacilityResource, ItemResource, RecognitionResource
from core.admin import CertnoMaskMixin, HistoryAdmin, PersonSearchMixin


@admin.register(Facility)
class FacilityAdmin(ImportExportMixin, HistoryAdmin):
    resource_classes = [FacilityResource]
    list_display = ["fixmedins_code", "fixmedins_name", "fixmedins_type", "hosp_lv", "region", "begndate", "enddate"]
    list_filter = ["region", "fixmedins_type", "hosp_lv"]
    list_select_related = ["region"]
    search_fields = ["=fixmedins_code", "^fixmedins_name"]
    search_help_text = _("Facility code, or the start of the name.")


@admin.register(Disease)
class DiseaseAdmin(ImportExportMixin, HistoryAdmin):
    resource_classes = [DiseaseResource]
    list_display = ["opsp_dise_code", "opsp_dise_name", "opsp_dise_majcls_name"]
    list_filter = ["opsp_dise_majcls_name"]
    search_fields = ["=opsp_dise_code", "opsp_dise_name"]
    search_help_text = _("Disease code, or part of the name.")


@admin.register(Item)
class ItemAdmin(ImportExportMixin, HistoryAdmin):
    resource_classes = [ItemResource]
    list_display = ["item_code", "item_name", "chrg_item_lv", "selfpay_prop", "pric_uplmt_amt"]
    list_filter = ["chrg_item_lv"]
    search_fields = ["=item_code", "^item_name"]
    search_help_text = _("Item code, or the start of the name.")


@admin.register(Recognition)
class RecognitionAdmin(CertnoMaskMixin, PersonSearchMixin, ImportExportMixin, HistoryAdmin):
    resource_classes = [RecognitionResource]
    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    exact_search_fields = ("disease__opsp_dise_code", "facility__fixmedins_code")
    search_help_text = _("Person number or full ID number, the start of a name, a disease code or a facility code.")
    list_display = ["person", "certno_masked", "disease", "facility", "begndate", "enddate"]
    list_filter = ["disease", "facility__fixmedins_type", "facility__hosp_lv", "facility__region"]
    list_select_related = ["person", "disease", "facility"]
    search_fields = ["person__psn_no", "person__certno", "person__psn_name", "disease__opsp_dise_code",
                     "facility__fixmedins_code"]
    autocomplete_fields = ["person", "disease", "facility"]
