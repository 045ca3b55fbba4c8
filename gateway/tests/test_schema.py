"""The gateway in the OpenAPI schema (/api/v1/schema/): its path, the envelope, each transaction's input and output
as components, in Chinese and in English; the partner API's own paths unchanged by it."""

import pytest
from rest_framework.test import APIClient

from gateway.api.registry import transactions

pytestmark = pytest.mark.django_db

PATH = "/fsi/api/rsfComIfsService/callService"


def _schema(lang: str) -> dict:
    response = APIClient().get("/api/v1/schema/", {"format": "json", "lang": lang})
    assert response.status_code == 200
    return response.json()


def test_the_schema_describes_every_transaction_in_both_languages():
    en, zh = _schema("en"), _schema("zh-hans")
    operation = en["paths"][PATH]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GatewayMessage"}
    assert {"GatewayToken": []} in operation["security"]
    mapping = en["components"]["schemas"]["GatewayMessage"]["discriminator"]["mapping"]
    assert set(mapping) == {t.infno for t in transactions()} >= {"1101", "2207", "2601", "3201", "5206", "9001"}
    schemas = en["components"]["schemas"]
    settle = schemas["GatewayRequest2207"]["properties"]
    assert settle["input"]["description"] == "outpatient settlement"
    assert zh["components"]["schemas"]["GatewayRequest2207"]["properties"]["input"]["description"] == "门诊结算"
    assert "medfee_sumamt" in schemas["SettleData"]["properties"]
    assert set(schemas["GatewayAnswer2207"]["properties"]) == {"infcode", "inf_refmsgid", "refmsg_time",
                                                               "respond_time", "err_msg", "warn_msg", "output"}
    assert "x-tif-signature" in operation["description"]
    assert "签名" in zh["paths"][PATH]["post"]["description"] or "x-tif-signature" in zh["paths"][PATH]["post"][
        "description"]
    # The partner API keeps its tags and operation ids (named after the path below /api/v1/).
    assert en["paths"]["/api/v1/settlements/"]["post"]["operationId"] == "settlements_create"
