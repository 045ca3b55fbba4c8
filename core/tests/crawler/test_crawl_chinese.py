"""The crawler: a superuser who never chose a language visits, over the demo data (seed_demo), the home page, every
app's page, every admin change list, add page and the change pages of the first and the last object of each model,
their history, and every page of the admin's own views (imports, exports, reports, credit runs, policy diff and
publish, decisions), reads each export's header row and each JSON answer (an import's progress), and finds no
English of the project's own catalog and no column of bare codes.

The server writes these pages whole, so Django's test client reads them (fast, and on any machine, no browser):
no page text is written by JavaScript (core/static/core/office.js only lays out; the import job's poll writes
numbers)."""

import csv
import io
import json
import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import models, transaction
from django.test import Client, RequestFactory, TestCase, override_settings
from django.urls import URLPattern, URLResolver, reverse
from django.utils import translation

from clearing.models import JobKind
from core.imports import IMPORT_KINDS
from core.imports.jobs import import_job_submit
from core.imports.templates import import_template_csv
from core.models import ImportJob
from core.tests.crawler.catalog import Entry, project_entries
from core.tests.crawler.pages import page_text, page_tree, result_table

# A cell that is nothing but a code needs its name beside it: a lower-case identifier (`general`, `historical`) in
# any cell, or a column of nothing but numbers of up to six digits (`310`, `1201`, `310100`).
WORD_CODE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
DIGIT_CODE = re.compile(r"^\d{1,6}$")
# Columns of numbers, orders, years, counts and logins (a person's: 审核人, 操作人), not codes.
NOT_CODE_HEADERS = re.compile(r"^ID$|数|年度|次|行|笔|页|序号|顺序|排名|天|用户名|编号$|号$|人$|新增|更新|变更"
                              r"|已核查|^结算$")
# In a bad row's message, the column it names and the values it allows are the contract's codes:
# "relation: “cousin”不在可选值 spouse, parent, child 之内".
CONTRACT_CODES = re.compile(r"^[a-z][a-z0-9_]*:|[a-z][a-z0-9_]*(?:, [a-z][a-z0-9_]*)+")
# The admin's own views that are not pages to read: leaving, passwords, look-ups, redirects, files, and the
# POST-only decisions (their forms are on the pages visited).
NOT_PAGES = re.compile(r"^(logout|password_change|password_change_done|autocomplete|jsi18n|view_on_site|app_list)$"
                       r"|_(delete|autocomplete|approve|reject|process_import|rebuild)$|_(file|download|slip)$"
                       r"|^whatif_whatifrun_compare$")  # two what-if runs side by side: the demo has none


def _admin_views() -> Iterator[tuple[str, str, list[str]]]:
    """(URL name, route, argument names) of every named view of the admin site."""
    def walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, str, list[str]]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield pattern.name, prefix + str(pattern.pattern), list(pattern.pattern.converters)

    yield from walk(admin.site.get_urls())


def _model_of_view(name: str) -> type[models.Model] | None:
    for model in admin.site._registry:
        if name.startswith(f"{model._meta.app_label}_{model._meta.model_name}_"):
            return model
    return None


def _objects(model: type[models.Model]) -> list[models.Model]:
    manager = model._default_manager.order_by("pk")
    return [obj for obj in (manager.first(), manager.last()) if obj is not None][:2 if manager.count() > 1 else 1]


def _has_view(name: str) -> bool:
    return any(view == name for view, _route, _arguments in _admin_views())


def crawl_urls(superuser: User) -> list[tuple[str, str]]:
    """(what, URL) of every page the crawler reads."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    urls = [("home", reverse("admin:index"))]
    urls += [(f"app {label}", reverse("admin:app_list", args=[label]))
             for label in sorted({m._meta.app_label for m in admin.site._registry})]
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        urls.append((f"{info} list", reverse(f"admin:{info}_changelist")))
        if model_admin.has_add_permission(request):
            urls.append((f"{info} add", reverse(f"admin:{info}_add")))
        objects = _objects(model) if _has_view(f"{info}_change") else []
        for obj in objects:
            urls.append((f"{info} change {obj.pk}", reverse(f"admin:{info}_change", args=[obj.pk])))
        if objects:
            urls.append((f"{info} history", reverse(f"admin:{info}_history", args=[objects[0].pk])))
    standard = ("_changelist", "_add", "_change", "_history", "index")
    for name, _route, arguments in _admin_views():
        if name.endswith(standard) or NOT_PAGES.search(name):
            continue
        if not arguments:
            urls.append((name, reverse(f"admin:{name}")))
            continue
        if arguments == ["kind"]:  # an import kind's template, a clearing or audit run's start page
            kinds = IMPORT_KINDS if name == "core_importjob_template" else JobKind.values
            urls += [(f"{name} {kind}", reverse(f"admin:{name}", args=[kind])) for kind in kinds]
            continue
        model = _model_of_view(name)
        if model is None or len(arguments) != 1:
            continue
        for obj in _objects(model):
            urls.append((f"{name} {obj.pk}", reverse(f"admin:{name}", args=[obj.pk])))
    return urls


def english_in(text: str, entries: list[Entry]) -> dict[str, str]:
    """Each catalog msgid whose English shows in the text, with the text around it."""
    found = {}
    for entry in entries:
        if match := entry.pattern.search(text):
            found[entry.msgid] = text[max(match.start() - 30, 0):match.end() + 30].replace("\n", " ")
    return found


# A share from 0 to 1 to four places shown as it is stored (0.8000) rather than as a percentage.
RAW_RATE = re.compile(r"^[01]\.\d{4}$")


def raw_rate_columns(table: dict | None) -> list[str]:
    if not table:
        return []
    return [f"{head}: {sorted({row[i] for row in table['rows'] if i < len(row) and RAW_RATE.match(row[i])})[:3]}"
            for i, head in enumerate(table["heads"])
            if any(i < len(row) and RAW_RATE.match(row[i]) for row in table["rows"])]


def bare_code_columns(table: dict | None) -> list[str]:
    if not table or not table["rows"]:
        return []
    found = []
    for column, head in enumerate(table["heads"]):
        cells = [row[column] for row in table["rows"] if column < len(row) and row[column] not in ("", "-")]
        if not cells or NOT_CODE_HEADERS.search(head):
            continue
        codes = sorted({cell for cell in cells if WORD_CODE.match(cell)})
        if not codes and all(DIGIT_CODE.match(cell) for cell in cells):
            codes = sorted(set(cells))
        if codes:
            found.append(f"{head or column}: {codes[:5]}")
    return found


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def page_problems(name: str, url: str, response: object, entries: list[Entry]) -> list[str]:
    """What is wrong with one answer: an error status, English of the catalog, a column of bare codes."""
    if response.status_code in (301, 302, 405):  # a view that only redirects, or a form that only takes a POST
        return []
    if response.status_code != 200:
        return [f"{name} {url}: HTTP {response.status_code}"]
    kind = response.get("Content-Type", "")
    if "html" in kind:
        tree = page_tree(response.content.decode())
        text = page_text(tree)
        table = result_table(tree)
        codes = [f"{name} {url}: bare codes in {column}" for column in bare_code_columns(table)]
        codes += [f"{name} {url}: rates not as percentages in {column}" for column in raw_rate_columns(table)]
    elif "json" in kind:
        text, codes = "\n".join(v for v in _json_strings(json.loads(response.content)) if not WORD_CODE.match(v)), []
    elif "csv" in kind:  # a template or the bad rows with their messages: every cell but the codes
        body = b"".join(response.streaming_content) if response.streaming else response.content
        cells = [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
        text, codes = "\n".join(CONTRACT_CODES.sub("", cell) for cell in cells if not WORD_CODE.match(cell)), []
    else:
        return []
    english = english_in(text, entries)
    found = [f"{name} {url}: English " + "; ".join(f"{m!r} in …{c}…" for m, c in english.items())] if english else []
    return found + codes


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[User]:
    """The demo data, made once for the module's tests and rolled back after them; what runs on commit (the
    summaries' rebuilds after the credit runs) runs, and a family-links file with a bad row was imported by an
    office working in Chinese, so that the import job's page, its progress and the summary rebuilds are read too."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    with django_db_blocker.unblock(), media, transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True):
            call_command("seed_demo", enrollees=120, settlements=40, stdout=io.StringIO())
        root = User.objects.create_superuser("root", password="a-crawler-2026")
        header, example = import_template_csv("family_links").lstrip("\ufeff").splitlines()[:2]
        job = ImportJob(kind="family_links")
        job.file.save("links.csv", ContentFile(f"{header}\n{example.replace(',child,', ',cousin,')}\n".encode()),
                      save=False)
        with translation.override("zh-hans"), TestCase.captureOnCommitCallbacks(execute=True):
            import_job_submit(job=job, user=root)
        yield root
        transaction.set_rollback(True)


@pytest.fixture
def chinese_default(settings: object) -> None:
    """Production's default language (the test settings' is English, which the other tests' messages are in)."""
    settings.LANGUAGE_CODE = "zh-hans"


def test_every_admin_page_reads_chinese_with_codes_named(demo: User, db: None, chinese_default: None) -> None:
    client = Client(headers={"accept-language": "en-US,en;q=0.9"})  # no language chosen; a browser asking for English
    client.force_login(demo)
    entries = project_entries()
    urls = crawl_urls(demo)
    problems = []
    for name, url in urls:
        problems += page_problems(name, url, client.get(url), entries)
    assert len(urls) > 200
    assert any(name.startswith("core_importjob_progress") for name, _url in urls)  # the job's JSON was read
    assert ImportJob.objects.get().bad == 1
    assert not problems, f"{len(problems)} problems on {len(urls)} pages:\n" + "\n".join(problems)


def test_every_export_names_its_columns_in_chinese(demo: User, db: None, chinese_default: None) -> None:
    """The header row of every export of every admin list, as the export button writes it. An export of an import
    kind's rows keeps the contract's column codes (`psn_no`, `period`), so that the file can be imported again;
    the export page names them (ColumnLabelsExportForm)."""
    translation.activate("zh-hans")
    request = RequestFactory().get("/admin/")
    request.user = demo
    entries = project_entries()
    problems, exports = [], 0
    for model, model_admin in admin.site._registry.items():
        if not hasattr(model_admin, "get_export_resource_classes"):
            continue
        for resource_class in model_admin.get_export_resource_classes(request):
            resource = resource_class(**model_admin.get_export_resource_kwargs(request))
            headers = [str(h) for h in resource.get_export_headers() if not WORD_CODE.match(str(h))]
            exports += 1
            if english := english_in("\n".join(headers), entries):
                problems.append(f"{model._meta.label} {resource_class.__name__}: {sorted(english)}")
    assert exports > 10
    assert not problems, "\n".join(problems)
