import datetime
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management import execute_from_command_line as call_command_from_argv
from django.core.management.base import CommandError
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from claims.api.authentication import PartnerTokenAuthentication
from claims.models import PartnerToken
from claims.tests.factories import FacilityFactory
from claims.tokens import partner_token_create, partner_token_lookup, partner_token_revoke, token_digest

pytestmark = pytest.mark.django_db


def _authenticate(header: str | None):
    request = APIRequestFactory().get("/api/v1/policies/", HTTP_AUTHORIZATION=header) if header else \
        APIRequestFactory().get("/api/v1/policies/")
    return PartnerTokenAuthentication().authenticate(request)


def test_command_prints_a_token_bound_to_the_facility_and_stores_only_its_digest():
    facility = FacilityFactory(fixmedins_code="H31010100001")
    out = io.StringIO()
    call_command("create_partner_token", "H31010100001", stdout=out)
    raw = out.getvalue().strip()
    token = PartnerToken.objects.get()
    assert token.facility == facility
    assert token.digest == token_digest(raw) and raw not in (token.digest, token.prefix)
    principal, _ = _authenticate(f"Token {raw}")
    assert principal.facility == facility and principal.is_authenticated


def test_command_refuses_an_unknown_facility():
    with pytest.raises(CommandError, match="unknown facility"):
        call_command("create_partner_token", "NOPE")
    assert not PartnerToken.objects.exists()


@pytest.mark.parametrize(("begndate", "enddate"), [
    (datetime.date(2020, 1, 1), datetime.date(2025, 3, 19)),  # designation ended yesterday
    (datetime.date(2025, 3, 21), None),  # designated from tomorrow
])
def test_command_refuses_a_facility_not_designated_today(api_today, begndate, enddate):
    # Today is 2025-03-20 (api_today): a token of either facility would get 403 on every call.
    FacilityFactory(fixmedins_code="HNOTTODAY", begndate=begndate, enddate=enddate)
    with pytest.raises(CommandError, match="not designated today"):
        call_command("create_partner_token", "HNOTTODAY")
    assert not PartnerToken.objects.exists()
    # The command line's exit status is 1.
    # (run_from_argv closes every connection when it ends: not the test's own, inside its transaction)
    with pytest.raises(SystemExit) as exited, mock.patch("django.core.management.base.connections.close_all"):
        call_command_from_argv(["manage.py", "create_partner_token", "HNOTTODAY"])
    assert exited.value.code == 1 and not PartnerToken.objects.exists()


def test_command_accepts_the_last_day_of_a_designation(api_today):
    FacilityFactory(fixmedins_code="HLASTDAY", begndate=datetime.date(2020, 1, 1), enddate=api_today)
    call_command("create_partner_token", "HLASTDAY", stdout=io.StringIO())
    assert PartnerToken.objects.get().facility.fixmedins_code == "HLASTDAY"


def test_revoked_or_wrong_tokens_are_refused_and_no_header_is_anonymous():
    token, raw = partner_token_create(facility=FacilityFactory())
    with pytest.raises(AuthenticationFailed):
        _authenticate(f"Token {raw}x")
    with pytest.raises(AuthenticationFailed):
        _authenticate("Token")
    assert _authenticate(None) is None
    partner_token_revoke(token=token)
    with pytest.raises(AuthenticationFailed):
        _authenticate(f"Token {raw}")


def test_a_known_token_costs_no_query_and_a_revoked_one_is_refused_at_once(django_assert_num_queries):
    facility = FacilityFactory()
    token, raw = partner_token_create(facility=facility)
    assert partner_token_lookup(raw) == token
    with django_assert_num_queries(0):
        assert partner_token_lookup(raw).facility == facility
    partner_token_revoke(token=token)
    assert partner_token_lookup(raw) is None
