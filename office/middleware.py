"""The office's language: Chinese unless the user chose English.

Django's `LocaleMiddleware` takes the browser's Accept-Language when no choice was made, so a clerk whose browser
was installed in English got an English office. Here a staff page is in `settings.LANGUAGE_CODE` (zh-hans) unless
the user chose a language with the switch at the top of every page (Django's `set_language`, kept in the
`LANGUAGE_COOKIE_NAME` cookie). The partner API and the gateway (`MACHINE_PATHS`) keep Django's negotiation: a
hospital's system has no switch to press, its Accept-Language header is the choice its makers wrote.
"""

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_supported_language_variant

MACHINE_PATHS = ("/api/", "/fsi/")


def chosen_language(request: HttpRequest) -> str | None:
    """The language the user chose with the switch, if they chose one the office ships."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if not code:
        return None
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return None


class OfficeLocaleMiddleware(LocaleMiddleware):
    """`LocaleMiddleware` for staff pages that ignores the browser's Accept-Language (see the module's doc)."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(MACHINE_PATHS):
            super().process_request(request)
            return
        translation.activate(chosen_language(request) or settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request: HttpRequest, response: object) -> object:
        if request.path_info.startswith(MACHINE_PATHS):
            return super().process_response(request, response)
        # Not Django's: no Accept-Language in Vary (the header changes nothing here) and no i18n_patterns redirect.
        response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Cookie",))
        return response
