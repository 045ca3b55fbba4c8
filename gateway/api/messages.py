"""How one message is answered: the envelope read, the transaction's handler run, the answer kept for its `msgid`,
and the message logged.

Idempotency is stored as the settlement's is: a unique key, the request's digest and the first answer, and like the
settlement it costs no read before the first attempt. The message's row (`gateway.models.Message`, `kept`) is
written in the same database transaction as whatever the handler changed, as its last statement, so the two commit
or vanish together:
- a resend of a msgid that has a kept row loses on the unique key, is rolled back whole and gets that row's answer
  (same `infno` and `input`), or `-1` IDEMPOTENCY_CONFLICT (another body); a resend racing the first copy the same;
- a refusal (`-1`) is the message's answer too and is kept: the same msgid again gets it again;
- a message the database could not complete (connection lost, deadlock) is answered `-1` RETRY and keeps
  nothing: the facility sends it again under the same msgid and learns what happened;
- a reversal (2601) of a msgid that has no row yet leaves one (`reversed_early`) that refuses the original when it
  arrives late, and rolls it back if it is in flight.

Every answer to a message read with valid credentials is an envelope (HTTP 200); only missing or bad credentials
and another facility's `fixmedins_code` are answered without one (`gateway.api.views`).
"""

import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.errors import ClaimError
from claims.models import Facility, PartnerToken
from claims.services import request_digest
from core.api import validation_text
from gateway.api.registry import Incoming, Transaction, transaction_of
from gateway.models import Message, Outcome

logger = logging.getLogger("gateway")

RETRY = "RETRY"
INFNO_RE = re.compile(r"[0-9]{4}", re.ASCII)
MSGID_RE = re.compile(r"[\x21-\x7e]{1,64}", re.ASCII)


class EnvelopeError(Exception):
    """The body is not a message: not JSON, not an object."""


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def envelope_read(body: bytes) -> dict[str, Any]:
    """The message as JSON, numbers with a fraction as Decimal (never float); NaN and Infinity refused."""
    try:
        text = body.decode("utf-8-sig")
        value = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise EnvelopeError(_("the body is not JSON in UTF-8: %(error)s") % {"error": str(e)[:200]}) from None
    if not isinstance(value, dict):
        raise EnvelopeError(_("the body is not a JSON object"))
    return value


def _stamp(moment: Any) -> str:
    """yyyyMMddHHmmssSSS, local time (the national interface's refmsg_time and respond_time)."""
    local = timezone.localtime(moment)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


def envelope_answer(*, facility: Facility, received_at: Any, infcode: int, output: dict[str, Any] | None = None,
                    err_msg: str = "", warn_msg: str = "") -> dict[str, Any]:
    """The answer's envelope. `inf_refmsgid` is ours: the facility's region (6), the time (14) and 10 digits."""
    now = timezone.now()
    return {"infcode": infcode,
            "inf_refmsgid": f"{facility.region.admdvs}{timezone.localtime(now):%Y%m%d%H%M%S}"
                            f"{secrets.randbelow(10**10):010d}",
            "refmsg_time": _stamp(received_at), "respond_time": _stamp(now), "err_msg": err_msg,
            "warn_msg": warn_msg, "output": output if output is not None else {}}


@dataclass
class Received:
    """One message as read: who sent it, when, and its envelope."""

    facility: Facility
    token: PartnerToken | None
    received_at: Any
    started: float
    envelope: dict[str, Any]

    def refusal(self, err_code: str, err_msg: str) -> dict[str, Any]:
        return envelope_answer(facility=self.facility, received_at=self.received_at, infcode=-1,
                               err_msg=f"{err_code}: {err_msg}")

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)


def _opter(envelope: dict[str, Any]) -> str:
    opter = envelope.get("opter")
    return opter[:30] if isinstance(opter, str) else ""


def _log(received: Received, *, infno: str, msgid: str, answer: dict[str, Any], outcome: str, err_code: str,
         kept: bool = False, digest: str = "", effect: str = "", duration_ms: int | None = None) -> Message:
    """The message's row; written by the caller's transaction when `kept`, else on its own."""
    return Message.objects.create(
        facility=received.facility, token=received.token, infno=infno[:8], msgid=msgid[:64],
        opter=_opter(received.envelope), received_at=received.received_at,
        duration_ms=received.elapsed_ms() if duration_ms is None else duration_ms, outcome=outcome,
        infcode=answer["infcode"], err_code=err_code, kept=kept, digest=digest, answer=answer if kept else None,
        effect=effect)


def _log_line(received: Received, infno: str, msgid: str, answer: dict[str, Any], outcome: str) -> None:
    """The plain log: who, what, how long, how it ended; never the body."""
    logger.info("gateway facility=%s token=%s infno=%s msgid=%s ms=%d infcode=%s outcome=%s err=%s",
                received.facility.fixmedins_code, received.token.prefix if received.token else "-", infno, msgid,
                received.elapsed_ms(), answer["infcode"], outcome, answer["err_msg"].split(":", 1)[0])


def _record(received: Received, infno: str, msgid: str, answer: dict[str, Any], outcome: str, err_code: str,
            **kept: Any) -> dict[str, Any]:
    """Log a message that binds nothing (refused before reading its msgid, a resend, a conflict)."""
    _log_line(received, infno, msgid, answer, outcome)
    try:
        _log(received, infno=infno, msgid=msgid, answer=answer, outcome=outcome, err_code=err_code, **kept)
    except DatabaseError:
        logger.warning("gateway: message %s of %s not logged: the database did not answer", msgid,
                       received.facility.fixmedins_code)
    return answer


def _kept(facility: Facility, msgid: str) -> Message | None:
    return Message.objects.filter(facility=facility, msgid=msgid, kept=True).first()


def _answer_existing(received: Received, existing: Message, infno: str, msgid: str, digest: str) -> dict[str, Any]:
    """A msgid answered before: its first answer, or a refusal."""
    if existing.outcome == Outcome.REVERSED_BEFORE_ARRIVAL:
        answer = received.refusal(ClaimError.ALREADY_REVERSED, _(
            "message %(msgid)s was reversed (2601, message %(by)s) before it arrived: nothing was done")
            % {"msgid": msgid, "by": existing.reversed_by_msgid})
        return _record(received, infno, msgid, answer, Outcome.REFUSED, ClaimError.ALREADY_REVERSED)
    if existing.infno == infno and existing.digest == digest:
        return _record(received, infno, msgid, existing.answer, Outcome.REPLAYED, existing.err_code)
    answer = received.refusal(ClaimError.IDEMPOTENCY_CONFLICT, _(
        "msgid %(msgid)s was answered before for another message (%(infno)s, received %(at)s)")
        % {"msgid": msgid, "infno": existing.infno, "at": timezone.localtime(existing.received_at)
           .strftime("%Y-%m-%d %H:%M:%S")})
    return _record(received, infno, msgid, answer, Outcome.CONFLICT, ClaimError.IDEMPOTENCY_CONFLICT)


def _retry(received: Received, infno: str, msgid: str) -> dict[str, Any]:
    answer = received.refusal(RETRY, _("the database did not complete the message; whether it took effect is "
                                       "not known: send it again with the same msgid"))
    _log_line(received, infno, msgid, answer, "retry")
    return answer


def _validated(txn: Transaction | None, infno: str, raw: Any) -> tuple[dict[str, Any] | None, ClaimError | None]:
    if txn is None:
        return None, ClaimError(ClaimError.INVALID_REQUEST, _("unknown infno %(infno)s") % {"infno": infno})
    if not isinstance(raw, dict):
        return None, ClaimError(ClaimError.INVALID_REQUEST, _("input: an object"))
    reader = txn.input(data=raw)
    if not reader.is_valid():
        return None, ClaimError(ClaimError.INVALID_REQUEST, validation_text(reader.errors))
    return dict(reader.validated_data), None


def message_answer(*, facility: Facility, token: PartnerToken | None, envelope: dict[str, Any], received_at: Any,
                   started: float) -> dict[str, Any]:
    """The envelope answering one message of `facility` (credentials and facility checked by the caller)."""
    received = Received(facility=facility, token=token, received_at=received_at, started=started, envelope=envelope)
    infno, msgid = envelope.get("infno"), envelope.get("msgid")
    if isinstance(infno, int) and not isinstance(infno, bool) and 0 <= infno <= 9999:
        infno = f"{infno:04d}"
    if not (isinstance(infno, str) and INFNO_RE.fullmatch(infno)):
        answer = received.refusal(ClaimError.INVALID_REQUEST, _("infno: four digits, e.g. 2207"))
        return _record(received, str(infno)[:8] if infno is not None else "", "", answer, Outcome.REFUSED,
                       ClaimError.INVALID_REQUEST)
    if not (isinstance(msgid, str) and MSGID_RE.fullmatch(msgid)):
        answer = received.refusal(ClaimError.INVALID_REQUEST, _("msgid: 1 to 64 letters, digits or signs, e.g. the "
                                                                "facility code, yyyyMMddHHmmss and a sequence"))
        return _record(received, infno, "", answer, Outcome.REFUSED, ClaimError.INVALID_REQUEST)

    txn = transaction_of(infno)
    data, error = _validated(txn, infno, envelope.get("input"))
    digest = request_digest({"infno": infno, "input": data if data is not None else envelope.get("input")})
    incoming = Incoming(facility=facility, token=token, infno=infno, msgid=msgid, received_at=received_at,
                        envelope=envelope)
    try:
        if error is None:
            assert txn is not None and data is not None
            try:
                with transaction.atomic():
                    done = txn.handle(incoming, data)
                    answer = envelope_answer(facility=facility, received_at=received_at, infcode=0,
                                             output=done.output, warn_msg="; ".join(str(w) for w in done.warnings))
                    _log(received, infno=infno, msgid=msgid, answer=answer, outcome=Outcome.DONE, err_code="",
                         kept=True, digest=digest, effect=done.effect)
                _log_line(received, infno, msgid, answer, Outcome.DONE)
                return answer
            except ClaimError as e:  # refused: whatever the handler wrote went with its transaction
                error = e
        answer = received.refusal(error.err_code, error.err_msg)
        with transaction.atomic():
            _log(received, infno=infno, msgid=msgid, answer=answer, outcome=Outcome.REFUSED,
                 err_code=error.err_code, kept=True, digest=digest)
        _log_line(received, infno, msgid, answer, Outcome.REFUSED)
        return answer
    except IntegrityError:
        # The msgid has its answer already (the first copy, or a 2601 of it, committed first; a resend also ends
        # here, after running again and being rolled back whole): that answer, or a refusal.
        try:
            existing = _kept(facility, msgid)
        except DatabaseError:
            existing = None
        if existing is None:
            return _retry(received, infno, msgid)
        return _answer_existing(received, existing, infno, msgid, digest)
    except DatabaseError:
        logger.warning("gateway: message %s of %s: the database failed", msgid, facility.fixmedins_code,
                       exc_info=True)
        return _retry(received, infno, msgid)


def envelope_refusal(*, facility: Facility, token: PartnerToken | None, received_at: Any, started: float,
                     message: str) -> dict[str, Any]:
    """The answer to a body that is not a message at all (not JSON, not an object), logged."""
    received = Received(facility=facility, token=token, received_at=received_at, started=started, envelope={})
    answer = received.refusal(ClaimError.INVALID_REQUEST, message)
    return _record(received, "", "", answer, Outcome.REFUSED, ClaimError.INVALID_REQUEST)


# --- 2601 -------------------------------------------------------------------------------------------------------

def message_reverse(*, message: Incoming, omsgid: str, oinfno: str) -> None:
    """Undo what message `omsgid` of the facility did (2601): its transaction's `undo` with the effect it
    recorded. A message that changed nothing is reversed with nothing to do; one that never arrived gets a row
    that refuses it when it does (and rolls it back if it is in flight now). Reversing twice does nothing more."""
    if omsgid == message.msgid:
        raise ClaimError(ClaimError.INVALID_REQUEST, _("a 2601 cannot reverse itself"))
    now = timezone.now()
    original = (Message.objects.select_for_update()
                .filter(facility=message.facility, msgid=omsgid, kept=True).first())
    if original is None:
        try:
            with transaction.atomic():
                Message.objects.create(
                    facility=message.facility, token=message.token, infno=oinfno, msgid=omsgid,
                    received_at=now, outcome=Outcome.REVERSED_BEFORE_ARRIVAL, infcode=-1,
                    err_code=ClaimError.ALREADY_REVERSED, kept=True, reversed_at=now,
                    reversed_by_msgid=message.msgid)
            return
        except IntegrityError:  # the original committed meanwhile: reverse it
            original = (Message.objects.select_for_update()
                        .filter(facility=message.facility, msgid=omsgid, kept=True).first())
            if original is None:
                raise
    if original.outcome == Outcome.REVERSED_BEFORE_ARRIVAL or original.reversed_at is not None:
        return
    if original.infno != oinfno:
        raise ClaimError(ClaimError.INVALID_REQUEST, _("message %(msgid)s was a %(infno)s, not a %(oinfno)s")
                         % {"msgid": omsgid, "infno": original.infno, "oinfno": oinfno})
    if original.infcode == 0 and original.effect:
        txn = transaction_of(original.infno)
        if txn is None or txn.undo is None:
            raise ClaimError(ClaimError.INVALID_REQUEST, _("a %(infno)s cannot be reversed by 2601")
                             % {"infno": original.infno})
        txn.undo(message, original.effect)
    original.reversed_at, original.reversed_by_msgid = now, message.msgid
    original.save(update_fields=["reversed_at", "reversed_by_msgid"])

