"""Reports over the API: every report for staff (session, with the report's view permission; partner tokens are
refused), and a facility's own reconciliation for partners (`Token`)."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from claims.api.authentication import request_facility
from core.api_fields import MONTH_PATTERN
from core.api_schema import ERROR_SERIALIZER
from core.replica import replica_reads
from reports.api.serializers import ReconciliationOutputSerializer, ReportOutputSerializer
from reports.definitions import REPORTS, ReconciliationForm, report_run
from reports.models import POOLED_FUND, SUPPLEMENTARY_FUND
from reports.selectors import reconciliation

ERRORS = {400: OpenApiResponse(ERROR_SERIALIZER), 403: OpenApiResponse(ERROR_SERIALIZER),
          404: OpenApiResponse(ERROR_SERIALIZER)}


def _form_errors(form: Form) -> dict[str, list[str]]:
    return {field: [e["message"] for e in errors] for field, errors in form.errors.get_json_data().items()}


def _plain(value: object) -> object:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


class ReportView(APIView):
    @extend_schema(
        summary="A report (staff)", responses={200: ReportOutputSerializer, **ERRORS},
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(REPORTS)),
                    OpenApiParameter("month_from", str, description="YYYY-MM", pattern=MONTH_PATTERN),
                    OpenApiParameter("month_to", str, description="YYYY-MM", pattern=MONTH_PATTERN)],
        description="The same filters as the admin page (e.g. `region=370100`, `facility=H123` for "
                    "`reconciliation`). Needs a staff session with the report's `reports.view_*` permission.")
    @replica_reads
    def get(self, request: Request, name: str) -> Response:
        spec = REPORTS.get(name)
        if spec is None:
            raise Http404
        if request_facility(request) is not None or not request.user.has_perm(spec.permission):
            raise PermissionDenied
        form, result = report_run(spec, request.query_params)
        if result is None:
            raise exceptions.ValidationError(_form_errors(form))
        data = form.cleaned_data
        return Response({
            "report": spec.name, "title": str(spec.title), "month_from": f"{data['first']:%Y-%m}",
            "month_to": f"{data['last']:%Y-%m}",
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in spec.columns],
            "rows": [{k: _plain(v) for k, v in row.items()} for row in result.rows],
            "totals": {k: _plain(v) for k, v in result.totals.items()}, "notes": result.notes})


class ReconciliationView(APIView):
    @extend_schema(
        summary="The facility's reconciliation for a period (partner)",
        responses={200: ReconciliationOutputSerializer, **ERRORS},
        parameters=[OpenApiParameter("month", str, description="YYYY-MM", pattern=MONTH_PATTERN),
                    OpenApiParameter("from", str, description="YYYY-MM (with `to`)", pattern=MONTH_PATTERN),
                    OpenApiParameter("to", str, description="YYYY-MM (with `from`)", pattern=MONTH_PATTERN)],
        description="Totals of the token's facility's settled (not reversed) settlements by service month: "
                    "`setldetail` by fund type, then the accounts and cash.")
    def get(self, request: Request) -> Response:
        facility = request_facility(request)
        if facility is None:
            raise exceptions.PermissionDenied(_("A partner token is needed."))
        params = request.query_params
        blank = [name for name in ("month", "from", "to", "month_from", "month_to") if params.get(name) == ""]
        if blank:  # a month given blank is bad input, not a month left out (the schema's pattern says YYYY-MM)
            raise exceptions.ValidationError({name: [_("a month is written YYYY-MM")] for name in blank})
        query = {"month": params.get("month", ""), "month_from": params.get("from", params.get("month_from", "")),
                 "month_to": params.get("to", params.get("month_to", ""))}
        if not (query["month"] or (query["month_from"] and query["month_to"])):
            raise exceptions.ValidationError({"month": [_("Give month=YYYY-MM, or from= and to=.")]})
        form = ReconciliationForm({**query, "facility": facility.fixmedins_code})
        if not form.is_valid():
            raise exceptions.ValidationError(_form_errors(form))
        first, last = form.cleaned_data["first"], form.cleaned_data["last"]
        totals = reconciliation(facility=facility, first=first, last=last)
        return Response(ReconciliationOutputSerializer({
            "fixmedins_code": facility.fixmedins_code, "month_from": f"{first:%Y-%m}", "month_to": f"{last:%Y-%m}",
            "setl_cnt": totals["setl_cnt"], "medfee_sumamt": totals["medfee_sumamt"],
            "fund_pay_sumamt": totals["fund_pay_sumamt"],
            "setldetail": [{"fund_pay_type": POOLED_FUND, "fund_payamt": totals["hifp_pay"]},
                           {"fund_pay_type": SUPPLEMENTARY_FUND, "fund_payamt": totals["oth_pay"]}],
            "acct_pay": totals["acct_pay"], "acct_mulaid_pay": totals["acct_mulaid_pay"],
            "psn_cash_pay": totals["psn_cash_pay"]}).data)
