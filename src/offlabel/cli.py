"""The `offlabel` command line: demo, run, synth, cdm check.

Exit codes (DESIGN.md): 0 done; 1 the study ran but a diagnostic gate failed (or `cdm check`
found warnings only); 2 bad input, with one clear paragraph on stderr and no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from offlabel.errors import OfflabelError

app = typer.Typer(
    name="offlabel",
    help="Real-world evidence on off-label drug use from OMOP CDM data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cdm_app = typer.Typer(help="Inspect a CDM: its shape and data quality.", no_args_is_help=True)
app.add_typer(cdm_app, name="cdm")

_state = {"debug": False}
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)

CDM_HELP = ("The CDM: a .duckdb file, a folder of Parquet/CSV files, a .zip of CSV files, or "
            "postgresql://user@host:port/db?cdm_schema=cdm&results_schema=results.")


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors.")):
    _state["debug"] = debug


@app.command()
def run(
    study: Path = typer.Argument(..., help="The study file (.yaml)."),
    cdm: str = typer.Option(..., "--cdm", help=CDM_HELP),
    out_dir: Path = typer.Option(..., "--out", help="Output folder for results.csv, report.html, manifest.json."),
    min_cell_count: Optional[int] = typer.Option(None, help="Override the study's min_cell_count."),
):
    """Run a study on a CDM and write results.csv, report.html and manifest.json."""
    from offlabel.run import run_study

    code = run_study(study, cdm, out_dir, min_cell_count=min_cell_count, console=err)
    raise typer.Exit(code)


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("out/demo"), "--out", help="Output folder of the demo run."),
    world: Optional[Path] = typer.Option(None, help="Use this CDM instead of the cached demo world."),
):
    """Build the demo synthetic world (once, cached) and run studies/ldn_ms.yaml on it."""
    from offlabel.demo import run_demo

    raise typer.Exit(run_demo(out_dir, world=world, console=err))


@app.command()
def synth(
    persons: int = typer.Option(..., min=1, help="Number of persons."),
    seed: int = typer.Option(1, help="Random seed: same persons, seed and config give the same CDM."),
    out_path: Path = typer.Option(..., "--out", help="A .duckdb file, or a folder for Parquet files."),
    config: Optional[Path] = typer.Option(None, help="A world config (.yaml); default: Norway-like."),
):
    """Write a synthetic OMOP CDM v5.4 with planted truths (truth.json beside it)."""
    from offlabel.synth import synthesize

    synthesize(persons=persons, seed=seed, out=out_path, config=config, progress=True)
    err.print(f"Wrote the synthetic CDM to {out_path}")


@cdm_app.command("check")
def cdm_check(cdm: str = typer.Option(..., "--cdm", help=CDM_HELP)):
    """Print row counts, date ranges and data-quality findings. Exit 0 clean, 1 warnings, 2 errors."""
    from offlabel.cdm import connect
    from offlabel.cdm.quality import check, describe, exit_code
    from offlabel.cdm.quality_report import render

    with connect(cdm) as ref:
        with err.status("Checking the CDM..."):
            summaries = describe(ref)
            findings = check(ref)
        render(summaries, findings, out)
    raise typer.Exit(exit_code(findings))


def main(argv: list[str] | None = None) -> None:
    """Entry point: turn user-facing errors into one paragraph and exit code 2."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        # Without standalone mode, click returns the code of a `typer.Exit` instead of raising it.
        code = app(args=argv, standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except OfflabelError as e:
        _fail(str(e), e, debug, e.exit_code)
    except KeyboardInterrupt:
        err.print("Interrupted; nothing was written.")
        sys.exit(130)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:  # usage errors, database errors, and bugs
        if isinstance(e, typer.TyperException) and hasattr(e, "show"):  # bad arguments: usage and exit 2
            e.show()
            sys.exit(getattr(e, "exit_code", 2))
        if _is_database_error(e):
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            _fail(f"The database could not run one of offlabel's queries: {first}. This usually means the CDM "
                  "does not follow the OMOP CDM specification; run `offlabel cdm check --cdm ...` to find out "
                  "where.", e, debug, 2)
        _fail(f"offlabel failed unexpectedly ({type(e).__name__}: {e}). This is a bug: please report it "
              "with the output of the same command run with --debug.", e, debug, 3)


def _fail(message: str, exc: BaseException, debug: bool, code: int) -> None:
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    sys.exit(code)


def _is_database_error(e: BaseException) -> bool:
    names = {c.__module__.split(".")[0] for c in type(e).__mro__}
    return bool(names & {"duckdb", "psycopg", "ibis"})


if __name__ == "__main__":
    main()
