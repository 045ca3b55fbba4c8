"""Background imports: one `ImportJob` per file uploaded in the admin, run by a Celery task."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.imports.base import IMPORT_KINDS


class ImportJob(models.Model):
    """A file of a KIND imported in the background: who started it, how far it is (updated while it runs, from a
    connection of its own), what it did, and the bad rows with their messages when there were any."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        REJECTED = "rejected", _("rejected")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=20, choices=[(kind, kind) for kind in IMPORT_KINDS])
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    dry_run = models.BooleanField(_("dry run"), default=False, help_text=_("validate and count, write nothing"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    operator = models.CharField(_("operator"), max_length=150, blank=True,
                                help_text=_("an import run on the server with import_csv: the operating-system user "
                                            "who ran it (it applies at once, without approval)"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved or rejected by"),
                                    on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    help_text=_("a file that moves money is imported only once a second person "
                                                "approved it"))
    reviewed_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejecting"), blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    percent = models.PositiveSmallIntegerField(_("progress, %"), default=0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_validated = models.PositiveIntegerField(_("rows validated"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    created = models.PositiveIntegerField(pgettext_lazy("import count", "created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    bad = models.PositiveIntegerField(_("bad rows"), default=0)
    bad_rows = models.FileField(_("bad rows file"), upload_to="imports/bad/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True, help_text=_("why the file was refused or the job failed"))
    error_messages = models.JSONField(_("error, as stored messages"), default=list, blank=True,
                                      help_text=_("the error's lines as message ids and parameters, shown in each "
                                                  "reader's language"))
    files_deleted_at = models.DateTimeField(_("files deleted"), null=True, blank=True,
                                            help_text=_("the uploaded file and the bad-rows file are deleted "
                                                        "IMPORT_FILES_KEEP_DAYS after the job ends"))

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]
        permissions = [("approve_importjob", _("Can approve or reject imports that move money"))]
        constraints = [
            # The maker of an import that moves money never approves it.
            models.CheckConstraint(condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("started_by")),
                                   name="importjob_reviewer_not_maker"),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.pk}"

    @property
    def kind_label(self) -> str:
        from core.imports import IMPORT_KIND_LABELS

        return str(IMPORT_KIND_LABELS.get(self.kind, self.kind))

    @property
    def error_text(self) -> str:
        """The error in the reader's language: rendered from `error_messages`; a job stored before they were kept
        shows `error` as it was written."""
        if not self.error_messages:
            return self.error
        from core.imports.messages import message_render

        return "\n".join(message_render(line) for line in self.error_messages)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.REJECTED)
