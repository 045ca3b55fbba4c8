"""2601 (reversal of a message, 冲正) and 9001/9002 (operator sign-in and sign-out)."""

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from gateway import services
from gateway.api.fields import code_field, text_field
from gateway.api.messages import MSGID_RE, message_reverse
from gateway.api.registry import Done, Incoming, gateway_transaction
from gateway.api.transactions.common import Empty

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class MessageReversalData(serializers.Serializer):
    psn_no = text_field(30, help_text=_("the person of the original message"))
    omsgid = serializers.RegexField(MSGID_RE.pattern + r"\Z", help_text=_("the msgid of the message to reverse"))
    oinfno = serializers.RegexField(r"^[0-9]{4}\Z", help_text=_("the infno of the message to reverse"))


class MessageReversalInput(serializers.Serializer):
    data = MessageReversalData()


@gateway_transaction("2601", summary=_("reversal of a message"), input=MessageReversalInput, output=Empty,
                     description=_("Undoes exactly what message omsgid did: a 2207 as 2208, a 2204 as 2205 of its "
                                   "batch, a 2201 as 2202, a 2203 back to the visit information before it, a 9001 as "
                                   "9002. A message that did nothing, or never arrived, is reversed with nothing to "
                                   "do, and a late arrival of it is then refused (ALREADY_REVERSED). 2202, 2205 and "
                                   "2208 cannot be reversed."))
def reversal(message: Incoming, data: dict[str, Any]) -> Done:
    d = data["data"]
    message_reverse(message=message, omsgid=d["omsgid"], oinfno=d["oinfno"])
    return Done({})


class SignInData(serializers.Serializer):
    opter_no = code_field(help_text=_("the operator's code"))
    mac = text_field(50, help_text=_("the terminal's MAC address"))
    ip = text_field(50, help_text=_("the terminal's IP address"))


class SignInInput(serializers.Serializer):
    signIn = SignInData()  # noqa: N815  (the national interface's name)


class SignInResult(serializers.Serializer):
    sign_time = serializers.CharField(help_text=_("yyyy-MM-dd HH:mm:ss"))
    sign_no = serializers.CharField(help_text=_("the sign-in number, for the envelope's sign_no and 9002"))


class SignInAnswer(serializers.Serializer):
    signinoutb = SignInResult()


def _sign_in_undo(message: Incoming, sign_no: str) -> None:
    services.sign_out(facility=message.facility, sign_no=sign_no)


@gateway_transaction("9001", summary=_("operator sign-in"), input=SignInInput, output=SignInAnswer,
                     undo=_sign_in_undo)
def sign_in(message: Incoming, data: dict[str, Any]) -> Done:
    row = services.sign_in(facility=message.facility, **data["signIn"])
    return Done({"signinoutb": {"sign_time": timezone.localtime(row.signed_in_at).strftime(TIME_FORMAT),
                                "sign_no": row.sign_no}}, effect=row.sign_no)


class SignOutData(serializers.Serializer):
    sign_no = code_field(help_text=_("the sign-in number 9001 answered"))
    opter_no = code_field(help_text=_("the operator's code"))


class SignOutInput(serializers.Serializer):
    signOut = SignOutData()  # noqa: N815  (the national interface's name)


class SignOutResult(serializers.Serializer):
    sign_time = serializers.CharField(help_text=_("yyyy-MM-dd HH:mm:ss"))


class SignOutAnswer(serializers.Serializer):
    signoutoutb = SignOutResult()


@gateway_transaction("9002", summary=_("operator sign-out"), input=SignOutInput, output=SignOutAnswer)
def sign_out(message: Incoming, data: dict[str, Any]) -> Done:
    row = services.sign_out(facility=message.facility, sign_no=data["signOut"]["sign_no"])
    return Done({"signoutoutb": {"sign_time": timezone.localtime(row.signed_out_at).strftime(TIME_FORMAT)}})
