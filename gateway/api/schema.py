"""The gateway in the OpenAPI schema: one path, its request a `oneOf` by `infno` (each with its own `input`), its
answer the envelope with each transaction's `output`. Summaries and help texts are translatable: the schema comes
in Chinese (`?lang=zh-hans`) and English (`?lang=en`)."""

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from gateway.api.registry import Transaction, transactions


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class EnvelopeSerializer(serializers.Serializer):
    """The national envelope; only infno, msgid, fixmedins_code and input are read."""

    infno = serializers.CharField(help_text="transaction number, e.g. 2207 / 交易编号")
    msgid = serializers.CharField(help_text="message id: facility code (12) + yyyyMMddHHmmss + 4-digit sequence; "
                                            "idempotency key / 报文ID，幂等键")
    mdtrtarea_admvs = _text(help_text="region of treatment / 就医地医保区划")
    insuplc_admdvs = _text(help_text="insured region / 参保地医保区划")
    recer_sys_code = _text(help_text="receiving system code / 接收方系统代码")
    dev_no = _text(help_text="device number / 设备编号")
    dev_safe_info = _text(help_text="device security information / 设备安全信息")
    cainfo = _text(help_text="digital signature information / 数字签名信息")
    signtype = _text(help_text="signature type / 签名类型")
    infver = _text(help_text="interface version / 接口版本号")
    opter_type = _text(help_text="operator type / 经办人类别")
    opter = _text(help_text="operator code, logged / 经办人")
    opter_name = _text(help_text="operator name / 经办人姓名")
    inf_time = _text(help_text="yyyy-MM-dd HH:mm:ss / 交易时间")
    fixmedins_code = serializers.CharField(help_text="must be the credentials' facility (else 403) / 定点医药机构编号")
    fixmedins_name = _text(help_text="facility name / 定点医药机构名称")
    sign_no = _text(help_text="9001's sign-in number / 交易签到流水号")


class AnswerSerializer(serializers.Serializer):
    infcode = serializers.IntegerField(help_text="0 done, -1 refused / 交易状态码")
    inf_refmsgid = serializers.CharField(help_text="the gateway's message id: region (6) + yyyyMMddHHmmss + 10 "
                                                   "digits / 接收方报文ID")
    refmsg_time = serializers.CharField(help_text="received, yyyyMMddHHmmssSSS / 接收报文时间")
    respond_time = serializers.CharField(help_text="answered, yyyyMMddHHmmssSSS / 响应报文时间")
    err_msg = serializers.CharField(help_text="a refusal: `ERR_CODE: message` / 错误信息")
    warn_msg = serializers.CharField(help_text="warnings, e.g. items not in the catalog / 警告信息")


def _request_of(txn: Transaction) -> type[serializers.Serializer]:
    return type(f"GatewayRequest{txn.infno}", (EnvelopeSerializer,), {
        "__doc__": f"{txn.infno}",
        "infno": serializers.ChoiceField(choices=[(txn.infno, txn.infno)], help_text=txn.summary),
        "input": txn.input(help_text=txn.summary)})


def _answer_of(txn: Transaction) -> type[serializers.Serializer]:
    return type(f"GatewayAnswer{txn.infno}", (AnswerSerializer,), {
        "__doc__": f"{txn.infno}", "output": txn.output(help_text=txn.summary)})


REQUEST = PolymorphicProxySerializer(
    component_name="GatewayMessage", resource_type_field_name="infno",
    serializers=lambda: {txn.infno: _request_of(txn) for txn in transactions()})
ANSWER = PolymorphicProxySerializer(
    component_name="GatewayAnswer", resource_type_field_name=None,
    serializers=lambda: [_answer_of(txn) for txn in transactions()])


def _description() -> str:
    rows = "\n".join(f"| {txn.infno} | {txn.summary} | {txn.description} |" for txn in transactions())
    return "\n\n".join([
        _("The national medical-security platform's interface (国家医疗保障信息平台接口): a hospital or pharmacy "
          "system posts each message, an envelope with `infno`, `msgid` and `input`, to this one address."),
        _("Credentials: `Authorization: Token <token>`, or the headers `x-tif-paasid` (the facility code), "
          "`x-tif-timestamp` (Unix seconds, within 300 s of the server's clock), `x-tif-nonce` (never twice within "
          "10 minutes) and `x-tif-signature`, the lowercase hex SHA-256 of timestamp + token + nonce + timestamp. "
          "Without valid credentials: 401; another facility's `fixmedins_code` or a facility not designated today: "
          "403; neither has an envelope."),
        _("Every other answer is HTTP 200 with the envelope: `infcode` 0 (done) or -1 (refused, `err_msg` "
          "`ERR_CODE: message`). The same `msgid` again with the same `infno` and `input` answers the first answer; "
          "with another body -1 IDEMPOTENCY_CONFLICT. -1 RETRY: the database did not complete the message; send it "
          "again with the same msgid. Money in `input` is a JSON number or string with at most two decimals, in "
          "`output` a string with two decimals; times `yyyy-MM-dd HH:mm:ss`, dates `yyyy-MM-dd`, months `yyyyMM`."),
        _("A visit: 2201 → 2203 → 2204 (any number of batches) → 2206 → 2207; undone by 2208, 2205, 2202, or 2601 "
          "(reversal of any message by its msgid)."),
        "| infno | | |\n| --- | --- | --- |\n" + rows])


description = lazy(_description, str)


class GatewayCredentials(OpenApiAuthenticationExtension):
    """The Token header, or the four x-tif headers together."""

    target_class = "gateway.api.authentication.GatewayAuthentication"
    name = ["GatewayToken", "xTifPaasid", "xTifTimestamp", "xTifNonce", "xTifSignature"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list]]:
        return [{"GatewayToken": []}, {name: [] for name in self.name[1:]}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        def header(name: str, text: str) -> dict[str, str]:
            return {"type": "apiKey", "in": "header", "name": name, "description": text}

        return [header("Authorization", "`Token <token>`; a token acts for one designated facility "
                                        "(create_partner_token)."),
                header("x-tif-paasid", "the facility code / 定点医药机构编号"),
                header("x-tif-timestamp", "Unix seconds, within 300 s of the server's clock / 时间戳"),
                header("x-tif-nonce", "never accepted twice within 10 minutes / 随机数"),
                header("x-tif-signature", "lowercase hex SHA-256 of timestamp + token + nonce + timestamp / 签名")]
