"""The API's default JSON parser (its own module: DRF imports it while importing rest_framework.views)."""

from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's, refusing JSON nested too deeply as a parse error (Python's decoder raises RecursionError, a 500).
    The default parser of every endpoint (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error: nested too deeply")) from None
