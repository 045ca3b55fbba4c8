"""A template file per import kind: the kind's header row (CONTRACT.md "Import kinds") and one example row showing
each column's format (valid ID numbers, codes from the contract's lists), so a clerk starts from a file whose
shape is right."""

import csv
import io

from core.exports import BOM
from core.imports.base import IMPORT_KINDS, import_resource_class

# One example row per kind, by column (columns not named here are left blank).
EXAMPLES: dict[str, dict[str, str]] = {
    "roster": {"psn_no": "", "certno": "310101198005170342", "psn_name": "王芳", "gend": "2", "brdy": "1980-05-17",
               "psn_type": "1101", "insuplc_admdvs": "310000", "emp_no": "E310000001", "emp_name": "上海某某有限公司",
               "clct_base": "10000.00", "begndate": "2026-01-01", "retire_date": "", "psn_insu_stas": "1"},
    "family_links": {"holder_psn_no": "3100000000000001", "relative_certno": "310101201003070414",
                     "relative_name": "王小明", "relation": "child", "begndate": "2026-01-01", "enddate": ""},
    "facilities": {"fixmedins_code": "H31010100001", "fixmedins_name": "上海市某社区卫生服务中心",
                   "fixmedins_type": "1", "hosp_lv": "1", "admdvs": "310000", "begndate": "2026-01-01",
                   "enddate": "", "online_flag": "0"},
    "items": {"item_code": "XA01AAA001A001010100001", "item_name": "阿莫西林胶囊", "chrg_item_lv": "01",
              "selfpay_prop": "0", "pric_uplmt_amt": "12.50", "acct_pay_forbidden": "0", "sep_pay_flag": "0"},
    "diseases": {"opsp_dise_code": "M03900", "opsp_dise_name": "高血压", "opsp_dise_majcls_name": "循环系统疾病",
                 "recognition_criteria": "二级及以上医院确诊"},
    "recognitions": {"psn_no": "3100000000000001", "opsp_dise_code": "M03900", "fixmedins_code": "H31010100001",
                     "begndate": "2026-01-01", "enddate": ""},
    "contributions": {"psn_no": "3100000000000001", "period": "2026-01", "clct_base": "10000.00",
                      "psn_clct_amt": "200.00", "emp_clct_amt": "900.00"},
    "balances": {"psn_no": "3100000000000001", "pocket": "historical", "amount": "1234.56", "as_of": "2025-12-31"},
    "cross_region_filings": {"psn_no": "3100000000000001", "mdtrtarea_admvs": "370000", "filing_type": "long_term",
                             "begndate": "2026-01-01", "enddate": ""},
    "signings": {"psn_no": "3100000000000001", "fixmedins_code": "H31010100001", "begndate": "2026-01-01",
                 "enddate": ""},
}


def import_template_columns(kind: str) -> tuple[str, ...]:
    """The header row of KIND: its required columns, then the optional ones."""
    return import_resource_class(kind).all_columns()


def import_template_csv(kind: str) -> str:
    """KIND's template as CSV text (with a byte-order mark, so Excel opens the Chinese right)."""
    columns = import_template_columns(kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    example = EXAMPLES.get(kind, {})
    writer.writerow([example.get(column, "") for column in columns])
    return BOM + buffer.getvalue()


def import_templates() -> list[dict]:
    """Every kind with its columns (for the upload page)."""
    return [{"kind": kind, "columns": import_template_columns(kind)} for kind in IMPORT_KINDS]
