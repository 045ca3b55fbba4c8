"""The partner API for designated facilities (CONTRACT.md, "Partner REST API"): persons, accounts, accumulators
and settlements. Views check input, call a selector or a service and render; every rule lives in the services.
A request acts for its token's facility only; staff sessions have no facility and are refused."""

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Person
from claims.api.authentication import request_facility
from claims.api.serializers import (
    AccountOutputSerializer,
    AccumulatorQuerySerializer,
    AccumulatorsOutputSerializer,
    PersonLookupInputSerializer,
    PersonOutputSerializer,
    PersonQuerySerializer,
    ReversalInputSerializer,
    SettlementOutputSerializer,
    SettlementRequestSerializer,
    settlement_request_fast,
)
from claims.errors import ClaimError
from claims.models import Facility, Settlement
from claims.partner import (
    facility_active,
    partner_settlement_create,
    partner_settlement_preview,
    person_lookup_record,
    person_not_found,
    person_visible,
)
from claims.selectors import (
    SettlementFilter,
    accumulators_of_year,
    person_account,
    person_for_facility,
    person_get,
    settlement_of_facility,
    settlements_of_facility,
)
from claims.services import settlement_current, settlement_reverse
from core.api_schema import ERROR_SERIALIZER
from core.parsers import JSONParser

ERROR = OpenApiResponse(ERROR_SERIALIZER)
READ_ERRORS = {400: ERROR, 403: ERROR, 404: ERROR}
SETTLE_ERRORS = {400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR}
TIE_RULE = ("PERSON_NOT_FOUND (404), exactly as for a person who does not exist, unless the token's facility has a "
            "tie to the person: a lookup with the full ID number in the last 24 hours, or a registration, a "
            "settlement in this or the last benefit year, a recognition or a signing there.")
SETTLE_CODES = ("Refused with PERSON_NOT_FOUND or NO_POLICY_IN_FORCE (404), NOT_INSURED_ON_DATE, "
                "FACILITY_NOT_DESIGNATED, MED_TYPE_NOT_ALLOWED, DISEASE_NOT_RECOGNISED, DISEASE_NOT_COVERED, "
                "MULAID_NOT_LINKED, SETL_DATE_OUT_OF_RANGE or INVALID_REQUEST (400). `setl_date` from today − "
                "SETTLEMENT_BACKDATE_DAYS (30 by default) to today, Asia/Shanghai, both included. " + TIE_RULE)
# A query's date bound, or blank (no bound). Days up to 28, which every month has: a pattern cannot tell 2025-02-30
# from a day that exists (a body's dates also carry `format: date`, which does).
DATE_OR_BLANK = r"^((19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?$"
PSN_NO = OpenApiParameter("psn_no", str, OpenApiParameter.PATH, description="the person number")
SETL_ID = OpenApiParameter("setl_id", str, OpenApiParameter.PATH, description="the settlement id")


class IsPartner(permissions.BasePermission):
    """A partner token's request: it acts for a facility, and only while that facility is designated today."""

    message = _lazy("this facility is not designated today: its tokens may do nothing")

    def has_permission(self, request: Request, view: APIView) -> bool:
        facility = request_facility(request)
        return facility is not None and facility_active(facility)


class PartnerView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsPartner]

    def facility(self) -> Facility:
        facility = request_facility(self.request)
        assert facility is not None  # IsPartner
        return facility


def _tied_person(facility: Facility, psn_no: str) -> Person:
    """The person, when the facility has a tie to them; else PERSON_NOT_FOUND, as for a person who does not
    exist."""
    person = person_get(psn_no=psn_no)
    if not person_visible(facility=facility, person=person):
        raise person_not_found(psn_no)
    return person


def _person_answer(person: Person, day: datetime.date | None = None) -> dict[str, Any]:
    return PersonOutputSerializer(person, context={"today": timezone.localdate(), "day": day}).data


class PersonLookupView(PartnerView):
    @extend_schema(summary="Find a person by ID card (national 1101)", request=PersonLookupInputSerializer,
                   responses={200: PersonOutputSerializer, **READ_ERRORS},
                   description="PERSON_NOT_FOUND (404) when no one has that ID number; a malformed number "
                               "(not 17 digits and a digit or X, or a wrong check digit, birth date or region "
                               "code) or another document type is INVALID_REQUEST. A lookup "
                               "ties the person to the token's facility for 24 hours: it may then read the person "
                               "and settle for them.")
    def post(self, request: Request) -> Response:
        query = PersonLookupInputSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        certno = query.validated_data["mdtrt_cert_no"]
        person = person_for_facility(facility=self.facility(), day=timezone.localdate(), certno=certno)
        if person is None:
            raise person_not_found()
        person_lookup_record(facility=self.facility(), person=person)
        return Response(_person_answer(person))


class PersonDetailView(PartnerView):
    @extend_schema(summary="A person (national 1101)", parameters=[PSN_NO, PersonQuerySerializer],
                   responses={200: PersonOutputSerializer, **READ_ERRORS},
                   description="With `date`, the person as on that day: the insured status then (the last that took "
                               "effect on or before it, with its `stas_date`), the person type, and whose accounts "
                               "may pay then; `stas_history` lists every dated status. " + TIE_RULE)
    def get(self, request: Request, psn_no: str) -> Response:
        query = PersonQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("date") or timezone.localdate()
        person = person_for_facility(facility=self.facility(), day=day, psn_no=psn_no)
        if not person_visible(facility=self.facility(), person=person):
            raise person_not_found(psn_no)
        return Response(_person_answer(person, day))


class PersonAccountView(PartnerView):
    @extend_schema(summary="A person's personal account balance", parameters=[PSN_NO],
                   responses={200: AccountOutputSerializer, **READ_ERRORS},
                   description="NO_ACCOUNT (404) for a person with no personal account (a resident, a relative "
                               "without insurance). " + TIE_RULE)
    def get(self, request: Request, psn_no: str) -> Response:
        person = _tied_person(self.facility(), psn_no)
        account = person_account(person)
        if account is None:
            raise ClaimError(ClaimError.NO_ACCOUNT,
                             _("%(psn_no)s has no personal account") % {"psn_no": person.psn_no})
        current, historical = account.balc_current, account.balc_historical
        return Response(AccountOutputSerializer({
            "psn_no": person.psn_no, "balc": current + historical,
            "pockets": {"current": current, "historical": historical}}).data)


class PersonAccumulatorsView(PartnerView):
    @extend_schema(summary="A person's year-to-date counters (national 5206)",
                   parameters=[PSN_NO, AccumulatorQuerySerializer],
                   responses={200: AccumulatorsOutputSerializer, **READ_ERRORS}, description=TIE_RULE)
    def get(self, request: Request, psn_no: str) -> Response:
        query = AccumulatorQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        person = _tied_person(self.facility(), psn_no)
        year = query.validated_data["year"]
        return Response(AccumulatorsOutputSerializer({
            "psn_no": person.psn_no, "year": year,
            "buckets": accumulators_of_year(person=person, year=year)}).data)


def _settlement_request(request: Request) -> dict[str, Any]:
    fast = settlement_request_fast(request.data)  # the plain form, read without building a serializer
    if fast is not None:
        return fast
    data = SettlementRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


class SettlementPreviewView(PartnerView):
    # A bill is JSON (its lines are objects, which no form can carry): the schema lists JSON alone, and any other
    # content type is 400 INVALID_REQUEST (core.api).
    parser_classes = [JSONParser]
    @extend_schema(summary="Preview a settlement (national 2206): nothing is saved",
                   request=SettlementRequestSerializer,
                   responses={200: SettlementOutputSerializer, **SETTLE_ERRORS}, description=SETTLE_CODES)
    def post(self, request: Request) -> Response:
        # The services render the answer in the output serializer's shape (money as strings): sent as it is.
        return Response(partner_settlement_preview(facility=self.facility(), data=_settlement_request(request)))


class SettlementListCreateView(PartnerView, GenericAPIView):
    # A bill is JSON (its lines are objects, which no form can carry): the schema lists JSON alone, and any other
    # content type is 400 INVALID_REQUEST (core.api).
    parser_classes = [JSONParser]
    filterset_class = SettlementFilter
    serializer_class = SettlementRequestSerializer  # what OPTIONS describes for POST

    def get_queryset(self) -> QuerySet[Settlement]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no facility
            return Settlement.objects.none()
        return settlements_of_facility(facility=self.facility())

    @extend_schema(summary="This facility's settlements (national 3202)",
                   responses={200: SettlementOutputSerializer(many=True), 400: ERROR, 403: ERROR, 404: ERROR},
                   parameters=[OpenApiParameter(name, str, pattern=DATE_OR_BLANK,
                                                description="YYYY-MM-DD, inclusive; blank: no bound")
                               for name in ("setl_date_after", "setl_date_before")],
                   description="Newest service date first; `setl_date_after` and `setl_date_before` inclusive.")
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        settlements: list[Settlement] = page if page is not None else []
        answers = [settlement_current(s) for s in settlements]
        return self.get_paginated_response(SettlementOutputSerializer(answers, many=True).data)

    @extend_schema(summary="Settle (national 2207)", request=SettlementRequestSerializer,
                   responses={201: SettlementOutputSerializer, 200: SettlementOutputSerializer, **SETTLE_ERRORS},
                   description="201 when settled now. The same `medins_setl_id` with the same request again: 200 and "
                               "the first answer; with another request: 409 IDEMPOTENCY_CONFLICT. " + SETTLE_CODES)
    def post(self, request: Request) -> Response:
        answer, created = partner_settlement_create(facility=self.facility(), data=_settlement_request(request))
        return Response(answer, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _settlement(facility: Facility, setl_id: str) -> Settlement:
    settlement = settlement_of_facility(facility=facility, setl_id=setl_id)
    if settlement is None:
        raise ClaimError(ClaimError.SETTLEMENT_NOT_FOUND,
                         _("this facility has no settlement %(setl_id)s") % {"setl_id": setl_id})
    return settlement


class SettlementDetailView(PartnerView):
    @extend_schema(summary="A settlement of this facility (national 5203)", parameters=[SETL_ID],
                   responses={200: SettlementOutputSerializer, 403: ERROR, 404: ERROR},
                   description="SETTLEMENT_NOT_FOUND (404) also for another facility's settlement.")
    def get(self, request: Request, setl_id: str) -> Response:
        settlement = _settlement(self.facility(), setl_id)
        return Response(SettlementOutputSerializer(settlement_current(settlement)).data)


class SettlementReversalView(PartnerView):
    @extend_schema(summary="Reverse a settlement (national 2208)", parameters=[SETL_ID],
                   request=ReversalInputSerializer,
                   responses={200: SettlementOutputSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
                   description="Answers the settlement with status `reversed`; reversing it again answers the same.")
    def post(self, request: Request, setl_id: str) -> Response:
        data = ReversalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        settlement = _settlement(self.facility(), setl_id)
        # A partner is not a staff user: the token that reversed it is the actor on record.
        settlement = settlement_reverse(settlement=settlement, reason=data.validated_data["reason"],
                                        token=request.auth)
        return Response(SettlementOutputSerializer(settlement_current(settlement)).data)
