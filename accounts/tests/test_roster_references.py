"""The roster's references on PostgreSQL: checked once per statement by triggers (migration 0018), with the same
guarantee as the foreign keys they replace: no row refers to a missing one, and no referenced row is deleted or
renumbered while a row refers to it, even by a deletion racing an import."""

import datetime
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction

from accounts.models import Employer, Enrollment, EnrollmentStatus, Person
from accounts.tests.factories import EmployerFactory, EnrollmentFactory, PersonFactory, RegionFactory
from policies.models import Region

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MISSING = 999_999_999


def _raw_delete(model: type, pk: int) -> None:
    model.objects.filter(pk=pk)._raw_delete(model.objects.db)


def test_a_row_that_refers_to_a_missing_row_is_refused_at_once():
    enrollment = EnrollmentFactory()
    region, employer = enrollment.region, enrollment.employer

    def new(**refs: int) -> Enrollment:
        values = {"person_id": PersonFactory().pk, "region_id": region.pk, "employer_id": employer.pk, **refs}
        return Enrollment(psn_type="1101", clct_base="8000.00", begndate=datetime.date(2015, 1, 1), **values)

    for refs in ({"person_id": MISSING}, {"region_id": MISSING}, {"employer_id": MISSING}):
        with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
            Enrollment.objects.bulk_create([new(), new(**refs)])
        with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
            Enrollment.objects.filter(pk=enrollment.pk).update(**refs)
    Enrollment.objects.bulk_create([new(employer_id=None)])  # no employer is no reference
    with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
        EnrollmentStatus.objects.bulk_create([EnrollmentStatus(
            enrollment_id=MISSING, stas_date=datetime.date(2025, 1, 1), psn_insu_stas="1")])
    for history in (Person.history, Enrollment.history, Employer.history):
        row = history.order_by("history_id").first()
        with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
            history.filter(history_id=row.history_id).update(history_user_id=MISSING)
    assert Enrollment.objects.count() == 2


def test_a_referenced_row_cannot_be_deleted_or_renumbered():
    user = get_user_model().objects.create(username="importer")
    enrollment = EnrollmentFactory()
    enrollment.history.update(history_user=user)
    status = enrollment.status_changes.get()
    for model, pk in ((Person, enrollment.person_id), (Region, enrollment.region_id),
                      (Employer, enrollment.employer_id), (Enrollment, enrollment.pk), (get_user_model(), user.pk)):
        with pytest.raises(IntegrityError, match="still referenced"), transaction.atomic():
            _raw_delete(model, pk)
        with pytest.raises(IntegrityError, match="still referenced"), transaction.atomic():
            model.objects.filter(pk=pk).update(id=pk + 1000)
    # Deleted in order (what refers first), each deletion goes through.
    unused = EmployerFactory(region=enrollment.region)
    _raw_delete(Employer, unused.pk)
    _raw_delete(EnrollmentStatus, status.pk)
    Enrollment.history.all().delete()
    _raw_delete(Enrollment, enrollment.pk)
    _raw_delete(Person, enrollment.person_id)
    assert not Enrollment.objects.exists()
    assert not Person.objects.filter(pk=enrollment.person_id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_deletion_racing_a_new_reference_waits_and_is_refused():
    """The insert's trigger locks the person FOR KEY SHARE; a deletion of it in another transaction waits for that
    lock and, once the enrollment is committed, its own check (an AFTER trigger, a fresh snapshot) sees it."""
    region = RegionFactory()
    person = PersonFactory()
    inserted, failures = threading.Event(), []

    def delete() -> None:  # on the thread's own connection
        inserted.wait(30)
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '20s'")
                cursor.execute(f"DELETE FROM {Person._meta.db_table} WHERE id = %s", [person.pk])
        except Exception as e:  # noqa: BLE001 - the refusal is what is expected
            failures.append(e)
        finally:
            connections["default"].close()

    thread = threading.Thread(target=delete)
    thread.start()
    with transaction.atomic():
        Enrollment.objects.bulk_create([Enrollment(person=person, region=region, psn_type="1103",
                                                   clct_base="8000.00", begndate=datetime.date(2015, 1, 1))])
        inserted.set()
        with connection.cursor() as cursor:  # the deletion is waiting for the person's lock
            cursor.execute("SELECT pg_sleep(0.5)")
    thread.join(40)
    assert len(failures) == 1 and "still referenced" in str(failures[0])
    assert Person.objects.filter(pk=person.pk).exists()
    Enrollment.objects.all().delete()
