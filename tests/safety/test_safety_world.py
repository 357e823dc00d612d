"""Planted truths recovered on a synthetic world (offlabel.synth; what it plants: synth/events.py).

The world: 40,000 persons of the MS-raised config (tests/helpers/worlds.py: MS prevalence x 20) with LDN start rates raised (MS and
pain x 10, other adults x 300: about 3,700 starters) and every acute-condition rate x 10, so that the
30-day window after the first collection holds enough events. It plants, relative to each person's
own constant baseline rate:
- adverse events in days [1, 30] after the first LDN collection: insomnia IRR 2.0, nausea 1.8,
  headache and toxic liver disease 1.0 (extra events at (IRR - 1) x the baseline rate);
- positive controls during the LDN exposure era (first collection to last collection + 89 days):
  viral sinusitis 1.5, acute pharyngitis 2.0, tinea pedis 4.0; negative controls: none.
Because the extra events are proportional to the person's own rate and the rate does not change
over time, the rate ratio of the same persons on vs off treatment estimates the planted ratio. The
study uses the LDN products only (high-dose naltrexone carries no effect) and a persistence gap of
365 days, so that each person's drug era is the planted exposure era (refill gaps are exponential
with a 20-day mean; with a 90-day gap about 1% of them would split an era).

The study publishes every count (min_cell_count 1): toxic liver disease has about one event in the
window. Tolerance: the exact rate-ratio interval at the Bonferroni level 1 - 0.05 / (number of checks), so
that the whole test fails by chance in at most 5% of worlds; recomputed from the published counts.
"""

from __future__ import annotations


import duckdb
import numpy as np
import pandas as pd
import pytest

from offlabel.stats.rates import rate_ratio
from offlabel.synth import synthesize
from offlabel.synth.config import WorldConfig
from tests.helpers.worlds import ms_raised

SEED = 5
AES = {"insomnia": "193462001", "nausea": "422587007", "headache": "25064002", "liver_injury": "197354009"}
PCS = {"viral_sinusitis": "444814009", "acute_pharyngitis": "405737000", "tinea_pedis": "6020002"}
NCS = {"conjunctivitis": "9826008", "sinusitis": "36971009", "contact_dermatitis": "40275004",
       "sprain_of_ankle": "44465007"}
CHECKS = len(AES) + len(PCS) + len(NCS) + 1  # + the tolerability share


def world_config() -> WorldConfig:
    d = ms_raised()
    d["ldn"]["ms_start_rate_per_month"] *= 10
    d["ldn"]["pain_start_rate_per_month"] *= 10
    d["ldn"]["other_start_rate_per_month"] *= 300
    d["conditions"]["rate_multiplier"] = 10.0
    return WorldConfig.model_validate(d)


def study_text(ldn_products: list[int]) -> str:
    sets = "\n".join(f"  {k}: [{{vocabulary: SNOMED, code: '{code}'}}]" for k, code in {**AES, **PCS, **NCS}.items())
    return f"""
spec_version: 1
name: safety_world
min_cell_count: 1
seed: 1
concept_sets:
  ldn: [{', '.join(f'{{concept_id: {c}}}' for c in ldn_products)}]
{sets}
cohorts:
  ldn_new_users:
    entry: {{concept_set: ldn, events: first_ever}}
analyses:
  - {{type: tolerability, cohort: ldn_new_users, drug: ldn, gap_days: 365, times_days: [91, 182, 365]}}
  - {{type: adverse_events, id: early, cohort: ldn_new_users, drug: ldn, gap_days: 365,
     outcomes: [{', '.join(AES)}], risk_window: {{start: 1, end: 30}}}}
  - {{type: adverse_events, id: exposure, cohort: ldn_new_users, drug: ldn, gap_days: 365,
     outcomes: [{', '.join([*PCS, *NCS])}]}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("safety_world") / "cdm.duckdb"
    truth = synthesize(40_000, SEED, out, world_config(), progress=False)
    return out, truth


@pytest.fixture(scope="module")
def results(world, tmp_path_factory):
    from offlabel.run import run_study

    path, truth = world
    folder = tmp_path_factory.mktemp("safety_run")
    study = folder / "study.yaml"
    study.write_text(study_text(truth["concepts"]["ldn_products"]), encoding="utf-8")
    assert run_study(study, str(path), folder / "out") == 0
    d = pd.read_csv(folder / "out" / "results.csv", dtype=str, keep_default_na=False)
    return d[d.variable_name != "settings"]


def _value(d, **where):
    rows = d
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, where
    return rows.estimate_value.iloc[0]


def _counts(d, outcome: str, period: str) -> tuple[int, int]:
    rows = d[d.group_level.str.endswith(f"&&& {outcome}") & (d.strata_level == period)]
    events = int(rows[rows.estimate_name == "outcome_count"].estimate_value.iloc[0])
    days = int(rows[rows.estimate_name == "person_days"].estimate_value.iloc[0])
    return events, days


def _rate_ratio(d, outcome: str, level: float = 1 - 0.05 / CHECKS):
    (x1, t1), (x2, t2) = _counts(d, outcome, "on treatment"), _counts(d, outcome, "off treatment")
    return rate_ratio(x1, t1, x2, t2, level=level)


@pytest.mark.parametrize("outcome", list(AES))
def test_early_adverse_events_recover_the_planted_irr(world, results, outcome):
    truth = world[1]["planted"]["adverse_events"][outcome]
    assert truth["window_days"] == [1, 30]
    rr = _rate_ratio(results, outcome)
    assert rr.lower <= truth["irr"] <= rr.upper, (outcome, truth["irr"], rr)


@pytest.mark.parametrize("outcome", list(PCS))
def test_positive_controls_recover_the_planted_hazard_ratio(world, results, outcome):
    truth = world[1]["planted"]["positive_controls"][outcome]["hazard_ratio"]
    rr = _rate_ratio(results, outcome)
    assert rr.lower <= truth <= rr.upper, (outcome, truth, rr)


@pytest.mark.parametrize("outcome", list(NCS))
def test_negative_controls_cover_one(world, results, outcome):
    assert outcome in world[1]["planted"]["negative_controls"]["outcomes"]
    rr = _rate_ratio(results, outcome)
    assert rr.lower <= 1.0 <= rr.upper, (outcome, rr)


def test_planted_effects_are_detected(results):
    """The published 95% intervals exclude 1 for the effects planted (the test has power)."""
    for outcome in ("insomnia", "nausea", "tinea_pedis", "acute_pharyngitis"):
        lower = float(_value(results, group_level=f"ldn_new_users &&& {outcome}", strata_level="on vs off treatment",
                             estimate_name="rate_ratio_95CI_lower"))
        assert lower > 1.0, outcome


def test_discontinuation_at_3_months_is_the_share_collecting_once(world, results):
    """Starters planned to collect once (share 0.35, drawn at random) end their only 90-day supply
    on day 89; everyone else collects again before day 91 (gap 365: no era splits)."""
    share = world_config().ldn.collection_strata["1"]
    v = {r.estimate_name: r.estimate_value for r in results[(results.variable_name == "cumulative discontinuation")
                                                           & (results.variable_level == "91 days")].itertuples()}
    est = float(v["cumulative_incidence"])
    # the published 95% interval, widened to the Bonferroni level through the KM standard error
    lo, hi = float(v["cumulative_incidence_95CI_lower"]), float(v["cumulative_incidence_95CI_upper"])
    from scipy.stats import norm

    widen = norm.ppf(1 - 0.025 / CHECKS) / norm.ppf(0.975)
    assert est - widen * (est - lo) <= share <= est + widen * (hi - est), (est, lo, hi)


def test_person_days_and_events_match_a_brute_force_count(world, results):
    """On vs off treatment, day by day in pandas from the raw tables, for one positive control."""
    path, truth = world
    ldn = ",".join(map(str, truth["concepts"]["ldn_products"]))
    concept = truth["concepts"]["conditions"]["tinea_pedis"]["concept_id"]
    con = duckdb.connect(str(path), read_only=True)
    de = con.sql(f"select person_id p, drug_exposure_start_date s, drug_exposure_end_date e from drug_exposure "
                 f"where drug_concept_id in ({ldn})").df()
    op = con.sql("select person_id p, observation_period_start_date s, observation_period_end_date e "
                 "from observation_period").df()
    co = con.sql(f"select distinct person_id p, condition_start_date d from condition_occurrence "
                 f"where condition_concept_id = {concept}").df()
    con.close()
    day = lambda s: (pd.to_datetime(s) - pd.Timestamp("1970-01-01")).dt.days.to_numpy()  # noqa: E731
    de = de.assign(s=day(de.s), e=day(de.e)).sort_values(["p", "s"])
    op = op.assign(s=day(op.s), e=day(op.e)).set_index("p")
    events = co.assign(d=day(co.d)).groupby("p").d.apply(np.array).to_dict()
    on = off = on_events = off_events = 0
    for p, g in de.groupby("p"):
        index, end = g.s.min(), op.e[p]
        if not op.s[p] <= index <= end:
            continue
        covered = np.zeros(end - index + 1, bool)
        for s, e in zip(g.s, g.e):  # gap 365 joins every record of a person here (gaps are < 365 days)
            covered[max(s, index) - index:min(e, end) - index + 1] = True
        first, last = np.flatnonzero(covered)[[0, -1]]
        covered[first:last + 1] = True
        on += covered.sum()
        off += (~covered).sum()
        d = events.get(p, np.array([], int))
        d = d[(d >= index) & (d <= end)] - index
        on_events += covered[d].sum()
        off_events += (~covered[d]).sum()
    assert _counts(results, "tinea_pedis", "on treatment") == (on_events, on)
    assert _counts(results, "tinea_pedis", "off treatment") == (off_events, off)
