from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from core.api import api_exception_handler
from core.parsers import JSONParser


def test_nested_non_field_errors_keep_the_field_they_belong_to():
    error = ValidationError({"items": {"non_field_errors": ["This list may not be empty."]},
                             "non_field_errors": ["Bad request."], "psn_no": ["This field is required."]})
    response = api_exception_handler(error, {})
    assert response.status_code == 400
    assert response.data == {"err_code": "INVALID_REQUEST", "err_msg": "items: This list may not be empty.; "
                             "Bad request.; psn_no: This field is required."}


def test_json_nested_too_deeply_is_a_bad_request_not_a_server_error():
    body = ("[" * 100_000 + "]" * 100_000).encode()
    request = APIRequestFactory().post("/", body, content_type="application/json")
    try:
        JSONParser().parse(request, "application/json", {})
    except Exception as e:  # noqa: BLE001
        response = api_exception_handler(e, {})
    assert (response.status_code, response.data["err_code"]) == (400, "INVALID_REQUEST")
