"""What the CDM holds: persons, observation time and provenance (as OmopSketch's snapshot)."""

from __future__ import annotations

from offlabel.results import SummarisedResult, result_rows


def run(context, settings) -> SummarisedResult:
    cdm = context.cdm
    op = cdm.table("observation_period")
    days = op.observation_period_end_date.delta(op.observation_period_start_date, unit="day") + 1
    stats = op.aggregate(
        periods=op.count(),
        persons_observed=op.person_id.nunique(),
        first=op.observation_period_start_date.min(),
        last=op.observation_period_end_date.max(),
        days=days.sum(),
    ).to_pyarrow().to_pylist()[0]
    persons = cdm.table("person").count().to_pyarrow().as_py()
    source = cdm.cdm_source

    def rows(variable, estimates, level=None, types=None):
        return result_rows(cdm_name=cdm.name, variable_name=variable, variable_level=level,
                           estimates=estimates, estimate_types=types)

    out = [
        *rows("Number of persons", {"count": int(persons)}),
        *rows("Number of persons with observation", {"count": int(stats["persons_observed"])}),
        *rows("Number of observation periods", {"count": int(stats["periods"])}),
        *rows("Observation period", {"min": stats["first"]}, level="start", types={"min": "date"}),
        *rows("Observation period", {"max": stats["last"]}, level="end", types={"max": "date"}),
        *rows("Person-years of observation", {"sum": round(float(stats["days"] or 0) / 365.25, 1)}),
        *rows("CDM", {"value": cdm.version}, level="version"),
    ]
    for key in ("cdm_source_name", "cdm_holder", "source_release_date", "cdm_release_date", "vocabulary_version"):
        if source.get(key) is not None:
            out += rows("CDM source", {"value": str(source[key])}, level=key)
    return SummarisedResult.from_rows(out, settings={1: context.settings(settings, "summarise_omop_snapshot")})
