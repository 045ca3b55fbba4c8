"""The partner API's clearing endpoint (CONTRACT.md): a facility reads its own statement of a month."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from claims.api.views import READ_ERRORS, PartnerView
from clearing.api.serializers import StatementOutputSerializer
from clearing.selectors import statement_answer, statement_of_facility
from core.api_fields import MONTH_PATTERN
from core.parsers import contract_month


class StatementView(PartnerView):
    @extend_schema(summary="The facility's clearing statement of a month",
                   parameters=[OpenApiParameter("month", str, description="YYYY-MM", required=True,
                                                pattern=MONTH_PATTERN)],
                   responses={200: StatementOutputSerializer, **READ_ERRORS},
                   description="Lines by payment method and the separately paid line, the deductions (claim "
                               "review, and reversals carried from an approved month), payable = lines less "
                               "deductions; 404 NOT_FOUND when the month has no statement for the facility.")
    def get(self, request: Request) -> Response:
        month = contract_month(request.query_params.get("month", ""))  # ASCII digits only, as every input
        if month is None:
            raise exceptions.ValidationError({"month": [_("Give month=YYYY-MM.")]})
        statement = statement_of_facility(facility=self.facility(), month=month)
        if statement is None:
            raise exceptions.NotFound()
        return Response(StatementOutputSerializer(statement_answer(statement)).data)
