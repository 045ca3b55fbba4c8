"""Bulk imports (CONTRACT.md "Import kinds"): read a CSV or XLSX file of a KIND, validate every row, report every
bad row as `row N, column C: message`, and write nothing unless every row is good, in one transaction.

- `base`: the kinds, reading, `RowReader` (one row's typed cells) and `ImportResource`, the django-import-export
  resource base whose `validate_row` is the one validation of a row (the admin's preview pages use it row by row);
- `streaming` and `engine`: `import_file`, which streams the file, validates in batches and writes set-based
  (`writers`, `sql`); the command `import_csv` and the background jobs (`jobs`) call it.
"""

from core.imports.base import (
    IMPORT_KIND_LABELS,
    IMPORT_KINDS,
    PRELOAD_CHUNK,
    ImportFileError,
    ImportOutcome,
    ImportResource,
    RowReader,
    Table,
    assign,
    cell_text,
    chunked,
    header_problem,
    import_file_rowwise,
    import_kinds,
    import_resource_class,
    import_table,
    preload,
    result_error_lines,
    row_error_line,
)
from core.imports.engine import BATCH_ROWS, ImportProgress, ProgressCallback, import_file
from core.imports.streaming import read_table

__all__ = [
    "BATCH_ROWS", "IMPORT_KIND_LABELS", "IMPORT_KINDS", "PRELOAD_CHUNK", "ImportFileError", "ImportOutcome",
    "ImportProgress",
    "ImportResource", "ProgressCallback", "RowReader", "Table", "assign", "cell_text", "chunked", "header_problem",
    "import_file", "import_file_rowwise", "import_kinds", "import_resource_class", "import_table", "preload",
    "read_table", "result_error_lines", "row_error_line",
]
