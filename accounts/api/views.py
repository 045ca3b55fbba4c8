"""Staff API for personal accounts: paying a linked relative's contribution from a holder's account."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import RelativeContributionInputSerializer, RelativeContributionOutputSerializer
from accounts.errors import AccountError
from accounts.family_payments import relative_contribution_pay
from accounts.models import Person
from core.api_schema import ERROR_SERIALIZER


class CanPayRelativeContributions(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("accounts.add_relativecontribution"))


class RelativeContributionView(APIView):
    """Staff only (a session with the permission to pay relatives' contributions); partner tokens are refused."""

    permission_classes = [permissions.IsAuthenticated, CanPayRelativeContributions]

    @extend_schema(
        summary="Pay a linked relative's contribution from the holder's personal account",
        request=RelativeContributionInputSerializer,
        responses={201: RelativeContributionOutputSerializer, 200: RelativeContributionOutputSerializer,
                   400: OpenApiResponse(ERROR_SERIALIZER), 403: OpenApiResponse(ERROR_SERIALIZER),
                   404: OpenApiResponse(ERROR_SERIALIZER), 409: OpenApiResponse(ERROR_SERIALIZER)},
        description="Refused with MULAID_NOT_LINKED, CONTRIBUTION_KIND_NOT_ALLOWED, INSUFFICIENT_BALANCE or "
                    "NOT_INSURED_ON_DATE. The same `reference` again answers 200 with the first payment; another "
                    "payment under it is 409 IDEMPOTENCY_CONFLICT.")
    def post(self, request: Request, psn_no: str) -> Response:
        data = RelativeContributionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        persons = {p.psn_no: p for p in Person.objects.filter(psn_no__in=[psn_no, values["relative_psn_no"]])}
        for number in (psn_no, values["relative_psn_no"]):
            if number not in persons:
                raise AccountError(AccountError.PERSON_NOT_FOUND, f"no person has the number {number}")
        record, created = relative_contribution_pay(
            holder=persons[psn_no], relative=persons[values["relative_psn_no"]], kind=values["kind"],
            year=values["year"], amount=Decimal(values["amount"]), reference=values["reference"], user=request.user)
        return Response(RelativeContributionOutputSerializer(record).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
