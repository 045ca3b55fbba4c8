"""The person's page shows their account's ledger in place: filtered by kind, pocket and year, and paged, with links
(the change page is a form, which cannot hold another form), so a clerk reads why a balance is what it is without
leaving the person."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import EntryKind, PersonalAccount

PER_PAGE = 20
PARAMS = ("ledger_kind", "ledger_pocket", "ledger_year", "ledger_page")
POCKETS = {"current": _("current-year pocket"), "historical": _("historical pocket")}


@dataclass
class Choice:
    label: str
    url: str
    selected: bool


@dataclass
class PersonLedger:
    account: PersonalAccount
    page: Page
    count: int
    filters: list[tuple[str, list[Choice]]] = field(default_factory=list)
    pages: list[tuple[int | str, str]] = field(default_factory=list)
    filtered: bool = False


def _query(request: HttpRequest, **changes: object) -> str:
    """The page's own query with the ledger's parameters changed (None drops one); a new filter starts at page 1."""
    params = {k: v for k, v in request.GET.items()}
    if any(k != "ledger_page" for k in changes):
        params.pop("ledger_page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


def _choices(request: HttpRequest, param: str, current: str | None, options: list[tuple[str, str]]) -> list[Choice]:
    return [Choice(str(_("all")), _query(request, **{param: None}), current is None),
            *(Choice(str(label), _query(request, **{param: value}), current == value) for value, label in options)]


def person_ledger(request: HttpRequest, account: PersonalAccount) -> PersonLedger:
    """The account's entries, newest first, as the page's `ledger_*` parameters filter and page them."""
    entries: QuerySet = account.entries.select_related("credit_rule").order_by("-id")
    kind = request.GET.get("ledger_kind")
    kind = kind if kind in EntryKind.values else None
    pocket = request.GET.get("ledger_pocket")
    pocket = pocket if pocket in POCKETS else None
    year = request.GET.get("ledger_year", "")
    year = year if year.isascii() and year.isdigit() and len(year) == 4 else None
    kinds = set(account.entries.order_by().values_list("kind", flat=True).distinct())
    years = sorted({f"{d.year}" for d in account.entries.order_by().datetimes("created_at", "year")}, reverse=True)
    if kind:
        entries = entries.filter(kind=kind)
    if pocket:
        entries = entries.filter(pocket=pocket)
    if year:
        entries = entries.filter(created_at__year=int(year))
    paginator = Paginator(entries, PER_PAGE)
    page = paginator.get_page(request.GET.get("ledger_page"))
    pages = [(number, _query(request, ledger_page=number) if number != Paginator.ELLIPSIS else "")
             for number in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)]
    filters = [
        (str(_("kind")), _choices(request, "ledger_kind", kind,
                                  [(value, label) for value, label in EntryKind.choices if value in kinds])),
        (str(_("pocket")), _choices(request, "ledger_pocket", pocket, list(POCKETS.items()))),
        (str(_("year")), _choices(request, "ledger_year", year, [(y, y) for y in years])),
    ]
    return PersonLedger(account=account, page=page, count=paginator.count, filters=filters, pages=pages,
                        filtered=bool(kind or pocket or year))

