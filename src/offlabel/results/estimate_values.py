"""Estimate values: the Python value of each `estimate_type`, and its text in the CSV.

In Python an `estimate_value` is typed; it becomes text only at export:

| estimate_type                       | Python value      | text (as R's `as.character`) |
| ----------------------------------- | ----------------- | ---------------------------- |
| integer                             | int               | `12`                         |
| numeric, proportion, percentage     | float             | `3.4`, `5`, `1e-05`, `Inf`, `NaN` |
| logical                             | bool              | `TRUE` / `FALSE`             |
| date                                | datetime.date     | `2024-01-31` (ISO 8601)      |
| character                           | str               | as is                        |
| any (missing)                       | None              | `NA` (unquoted)              |
| any (suppressed)                    | SUPPRESSED        | `-`                          |

The types are omopgenerics' `estimateTypeChoices()` (R/classSummarisedResult.R). Since
omopgenerics 1.0 a suppressed value is the text "-" (visOmopResults::formatMinCellCount
shows it as "<{min_cell_count}"), so "-" is reserved: a character estimate may not be "-".

Floats are written with Python's shortest round-trip `repr` (R's `as.character` keeps 15
significant digits, which loses bits); an integral float drops its ".0" so that `5.0` is
written `5`, as R writes it.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from typing import Any

import numpy as np

#: omopgenerics::estimateTypeChoices(), in its order.
ESTIMATE_TYPES: tuple[str, ...] = (
    "numeric", "integer", "date", "character", "proportion", "percentage", "logical",
)
FLOAT_TYPES = frozenset({"numeric", "proportion", "percentage"})
NUMBER_TYPES = FLOAT_TYPES | {"integer"}
SUPPRESSED_TEXT = "-"
_TRUE = frozenset({"TRUE", "T", "True", "true"})
_FALSE = frozenset({"FALSE", "F", "False", "false"})


class _Suppressed:
    """The value of an estimate hidden by minimum cell count suppression (text "-")."""

    _instance: _Suppressed | None = None

    def __new__(cls) -> _Suppressed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SUPPRESSED"

    def __str__(self) -> str:
        return SUPPRESSED_TEXT

    def __reduce__(self):
        return (_Suppressed, ())


SUPPRESSED = _Suppressed()


def infer_estimate_type(estimate_name: str, value: Any) -> str:
    """The estimate_type of a Python value; floats named like "percentage"/"proportion" get that type."""
    if isinstance(value, (bool, np.bool_)):
        return "logical"
    if isinstance(value, numbers.Integral):
        return "integer"
    if isinstance(value, numbers.Real):
        for special in ("percentage", "proportion"):
            if special in estimate_name:
                return special
        return "numeric"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        return "character"
    if value is None or value is SUPPRESSED:
        raise ValueError(f"estimate {estimate_name!r} is {value!r}: its estimate_type cannot be inferred, "
                         "give it in estimate_types")
    raise ValueError(f"estimate {estimate_name!r} has a value of type {type(value).__name__}; use int, "
                     "float, bool, datetime.date, str or None")


def coerce_value(value: Any, estimate_type: str) -> Any:
    """`value` as the Python type of `estimate_type` (numpy scalars become Python ones).

    Raises ValueError with the reason when the value does not fit the type.
    """
    if value is None or value is SUPPRESSED:
        return value
    if estimate_type == "integer":
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        raise ValueError(f"an integer estimate must be an int, not {value!r}")
    if estimate_type in FLOAT_TYPES:
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            return float(value)
        raise ValueError(f"a {estimate_type} estimate must be a float, not {value!r}")
    if estimate_type == "logical":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(f"a logical estimate must be a bool, not {value!r}")
    if estimate_type == "date":
        if isinstance(value, dt.datetime):
            if value.tzinfo is None and value.time() == dt.time(0):
                return value.date()
            raise ValueError(f"a date estimate must be a datetime.date, not the date-time {value!r}")
        if isinstance(value, dt.date):
            return value
        raise ValueError(f"a date estimate must be a datetime.date, not {value!r}")
    if estimate_type == "character":
        if not isinstance(value, str):
            raise ValueError(f"a character estimate must be a str, not {value!r}")
        if value == SUPPRESSED_TEXT:
            raise ValueError('"-" is reserved for suppressed values; use offlabel.results.SUPPRESSED')
        return value
    raise ValueError(f"estimate_type {estimate_type!r} is not one of {', '.join(ESTIMATE_TYPES)}")


def format_value(value: Any) -> str | None:
    """The CSV text of a typed value; None stands for R's NA."""
    if value is None:
        return None
    if value is SUPPRESSED:
        return SUPPRESSED_TEXT
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_float(value: float) -> str:
    """Shortest text that reads back to the same float, in R's spelling of the specials."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def parse_value(text: str | None, estimate_type: str) -> Any:
    """The typed value of the CSV text of an estimate; raises ValueError if it does not parse."""
    if text is None:
        return None
    if text == SUPPRESSED_TEXT:
        return SUPPRESSED
    if estimate_type == "character":
        return text
    if text == "NA":
        return None
    if estimate_type == "integer":
        try:
            return int(text)
        except ValueError:
            number = float(text)  # R may spell a whole number "1e+05"
            if not number.is_integer():
                raise ValueError(f"{text!r} is not an integer") from None
            return int(number)
    if estimate_type in FLOAT_TYPES:
        return float(text)
    if estimate_type == "logical":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{text!r} is not TRUE or FALSE")
    if estimate_type == "date":
        return dt.date.fromisoformat(text)
    raise ValueError(f"estimate_type {estimate_type!r} is not one of {', '.join(ESTIMATE_TYPES)}")


def setting_text(value: Any) -> str | None:
    """A settings value as text: omopgenerics keeps every setting as character."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return format_float(float(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValueError(f"a setting must be a str, int, float, bool, date or None, not {value!r}")
