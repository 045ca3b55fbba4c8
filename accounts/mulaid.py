"""Family mutual aid's bounds (家庭共济, CONTRACT.md "Resident insurance and treatment in another region"), in one
place: settlements (claims.services) and relatives' contributions paid from an account (accounts.family_payments)
both ask `mulaid_refusal` whether a holder's account may pay, and read a status on a day through `status_on_sql`.

A relative's account pays only when the holder's employee enrollment is active on the service date (its dated
status, `stas_date`, not today's) and the holder's insured region is the patient's insured region (for a patient
with no insurance here: the facility's region). Mutual aid stays within one region in every version.
"""

import datetime

from django.utils.translation import gettext as _

from accounts.models import EnrollmentStatus, InsuStatus


def status_on_sql(enrollment: str, day_sql: str = "%s") -> str:
    """SQL for the insured status of the enrollment aliased `enrollment` on the day `day_sql` (by default one bound
    parameter): the last dated status that took effect on or before that day (NULL: none had yet); an enrollment
    without any dated status has its present status throughout (Enrollment.status_on, in SQL)."""
    table = EnrollmentStatus._meta.db_table
    return (f"COALESCE((SELECT s.psn_insu_stas FROM {table} s WHERE s.enrollment_id = {enrollment}.id "
            f"AND s.stas_date <= {day_sql} ORDER BY s.stas_date DESC LIMIT 1), "
            f"CASE WHEN NOT EXISTS (SELECT 1 FROM {table} s0 WHERE s0.enrollment_id = {enrollment}.id) "
            f"THEN {enrollment}.psn_insu_stas END)")


def holder_active(*, status: str | None, begndate: datetime.date | None, enddate: datetime.date | None,
                  day: datetime.date) -> bool:
    """An employee enrollment (its begndate, enddate and status on `day`) insured and active on `day`; begndate None:
    the holder has no employee enrollment."""
    return (begndate is not None and begndate <= day and (enddate is None or day <= enddate)
            and status == InsuStatus.ACTIVE)


def mulaid_refusal(*, holder_psn_no: str, holder_admdvs: str, active: bool, patient_admdvs: str,
                   day: datetime.date) -> str | None:
    """Why `holder_psn_no`'s account may not pay for a relative on `day` (None: it may). `holder_admdvs`: the
    holder's insured region ("" without employee insurance); `active`: holder_active on `day`; `patient_admdvs`:
    the patient's insured region, or for a patient with no insurance here the facility's region ("" for a
    contribution of a relative without insurance: no region to keep to)."""
    if not holder_admdvs or not active:
        return (_("%(holder)s's employee insurance is not active on %(day)s: the account may not pay for a relative")
                % {"holder": holder_psn_no, "day": day})
    if patient_admdvs and holder_admdvs != patient_admdvs:
        return (_("%(holder)s is insured in region %(holder_admdvs)s, not in %(admdvs)s: mutual aid stays within "
                  "one region")
                % {"holder": holder_psn_no, "holder_admdvs": holder_admdvs, "admdvs": patient_admdvs})
    return None
