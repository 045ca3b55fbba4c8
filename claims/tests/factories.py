"""factory_boy factories for facilities, catalogs and recognitions."""

import datetime

import factory

from accounts.tests.factories import PersonFactory, RegionFactory
from claims.models import Disease, Facility, Item, Recognition


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    fixmedins_code = factory.Sequence(lambda n: f"H31{n:09d}")
    fixmedins_name = factory.Sequence(lambda n: f"医院{n}")
    fixmedins_type = "1"
    hosp_lv = "2"
    region = factory.SubFactory(RegionFactory)
    begndate = datetime.date(2020, 1, 1)


class DiseaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disease
        django_get_or_create = ("opsp_dise_code",)

    opsp_dise_code = "M03900"
    opsp_dise_name = "高血压"
    opsp_dise_majcls_name = "循环系统疾病"


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    item_code = factory.Sequence(lambda n: f"ITEM{n:06d}")
    item_name = factory.Sequence(lambda n: f"项目{n}")
    chrg_item_lv = "01"
    selfpay_prop = "0"


class RecognitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recognition

    person = factory.SubFactory(PersonFactory)
    disease = factory.SubFactory(DiseaseFactory)
    facility = factory.SubFactory(FacilityFactory)
    begndate = datetime.date(2023, 1, 1)
