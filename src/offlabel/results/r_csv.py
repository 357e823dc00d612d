"""CSV text as R writes it with `utils::write.csv`, and a reader that tells NA from "NA".

omopgenerics >= 1.0 exportSummarisedResult converts every column to UTF-8 character
(`purrr::map(x, stringi::stri_enc_toutf8)`) and calls `utils::write.csv(row.names = FALSE)`,
so: the header and every value are double-quoted, an embedded quote is doubled, a
missing value is the bare word NA, fields are separated by "," and lines end in "\\n"
(the last one too). Earlier omopgenerics wrote with `readr::write_csv` (quotes only when
needed); the reader takes both.

The readers keep the quoting: a bare NA (or a bare empty field, as readr reads it) is
None, a quoted "NA" or "" is that text; Python's csv module cannot tell them apart.
`read_csv` is the fast one (pyarrow's C++ reader); `read_csv_text` is pure Python and
knows line numbers, so it is used to say where a file is wrong.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv

# a field, quoted (quote, text) or bare, then what ends it; or else one stray character
_TOKEN = re.compile(r'(?:(")([^"]*(?:""[^"]*)*)"|([^,"\r\n]*))(,|\r\n|\n|\r|\Z)|(.)', re.DOTALL)


class CsvFormatError(ValueError):
    """The text is not well-formed CSV; `line` is where the problem is (1-based)."""

    def __init__(self, message: str, line: int):
        self.line = line
        super().__init__(f"line {line}: {message}")


def format_cell(value: str | None) -> str:
    """One field as write.csv writes a character value: quoted, or NA when missing."""
    if value is None:
        return "NA"
    return '"' + value.replace('"', '""') + '"'


def write_csv_text(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    """The whole file as text, header first, one "\\n"-terminated line per row."""
    lines = [",".join(format_cell(name) for name in header)]
    lines.extend(",".join(format_cell(value) for value in row) for row in rows)
    return "\n".join(lines) + "\n"


def read_csv(text: str) -> list[list[str | None]]:
    """Every record, header included, as in `read_csv_text` but without line numbers."""
    header = read_csv_text(text.split("\n", 1)[0])
    if not header:
        return []
    names = [f"f{k}" for k in range(len(header[0][1]))]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names}, null_values=["NA", ""],
                strings_can_be_null=True, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        for line, fields in read_csv_text(text):  # raises CsvFormatError with the line, if it can
            if len(fields) != len(names):
                raise CsvFormatError(f"{len(fields)} fields, expected {len(names)} as in the header", line) from None
        raise CsvFormatError(f"not readable as CSV ({exc})", 1) from None
    return [list(record) for record in zip(*(column.to_pylist() for column in table.columns))]


def read_csv_text(text: str) -> list[tuple[int, list[str | None]]]:
    """(line number, fields) of every record; a bare NA or empty field is None.

    Quoted fields may span lines; "\r\n", "\n" and "\r" end a record; a blank line is
    ignored. Raises CsvFormatError on a stray or unterminated quote.
    """
    records: list[tuple[int, list[str | None]]] = []
    fields: list[str | None] = []
    line = start = 1
    # The last branch of _TOKEN takes any one character, so the tokens cover the whole text
    # without gaps and the scanning runs in C; a "stray" token is a quoting error.
    for opening_quote, quoted, bare, separator, stray in _TOKEN.findall(text):
        if stray:
            raise CsvFormatError(_stray_message(text), _stray_line(text))
        if opening_quote:
            if '"' in quoted:
                quoted = quoted.replace('""', '"')
            if "\n" in quoted:
                line += quoted.count("\n")
            fields.append(quoted)
        else:
            fields.append(None if bare in ("", "NA") else bare)
        if separator != ",":
            if fields != [None]:  # a blank line
                records.append((start, fields))
            fields = []
            line += 1
            start = line
    return records


def _stray_match(text: str) -> re.Match:
    return next(m for m in _TOKEN.finditer(text) if m.group(5))


def _stray_line(text: str) -> int:
    return text.count("\n", 0, _stray_match(text).start()) + 1


def _stray_message(text: str) -> str:
    char = _stray_match(text).group(5)
    problem = "a stray or unterminated quote" if char == '"' else f"{char!r} after a closing quote"
    return f"{problem} (expected a comma or the end of the line)"
