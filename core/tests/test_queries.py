"""The hand-written SQL helpers of the settlement path read and write exactly what the ORM reads and writes, on
SQLite (where dates, datetimes and decimals need the database's converters) and PostgreSQL alike."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from accounts.tests.factories import PersonFactory
from claims.models import Settlement, SettlementLine
from claims.tests.factories import FacilityFactory
from core.queries import columns_of, instance_from_row, instances_insert

pytestmark = pytest.mark.django_db


def _settlement(**changes) -> Settlement:
    values = dict(setl_id="20250310ABCDEF", facility=FacilityFactory(), medins_setl_id="M1", request_digest="d" * 64,
                  person=PersonFactory(), insutype="310", psn_type="11", med_type="11",
                  setl_date=datetime.date(2025, 3, 10), medfee_sumamt=Decimal("530.00"),
                  inscp_scp_amt=Decimal("500.00"), act_pay_dedc=Decimal("400.00"), acct_pay=Decimal("530.00"),
                  balc=Decimal("570.01"), response={"setl_id": "20250310ABCDEF", "balc": "570.01", "汉字": "是"},
                  explanation=[{"code": "lines", "amount_in": "530.00"}])
    values.update(changes)
    return Settlement(**values)


def test_instances_insert_writes_what_the_orm_reads_back():
    settlement = _settlement()
    instances_insert([settlement])
    assert settlement.pk is not None and not settlement._state.adding
    saved = Settlement.objects.get(pk=settlement.pk)
    assert saved.created_at is not None and saved.created_at == settlement.created_at
    for field in Settlement._meta.concrete_fields:
        assert getattr(saved, field.attname) == getattr(settlement, field.attname), field.name


def test_instances_insert_gives_each_row_its_own_key_in_order():
    settlement = _settlement()
    instances_insert([settlement])
    lines = [SettlementLine(settlement=settlement, item_code=f"I{n}", chrg_item_lv="01", qty=Decimal(n),
                            price=Decimal("1.50"), amount=Decimal("1.50") * n, inscp_scp_amt=Decimal("1.50") * n)
             for n in (1, 2, 3)]
    instances_insert(lines)
    assert [(line.item_code, line.qty) for line in lines] == [
        (row.item_code, row.qty) for row in SettlementLine.objects.filter(pk__in=[line.pk for line in lines])
        .order_by("pk")]


def test_instance_from_row_converts_as_the_orm_does():
    settlement = _settlement()
    instances_insert([settlement])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns_of(Settlement, 's')} FROM {Settlement._meta.db_table} s WHERE s.id = %s",
                       [settlement.pk])
        row = cursor.fetchone()
    raw = instance_from_row(Settlement, row)
    orm = Settlement.objects.get(pk=settlement.pk)
    for field in Settlement._meta.concrete_fields:
        assert getattr(raw, field.attname) == getattr(orm, field.attname), field.name
        assert type(getattr(raw, field.attname)) is type(getattr(orm, field.attname)), field.name
    assert raw.balc == Decimal("570.01") and isinstance(raw.setl_date, datetime.date)
    assert raw.response["汉字"] == "是" and not raw._state.adding
