import io

import pytest
from django.core.management import call_command
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
