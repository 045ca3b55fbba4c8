"""Shared pieces of the OpenAPI schema: the error body and the partner-token security scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ERROR_SERIALIZER = inline_serializer("Error", {"err_code": serializers.CharField(),
                                               "err_msg": serializers.CharField()})


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "claims.api.authentication.PartnerTokenAuthentication"
    name = "PartnerToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <token>`; a token acts for one designated facility (create_partner_token)."}
