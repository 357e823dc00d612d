"""Results: the DARWIN EU / omopgenerics `summarised_result`, typed in Python.

- `SummarisedResult`: the long table of estimates plus settings (summarised_result.py)
- `result_rows`, `bind`: build and combine results
- `suppress`: minimum cell count suppression (suppression.py)
- `export_summarised_result`, `import_summarised_result`: the CSV that
  omopgenerics::importSummarisedResult reads (export.py)
"""

from offlabel.results.estimate_values import ESTIMATE_TYPES, SUPPRESSED
from offlabel.results.export import export_summarised_result, import_summarised_result
from offlabel.results.schema import RESULT_COLUMNS, ResultError, ResultRow
from offlabel.results.summarised_result import SummarisedResult, bind, result_rows
from offlabel.results.suppression import is_count, suppress

__all__ = [
    "ESTIMATE_TYPES", "RESULT_COLUMNS", "SUPPRESSED", "ResultError", "ResultRow", "SummarisedResult",
    "bind", "export_summarised_result", "import_summarised_result", "is_count", "result_rows", "suppress",
]
