"""Stored import messages in the reader's language (issue 12): a job's error and its bad-rows download are kept as
message ids and parameters and rendered for each reader; jobs and files stored before that read as written."""

import csv
import io

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from core.imports import import_file
from core.imports.jobs import import_job_run, import_jobs_fail_stale
from core.imports.messages import Message, message_data, message_render
from core.models import ImportJob
from core.tests.test_imports_common import make_regions, roster_row, write_csv

pytestmark = pytest.mark.django_db

# The catalog's entries for the messages of the file below (locale/zh_Hans/LC_MESSAGES/django.po).
ZH = {"summary": "3 行中有 2 行错误：未导入任何数据",
      "gend": "“3”不在可选值 1, 2 之内",
      "region": "不存在区划代码为 999999 的统筹地区"}
EN = {"summary": "2 bad row(s) out of 3: nothing imported",
      "gend": '"3" is not one of 1, 2',
      "region": "no region has the code 999999"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def failed_job(tmp_path) -> ImportJob:
    """A roster of three rows, two of them bad, run as a job by a worker whose language is English."""
    make_regions()
    rows = [roster_row(1), roster_row(2, gend="3"), roster_row(3, insuplc_admdvs="999999")]
    content = write_csv(tmp_path / "roster.csv", "roster", rows).read_bytes()
    job = ImportJob(kind="roster", status=ImportJob.Status.QUEUED)
    job.file.save("roster.csv", ContentFile(content), save=True)
    with translation.override("en"):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.bad) == ("failed", 2)
    return job


def _reader(language: str) -> Client:
    user = User.objects.create_superuser(f"reader-{language}", password="x")
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _download(client: Client, job: ImportJob) -> list[dict[str, str]]:
    response = client.get(reverse("admin:core_importjob_bad_rows", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_same_jobs_errors_read_in_chinese_and_in_english(failed_job):
    with translation.override("zh-hans"):
        assert failed_job.error_text == ZH["summary"]
    with translation.override("en"):
        assert failed_job.error_text == EN["summary"]

    for language, words in (("zh-hans", ZH), ("en", EN)):
        client = _reader(language)
        with translation.override(settings.LANGUAGE_CODE):  # the request's language stays active after it
            page = client.get(reverse("admin:core_importjob_change", args=[failed_job.pk])).content.decode()
            records = _download(client, failed_job)
        assert words["summary"] in page
        assert [(r["row"], r["errors"]) for r in records] == [("3", f"gend: {words['gend']}"),
                                                              ("4", f"insuplc_admdvs: {words['region']}")]
        # The file's own columns, the row as it was given; the stored messages are not part of the download.
        assert list(records[0]) == ["row", *failed_job_header(), "errors"]
        assert records[0]["gend"] == "3" and records[1]["insuplc_admdvs"] == "999999"


def failed_job_header() -> list[str]:
    from accounts.resources import RosterResource

    return list(RosterResource.columns)


def test_a_file_refused_whole_and_a_stale_job_read_in_each_language(tmp_path):
    make_regions()
    path = tmp_path / "roster.csv"
    path.write_text("psn_no,certno\n1,2\n", encoding="utf-8")
    with translation.override("en"):
        outcome = import_file("roster", path, dry_run=False)
    (line,) = outcome.errors
    stored = message_data(line)
    with translation.override("zh-hans"):
        chinese = message_render(stored)
    with translation.override("en"):
        english = message_render(stored)
    assert english == str(line) and english.startswith("the header row is wrong (missing columns: psn_name, gend")
    assert chinese.startswith("表头有误（缺少列：psn_name, gend") and "应为：psn_no,certno,psn_name" in chinese

    job = ImportJob.objects.create(kind="roster", status=ImportJob.Status.RUNNING, file="")
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at="2020-01-01T00:00:00Z")
    with translation.override("en"):
        assert import_jobs_fail_stale() == 1
    job.refresh_from_db()
    with translation.override("zh-hans"):
        assert job.error_text == "导入过程中后台任务进程停止（已 5.0 分钟无响应）；未导入任何数据"
    with translation.override("en"):
        assert job.error_text.startswith("the worker stopped during the import (no sign of life for 5.0 minutes)")


def test_jobs_stored_before_messages_were_kept_read_as_written(tmp_path):
    """An older job has only `error` (text) and a bad-rows file without `messages`: shown and given as they are."""
    job = ImportJob.objects.create(kind="roster", status=ImportJob.Status.FAILED, file="",
                                   error="2 行中有 1 行错误：未导入任何数据")
    job.bad_rows.save("old-bad-rows.csv", ContentFile("\ufeffrow,psn_no,errors\r\n2,,psn_no: 旧的消息\r\n".encode()),
                      save=True)
    for language in ("zh-hans", "en"):
        with translation.override(language):
            assert job.error_text == "2 行中有 1 行错误：未导入任何数据"
        with translation.override(settings.LANGUAGE_CODE):  # the request's language stays active after it
            records = _download(_reader(language), job)
        assert records == [{"row": "2", "psn_no": "", "errors": "psn_no: 旧的消息"}]


def test_a_message_is_the_text_of_its_language_and_keeps_its_id():
    with translation.override("zh-hans"):
        message = Message("no region has the code %(value)s") % {"value": "999999"}
    assert message == ZH["region"] and isinstance(message, str)
    assert message_data(message) == {"m": "no region has the code %(value)s", "p": {"value": "999999"}}
    with translation.override("en"):
        assert message_render(message_data(message)) == EN["region"]
    # A msgid the catalog does not have (renamed since) reads as written, with its parameters.
    assert message_render({"m": "gone %(x)s", "p": {"x": 1}}) == "gone 1"
