"""Condition records: chronic conditions, acute conditions, adverse events of interest,
negative and positive controls, and the MS records (diagnosis, subtype, SP conversion, relapses).

Chronic conditions start by an age-dependent (Gompertz-like) hazard and are recorded at the
first contact after onset and at follow-ups. Acute conditions recur as Poisson processes.
Planted effects are superposed MethodEvaluation-style: for an IRR or HR above 1, extra events
at (ratio - 1) x the person's own baseline rate are injected inside the risk window or the LDN
exposure era (so confounding in the baseline rate carries over); below 1, baseline events in
the window are thinned. Injected counts go to truth.json.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offlabel.synth.config import ConditionsConfig, EffectsConfig
from offlabel.synth.dmt import Treatment
from offlabel.synth.ldn import LDNUse
from offlabel.synth.ms import PP, MSCourse
from offlabel.synth.persons import Persons, expand, uniform_days
from offlabel.synth.timeline import DAYS_PER_YEAR, NEVER
from offlabel.synth.vocabulary import read_data

OUTPATIENT, INPATIENT, EMERGENCY = 0, 1, 2
PAIN_CONDITIONS = ("fibromyalgia", "chronic_pain", "low_back_pain", "migraine", "depression")


@dataclass
class ConditionRecords:
    person: np.ndarray
    day: np.ndarray
    condition: np.ndarray   # index into condition_keys()
    visit: np.ndarray       # OUTPATIENT / INPATIENT / EMERGENCY

    @staticmethod
    def concat(parts):
        return ConditionRecords(*(np.concatenate([getattr(x, k) for x in parts]) for k in ("person", "day", "condition", "visit")))


def condition_rows() -> list[dict]:
    return read_data("conditions.csv")


def condition_keys() -> list[str]:
    return [r["key"] for r in condition_rows()]


def _rec(person, d, key, visit=OUTPATIENT) -> ConditionRecords:
    ci = condition_keys().index(key)
    return ConditionRecords(np.asarray(person), np.asarray(d, dtype=np.int64), np.full(len(person), ci),
                            np.broadcast_to(np.asarray(visit), (len(person),)).copy())


def chronic_onsets(p: Persons, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Onset day of each chronic condition per person (NEVER when it never starts in life)."""
    out = {}
    for r in condition_rows():
        if r["kind"] != "chronic":
            continue
        c = float(r["rate"]) * np.where(p.female, float(r["female_rr"]), 1.0) * p.frailty
        if r["key"] in PAIN_CONDITIONS:
            c = c * np.exp(0.6 * p.pain - 0.18)
        b = float(r["age_slope"])
        e = rng.exponential(1.0, p.n)
        if b > 0:
            age = 50 + np.log(np.exp(-50 * b) + e * b / c) / b
        else:
            age = e / c + 2.0  # constant hazard from age 2
        onset = p.birth + (age * DAYS_PER_YEAR).astype(np.int64)
        out[r["key"]] = np.where(age < 120, onset, NEVER)
    return out


def chronic_records(p: Persons, onsets: dict[str, np.ndarray], rng) -> ConditionRecords:
    parts = []
    fu_rate = {r["key"]: float(r["follow_up_per_year"] or 0) for r in condition_rows()}
    for key, onset in onsets.items():
        seen = onset <= p.exit
        i = np.flatnonzero(seen)
        prevalent = onset[i] < p.entry[i]
        first = np.where(prevalent, p.entry[i] + rng.integers(0, 365, len(i)), onset[i])
        ok = first <= p.exit[i]
        parts.append(_rec(i[ok], first[ok], key))
        span = (p.exit[i] - first + 1).clip(0)
        k = rng.poisson(fu_rate[key] * span / DAYS_PER_YEAR)
        owner = expand(k)
        parts.append(_rec(i[owner], uniform_days(rng, first[owner], p.exit[i][owner]), key))
    return ConditionRecords.concat(parts)


def acute_records(p: Persons, ldn: LDNUse, cfg: ConditionsConfig, effects: EffectsConfig,
                  rng) -> tuple[ConditionRecords, dict]:
    """Acute conditions, adverse events, negative and positive controls, with planted effects."""
    parts, truth = [], {"adverse_events": {}, "positive_controls": {}}
    years = p.observed_years()
    age_mid = p.age((p.entry + p.exit) / 2)
    ae = effects.adverse_events
    pcs = {pc.outcome: pc.hazard_ratio for pc in effects.positive_controls}
    li = ldn.idx
    for r in condition_rows():
        if r["kind"] not in ("acute", "ae", "nc", "pc"):
            continue
        key = r["key"]
        rate = (float(r["rate"]) / 1000 * cfg.rate_multiplier * np.where(p.female, float(r["female_rr"]), 1.0)
                * np.exp(float(r["age_slope"]) * (age_mid - 45)) * p.frailty)  # per person-year
        k = rng.poisson(rate * years)
        owner = expand(k)
        d = uniform_days(rng, p.entry[owner], p.exit[owner])
        visit = np.where(key == "sprain_of_ankle", EMERGENCY, OUTPATIENT)
        if key in ae or key in pcs:
            if key in ae:
                w = ae[key]
                lo = ldn.index_day + w.window_start
                hi = np.minimum(ldn.index_day + w.window_end, p.exit[li])
                ratio = w.irr
            else:
                lo, hi, ratio = ldn.index_day, ldn.era_end, pcs[key]
            win_days = np.clip(hi - lo + 1, 0, None)
            # baseline events in the window (for the record), thinned when the ratio is below 1
            pos = np.searchsorted(li, owner)
            pos_c = np.minimum(pos, max(len(li) - 1, 0))
            in_win = (len(li) > 0) & (li[pos_c] == owner) if len(li) else np.zeros(len(owner), bool)
            in_win = in_win & (d >= lo[pos_c]) & (d <= hi[pos_c]) if len(li) else in_win
            base_in = int(in_win.sum())
            if ratio < 1:
                drop = in_win & (rng.random(len(owner)) >= ratio)
                owner, d = owner[~drop], d[~drop]
            extra = rng.poisson(max(ratio - 1, 0) * rate[li] * win_days / DAYS_PER_YEAR) if len(li) else np.zeros(0, int)
            eo = expand(extra)
            ed = uniform_days(rng, lo[eo], hi[eo]) if len(eo) else np.zeros(0, np.int64)
            owner, d = np.r_[owner, li[eo]], np.r_[d, ed]
            expected = float((rate[li] * win_days).sum() / DAYS_PER_YEAR) if len(li) else 0.0
            entry = dict(baseline_events_in_window=base_in, injected_events=int(extra.sum()),
                         expected_baseline_events_in_window=expected, window_person_days=int(win_days.sum()))
            truth["adverse_events" if key in ae else "positive_controls"][key] = entry
        parts.append(_rec(owner, d, key, visit))
    return ConditionRecords.concat(parts), truth


def ms_records(p: Persons, ms: MSCourse, tr: Treatment, cfg_inpatient: float, rng) -> ConditionRecords:
    """Diagnosis (G35 -> MS) and subtype at the first contact after diagnosis, yearly MS contacts,
    SP conversion, and relapses (exacerbation records, some as inpatient stays)."""
    exit_, entry = p.exit[ms.idx], p.entry[ms.idx]
    first = np.maximum(ms.diagnosis, entry + rng.integers(0, 180, len(ms.idx)))
    seen = first <= exit_
    i = np.flatnonzero(seen)
    person = ms.idx[i]
    parts = [_rec(person, first[i], "multiple_sclerosis")]
    sub = ms.subtype[i]
    parts.append(_rec(person[sub == PP], first[i][sub == PP], "ppms"))
    parts.append(_rec(person[sub != PP], first[i][sub != PP], "rrms"))
    k = rng.poisson(1.5 * (exit_[i] - first[i]) / DAYS_PER_YEAR)
    owner = expand(k)
    parts.append(_rec(person[owner], uniform_days(rng, first[i][owner], exit_[i][owner]), "multiple_sclerosis"))
    sp = ms.sp_onset[i] + rng.integers(0, 365, len(i))
    ok = (ms.sp_onset[i] < NEVER) & (sp <= exit_[i]) & (sp >= first[i])
    parts.append(_rec(person[ok], sp[ok], "spms"))
    r_person = ms.idx[tr.r_person]
    visit = np.where(rng.random(len(r_person)) < cfg_inpatient, INPATIENT, OUTPATIENT)
    parts.append(_rec(r_person, tr.r_day, "ms_relapse", visit))
    return ConditionRecords.concat(parts)
