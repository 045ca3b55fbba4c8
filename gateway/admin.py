"""Staff pages of the national interface: visits (registration, visit information and diagnoses, fee batches with
their details and cancellations, settlements), the message log, reconciliations and sign-ins. Everything here is
read-only: it changes only through the facilities' messages.

The visit also shows on the pages of the lower floors it belongs to: the settlement's page (the visit it settled)
and the person's page (their recent visits), as inlines added to those admins from here, the floor above them."""

import datetime
import json
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.admin_ledger import ReadOnlyAdmin
from accounts.models import InsuType, Person
from claims.models import MedType, Settlement
from core.admin import CertnoMaskMixin, PersonSearchMixin, can_view_full_certno
from gateway.api.registry import transaction_of, transactions
from gateway.models import (
    ClrType,
    DiagnosisType,
    FeeBatch,
    Message,
    Reconciliation,
    SignIn,
    Visit,
    VisitInfo,
    VisitSettlement,
)
from gateway.services import reconciliation_settlements

MED_TYPES = dict(MedType.choices)
DIAGNOSIS_TYPES = dict(DiagnosisType.choices)
INSUTYPES = dict(InsuType.choices)
SETTLEMENTS_SHOWN = 200


def _coded(code: str, names: dict[str, Any]) -> str:
    """A code with its name, in the reader's language."""
    name = names.get(code)
    return f"{code} {name}" if name else code


def _link(model: str, pk: int, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse(f"admin:{model}_change", args=[pk]), text)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- visits -----------------------------------------------------------------------------------------------------

class VisitInfoInline(ReadOnlyInline):
    model = VisitInfo
    fields = ["created_at", "medical_type", "dise_codg", "dise_name", "main_cond_dscr", "diagnoses_list", "msgid",
              "reversed_at"]
    readonly_fields = fields
    verbose_name_plural = _("visit information (2203), latest first; the latest not reversed counts")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("diagnoses").order_by("-id")

    @admin.display(description=_("medical type"))
    def medical_type(self, obj: VisitInfo) -> str:
        return _coded(obj.med_type, MED_TYPES)

    @admin.display(description=_("diagnoses"))
    def diagnoses_list(self, obj: VisitInfo) -> SafeString:
        return format_html_join(mark_safe("<br>"), "{}. {} {} ({})",
                                ((d.diag_srt_no, d.diag_code, d.diag_name, _coded(d.diag_type, DIAGNOSIS_TYPES))
                                 for d in obj.diagnoses.all()))


class VisitSettlementInline(ReadOnlyInline):
    model = VisitSettlement
    fk_name = "visit"
    fields = ["settlement_link", "status", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "msgid"]
    readonly_fields = fields
    verbose_name_plural = _("settlements of the visit (2207)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("settlement")

    @admin.display(description=_("settlement"))
    def settlement_link(self, obj: VisitSettlement) -> SafeString:
        return _link("claims_settlement", obj.settlement_id, obj.settlement.setl_id)

    @admin.display(description=_("status"))
    def status(self, obj: VisitSettlement) -> str:
        return obj.settlement.get_status_display()

    @admin.display(description=_("total"))
    def medfee_sumamt(self, obj: VisitSettlement) -> Decimal:
        return obj.settlement.medfee_sumamt

    @admin.display(description=_("funds"))
    def fund_pay_sumamt(self, obj: VisitSettlement) -> Decimal:
        return obj.settlement.fund_pay_sumamt

    @admin.display(description=_("own account"))
    def acct_pay(self, obj: VisitSettlement) -> Decimal:
        return obj.settlement.acct_pay

    @admin.display(description=_("cash"))
    def psn_cash_pay(self, obj: VisitSettlement) -> Decimal:
        return obj.settlement.psn_cash_pay


class VisitStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("open", _("registered")), ("cancelled", _("registration cancelled")), ("settled", _("settled"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "settled":
            return queryset.filter(settlements__settlement__status="settled")
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(Visit)
class VisitAdmin(CertnoMaskMixin, PersonSearchMixin, ReadOnlyAdmin):
    """A visit as the facility built it through the national interface, with what settled it."""

    certno_path = "person__certno"
    person_search_prefixes = ("person__",)
    exact_search_fields = ("mdtrt_id", "ipt_otp_no")
    search_fields = ["=mdtrt_id", "person__psn_no", "person__certno"]
    search_help_text = _("Visit id, outpatient number, a person number or a full ID number.")
    list_display = ["mdtrt_id", "facility", "person", "certno_masked", "begntime", "insurance_type", "status",
                    "ipt_otp_no", "dept_name"]
    list_filter = [VisitStatusFilter, "facility"]
    list_select_related = ["facility", "person"]
    date_hierarchy = "service_date"
    list_per_page = 50
    inlines = [VisitInfoInline, VisitSettlementInline]
    fieldsets = [
        (None, {"fields": [("mdtrt_id", "status"), ("facility", "ipt_otp_no"), ("person", "certno_masked"),
                           ("insurance_type", "mdtrt_cert_type"), ("begntime", "service_date"),
                           ("dept_code", "dept_name", "caty"), ("atddr_no", "dr_name")]}),
        (_("Messages"), {"fields": [("msgid", "created_at"), ("cancelled_by_msgid", "cancelled_at")]}),
        (_("Fee details (2204) by charge batch"), {"fields": ["bill"]}),
    ]
    readonly_fields = ["certno_masked", "insurance_type", "bill"]

    @admin.display(description=_("insurance type"), ordering="insutype")
    def insurance_type(self, obj: Visit) -> str:
        return _coded(obj.insutype, INSUTYPES)

    @admin.display(description=_("fee details"))
    def bill(self, obj: Visit) -> SafeString:
        batches = obj.batches.prefetch_related("details").order_by("id")
        rows = []
        for batch in batches:
            state = (_("live") if batch.is_live else
                     format_html("{} {} ({})", _("cancelled"), timezone.localtime(batch.cancelled_at)
                                 .strftime("%Y-%m-%d %H:%M:%S"), batch.cancelled_by_msgid))
            rows.append(format_html("<tr><th colspan='2'>{} {}</th><th colspan='3'>{}</th><th>{}</th>"
                                    "<th colspan='2'>{}</th></tr>", _("charge batch"), batch.chrg_bchno, state,
                                    batch.medfee_sumamt, batch.msgid))
            rows.extend(format_html("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                    "<td>{}</td><td>{}</td></tr>", d.feedetl_sn, d.med_list_codg,
                                    d.medins_list_codg, d.cnt.normalize(), d.pric.normalize(),
                                    d.det_item_fee_sumamt,
                                    timezone.localtime(d.fee_ocur_time).strftime("%Y-%m-%d %H:%M:%S"),
                                    d.bilg_dept_codg) for d in batch.details.all())
        if not rows:
            return format_html("<p>{}</p>", _("no fee details"))
        head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
                           "<th>{}</th></tr>", _("detail number"), _("item code"), _("facility's item code"),
                           _("quantity"), _("unit price"), _("amount"), _("charged at"), _("billing department"))
        return format_html("<table>{}{}</table>", head, SafeString("".join(rows)))


# --- on the settlement's and the person's pages -------------------------------------------------------------------

class SettlementVisitInline(ReadOnlyInline):
    """On a settlement's page: the visit it settled, when it came through the gateway."""

    model = VisitSettlement
    fk_name = "settlement"
    fields = ["visit_link", "registered", "medical_type", "diagnoses", "batches", "msgid"]
    readonly_fields = fields
    verbose_name = _("visit (national interface)")
    verbose_name_plural = _("visit (national interface)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        infos = VisitInfo.objects.filter(reversed_at__isnull=True).prefetch_related("diagnoses").order_by("-id")
        return super().get_queryset(request).select_related("visit").prefetch_related(
            Prefetch("visit__infos", infos, to_attr="live_infos"), "visit__batches")

    @admin.display(description=_("visit"))
    def visit_link(self, obj: VisitSettlement) -> SafeString:
        return _link("gateway_visit", obj.visit_id, obj.visit.mdtrt_id)

    @admin.display(description=_("registered for"))
    def registered(self, obj: VisitSettlement) -> str:
        return timezone.localtime(obj.visit.begntime).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description=_("medical type"))
    def medical_type(self, obj: VisitSettlement) -> str:
        infos = obj.visit.live_infos
        return _coded(infos[0].med_type, MED_TYPES) if infos else ""

    @admin.display(description=_("diagnoses"))
    def diagnoses(self, obj: VisitSettlement) -> str:
        infos = obj.visit.live_infos
        return "; ".join(f"{d.diag_code} {d.diag_name}" for d in infos[0].diagnoses.all()) if infos else ""

    @admin.display(description=_("charge batches"))
    def batches(self, obj: VisitSettlement) -> str:
        return ", ".join(f"{b.chrg_bchno} {b.medfee_sumamt}" + ("" if b.is_live else f" ({_('cancelled')})")
                         for b in obj.visit.batches.all())


class PersonVisitInline(ReadOnlyInline):
    """On a person's page: their visits through the gateway in this and the last calendar year."""

    model = Visit
    fk_name = "person"
    fields = ["visit_link", "facility", "begntime", "status"]
    readonly_fields = fields
    verbose_name_plural = _("visits (national interface), this and last year")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        since = datetime.date(timezone.localdate().year - 1, 1, 1)
        return super().get_queryset(request).select_related("facility").filter(service_date__gte=since) \
            .order_by("-begntime")

    @admin.display(description=_("visit"))
    def visit_link(self, obj: Visit) -> SafeString:
        return _link("gateway_visit", obj.pk, obj.mdtrt_id)


def _add_inline(model: type, inline: type[admin.options.InlineModelAdmin]) -> None:
    model_admin = admin.site.get_model_admin(model)
    if inline not in model_admin.inlines:
        model_admin.inlines = [*model_admin.inlines, inline]


_add_inline(Settlement, SettlementVisitInline)
_add_inline(Person, PersonVisitInline)


# --- messages -------------------------------------------------------------------------------------------------------

class InfnoFilter(admin.SimpleListFilter):
    """The transactions from the registry, with their names: no DISTINCT over the message log."""

    title = _("transaction")
    parameter_name = "infno"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(t.infno, f"{t.infno} {t.summary}") for t in transactions()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(infno=self.value()) if self.value() else queryset


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Every message received: who, what, how long, how it ended. The answer kept for a msgid holds personal data:
    shown only to staff who may see full ID numbers."""

    list_display = ["received_at", "facility", "transaction", "msgid", "opter", "outcome", "infcode", "err_code",
                    "duration_ms"]
    list_filter = [InfnoFilter, "outcome", "infcode", "facility"]
    list_select_related = ["facility"]
    date_hierarchy = "received_at"
    search_fields = ["=msgid", "=facility__fixmedins_code"]
    search_help_text = _("A message id or a facility code.")
    list_per_page = 100
    fields = ["received_at", "facility", "token", "transaction", "msgid", "opter", "outcome", "infcode", "err_code",
              "duration_ms", "kept", "effect", "reversed_at", "reversed_by_msgid"]
    readonly_fields = [*fields, "answer_shown"]

    def get_fields(self, request: HttpRequest, obj: Message | None = None) -> list[str]:
        return [*self.fields, "answer_shown"] if can_view_full_certno(request) else list(self.fields)

    @admin.display(description=_("transaction"), ordering="infno")
    def transaction(self, obj: Message) -> str:
        txn = transaction_of(obj.infno)
        return f"{obj.infno} {txn.summary}" if txn else obj.infno

    @admin.display(description=_("answer"))
    def answer_shown(self, obj: Message) -> Any:
        if obj.answer is None:
            return "-"
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>",
                           obj.answer.get("err_msg") or json.dumps(obj.answer.get("output"), ensure_ascii=False,
                                                                   indent=1))


# --- reconciliations -----------------------------------------------------------------------------------------------

@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    """Every 3201: the facility's figures beside the system's. Those that disagree list the settlements of the
    period, reversed ones included, to find the difference."""

    list_display = ["created_at", "facility", "stmt_begndate", "stmt_enddate", "insurance_type", "clearing_type",
                    "agreed", "medfee_sumamt", "sys_medfee_sumamt", "fixmedins_setl_cnt", "sys_setl_cnt"]
    list_filter = ["agreed", "clr_type", "facility"]
    list_select_related = ["facility"]
    date_hierarchy = "created_at"
    search_fields = ["=facility__fixmedins_code", "=msgid"]
    search_help_text = _("A facility code or a message id.")
    fieldsets = [
        (None, {"fields": [("facility", "msgid", "created_at"), ("insurance_type", "clearing_type", "setl_optins"),
                           ("stmt_begndate", "stmt_enddate"), "agreed"]}),
        (_("The facility's figures and the system's"), {"fields": ["figures"]}),
    ]
    readonly_fields = ["insurance_type", "clearing_type", "figures"]
    change_form_template = "admin/gateway/reconciliation/change_form.html"

    @admin.display(description=_("insurance type"), ordering="insutype")
    def insurance_type(self, obj: Reconciliation) -> str:
        return _coded(obj.insutype, INSUTYPES)

    @admin.display(description=_("clearing type"), ordering="clr_type")
    def clearing_type(self, obj: Reconciliation) -> str:
        return _coded(obj.clr_type, dict(ClrType.choices))

    @admin.display(description=_("figures"))
    def figures(self, obj: Reconciliation) -> SafeString:
        rows = [(_("total"), obj.medfee_sumamt, obj.sys_medfee_sumamt),
                (_("funds"), obj.fund_pay_sumamt, obj.sys_fund_pay_sumamt),
                (_("own account"), obj.acct_pay, obj.sys_acct_pay),
                (_("settlements not reversed"), obj.fixmedins_setl_cnt, obj.sys_setl_cnt)]
        body = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                                ((name, mine, system, mine - system) for name, mine, system in rows))
        return format_html("<table><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           _("facility"), _("system"), _("difference"), body)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None) -> HttpResponse:
        row = self.get_object(request, object_id)
        if row is not None:
            settlements = (Settlement.objects.filter(reconciliation_settlements(row))
                           .select_related("person", "visit_link__visit").order_by("setl_date", "id"))
            shown = list(settlements[:SETTLEMENTS_SHOWN + 1])
            extra_context = {**(extra_context or {}), "settlements": shown[:SETTLEMENTS_SHOWN],
                             "more_settlements": len(shown) > SETTLEMENTS_SHOWN}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(SignIn)
class SignInAdmin(ReadOnlyAdmin):
    list_display = ["sign_no", "facility", "opter_no", "signed_in_at", "signed_out_at", "ip"]
    list_filter = ["facility"]
    list_select_related = ["facility"]
    date_hierarchy = "signed_in_at"
    search_fields = ["=sign_no", "=opter_no"]
    search_help_text = _("A sign-in number or an operator code.")


@admin.register(FeeBatch)
class FeeBatchAdmin(ReadOnlyAdmin):
    """Charge batches across visits, to find a batch by its number."""

    list_display = ["chrg_bchno", "visit_link", "medfee_sumamt", "created_at", "cancelled_at", "msgid",
                    "cancelled_by_msgid"]
    list_filter = [("cancelled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["visit"]
    search_fields = ["=chrg_bchno", "=visit__mdtrt_id", "=msgid"]
    search_help_text = _("A charge batch number, a visit id or a message id.")
    date_hierarchy = "created_at"

    @admin.display(description=_("visit"))
    def visit_link(self, obj: FeeBatch) -> SafeString:
        return _link("gateway_visit", obj.visit_id, obj.visit.mdtrt_id)
