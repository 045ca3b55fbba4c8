"""Regions (pooling areas) and the dated policy versions that hold every number the system computes with."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

admdvs_validator = RegexValidator(r"^\d{6}$", _("a region code is six digits"))


class Region(models.Model):
    """A pooling area (统筹地区) identified by its 6-digit administrative division code."""

    admdvs = models.CharField(_("region code"), max_length=6, unique=True, validators=[admdvs_validator],
                              help_text=_("insuplc_admdvs, e.g. 310000 Shanghai, 370100 Jinan"))
    name = models.CharField(_("name"), max_length=50)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["admdvs"]
        constraints = [
            models.CheckConstraint(condition=models.lookups.Exact(Length("admdvs"), 6), name="region_admdvs_6"),
        ]

    def __str__(self) -> str:
        return f"{self.admdvs} {self.name}"

    @property
    def province_code(self) -> str:
        return self.admdvs[:2]
