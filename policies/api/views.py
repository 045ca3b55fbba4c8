"""`GET /api/v1/policies/?admdvs=CODE&date=YYYY-MM-DD`: the policy version in force, with its rules."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from policies.api.serializers import PolicyQuerySerializer, PolicyVersionOutputSerializer
from policies.errors import PolicyError
from policies.selectors import policy_version_full, policy_version_in_force

ERROR = inline_serializer("PolicyError", {"err_code": serializers.CharField(), "err_msg": serializers.CharField()})


class PolicyInForceView(APIView):
    @extend_schema(parameters=[PolicyQuerySerializer], responses={
        200: PolicyVersionOutputSerializer, 400: OpenApiResponse(ERROR), 404: OpenApiResponse(ERROR)})
    def get(self, request: Request) -> Response:
        query = PolicyQuerySerializer(data=request.query_params)
        if not query.is_valid():
            detail = "; ".join(f"{name}: {' '.join(str(m) for m in messages)}"
                               for name, messages in query.errors.items())
            return Response({"err_code": PolicyError.INVALID_REQUEST, "err_msg": detail or _("invalid request")},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            data = query.validated_data
            version = policy_version_in_force(data["admdvs"], data["date"], data["insutype"])
        except PolicyError as exc:
            return Response(exc.as_dict(), status=status.HTTP_404_NOT_FOUND)
        return Response(PolicyVersionOutputSerializer(policy_version_full(version.pk)).data)
