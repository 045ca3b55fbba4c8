"""Fixtures for gateway tests: the claims fixtures (`world`: the seeded versions, a facility of every kind in
Shanghai and Jinan, a small catalog; `api_today`: 2025-03-20), and a client that speaks the national envelope."""

import hashlib
import itertools
import json
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from claims.tests.conftest import api_today, world  # noqa: F401  (fixtures)
from claims.tokens import partner_token_create

URL = "/fsi/api/rsfComIfsService/callService"
_sequence = itertools.count(1)


def msgid_for(code: str) -> str:
    """A fresh msgid as a HIS writes it: the facility code, yyyyMMddHHmmss and a sequence."""
    return f"{code}{time.strftime('%Y%m%d%H%M%S')}{next(_sequence):04d}"


class Gateway:
    """A facility's HIS: posts national messages with its token (or signs them, `signed=True`)."""

    def __init__(self, facility: Any, *, signed: bool = False) -> None:
        self.facility = facility
        self.token_row, self.token = partner_token_create(facility=facility, label="HIS")
        self.signed = signed
        self.client = APIClient()

    def headers(self) -> dict[str, str]:
        if not self.signed:
            return {"HTTP_AUTHORIZATION": f"Token {self.token}"}
        timestamp, nonce = str(int(time.time())), f"n{next(_sequence)}"
        signature = hashlib.sha256(f"{timestamp}{self.token}{nonce}{timestamp}".encode()).hexdigest()
        return {"HTTP_X_TIF_PAASID": self.facility.fixmedins_code, "HTTP_X_TIF_TIMESTAMP": timestamp,
                "HTTP_X_TIF_NONCE": nonce, "HTTP_X_TIF_SIGNATURE": signature}

    def envelope(self, infno: str, input_: dict[str, Any], msgid: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"infno": infno, "msgid": msgid or msgid_for(self.facility.fixmedins_code), "mdtrtarea_admvs":
                self.facility.region.admdvs, "insuplc_admdvs": self.facility.region.admdvs, "recer_sys_code": "FSI",
                "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "", "infver": "V1.0", "opter_type": "1",
                "opter": "OP01", "opter_name": "收费员", "inf_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                "fixmedins_code": self.facility.fixmedins_code, "fixmedins_name": self.facility.fixmedins_name,
                "sign_no": "", "input": input_, **extra}

    def post(self, body: Any, **headers: str) -> Any:
        raw = body if isinstance(body, bytes | str) else json.dumps(body, ensure_ascii=False)
        return self.client.post(URL, raw, content_type="application/json", **(headers or self.headers()))

    def send(self, infno: str, input_: dict[str, Any], msgid: str | None = None, **extra: Any) -> dict[str, Any]:
        """Post one message; assert HTTP 200 and return the envelope answered."""
        response = self.post(self.envelope(infno, input_, msgid, **extra))
        assert response.status_code == 200, response.content
        return response.json()

    def ok(self, infno: str, input_: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        """Post one message that must be done (infcode 0); return its output."""
        answer = self.send(infno, input_, msgid)
        assert answer["infcode"] == 0, answer
        return answer["output"]


@pytest.fixture
def his():
    return Gateway
