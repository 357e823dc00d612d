"""Printing `offlabel cdm check`: the tables' shape, the findings, and a verdict (rich)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from offlabel.cdm.quality import Finding, TableSummary


def render(summaries: list[TableSummary], findings: list[Finding], console) -> None:
    """Print the tables' rows and date ranges, the findings, and a one-line verdict.

    On a console narrower than 150 characters the findings' messages follow the table,
    numbered, instead of filling a narrow column of it.
    """
    shape = Table(title="CDM tables", title_justify="left")
    for name, justify in (("table", "left"), ("rows", "right"), ("first date", "left"), ("last date", "left")):
        shape.add_column(name, justify=justify)
    for s in summaries:
        shape.add_row(s.table, f"{s.rows:,}", str(s.first_date or ""), str(s.last_date or ""))
    console.print(shape)

    if findings:
        inline = console.width >= 150
        found = Table(title="Findings", title_justify="left", show_lines=inline)
        names = ("#", "severity", "check", "table.column", "count", "example id") + (("message",) if inline else ())
        for name in names:
            found.add_column(name, justify="right" if name in ("#", "count", "example id") else "left",
                             ratio=1 if name == "message" else None, overflow="fold")
        for i, f in enumerate(findings, 1):
            columns = (f.column or "").split(", ")
            where = f"{f.table}.{columns[0]}" if f.column else f.table
            where += f" (+{len(columns) - 1} more)" if len(columns) > 1 else ""
            example = "" if f.example_id is None else str(f.example_id)
            example = f"{f.id_column} {example}" if inline and f.id_column and example else example
            colour = "red" if f.severity == "error" else "yellow"
            found.add_row(str(i), f"[{colour}]{f.severity}[/]", f.check, escape(where), f"{f.count:,}",
                          escape(example), *((escape(f.message),) if inline else ()))
        console.print(found)
        if not inline:
            for i, f in enumerate(findings, 1):
                example = f" (Example: {f.id_column} {f.example_id}.)" if f.example_id is not None else ""
                console.print(f"{i}. {escape(f.message)}{escape(example)}")

    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if errors:
        console.print(f"[bold red]{errors} error(s)[/], {warnings} warning(s): the CDM does not follow the "
                      "specification; fix the errors before running studies on it.")
    elif warnings:
        console.print(f"[bold yellow]{warnings} warning(s)[/], no errors: studies can run; the warnings say "
                      "what they will miss.")
    else:
        console.print("[bold green]Clean[/]: no findings.")
