"""One chunk of the world: persons in, CDM table columns and realised counts out.

Order of simulation: persons -> MS course -> death -> chronic conditions -> LDN -> DMT and
relapses -> dispensings -> acute conditions and planted events -> labs -> visits. Ids are
local to the chunk (0, 1, ...); `synthesize` adds the running offsets.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa

from offlabel.synth import dmt as dmt_mod
from offlabel.synth.config import WorldConfig
from offlabel.synth.drugs import (ATC_SWITCH_DAY, Dispensings, episode_dispensings, group_dispensings,
                                  high_dose_naltrexone, ldn_dispensings, load_products, steroid_dispensings)
from offlabel.synth.events import (INPATIENT, ConditionRecords, acute_records, chronic_onsets, chronic_records,
                                   condition_rows, ms_records)
from offlabel.synth.labs import lab_rows, simulate_labs
from offlabel.synth.ldn import simulate_ldn
from offlabel.synth.ms import keep, sample_ms
from offlabel.synth.persons import Persons
from offlabel.synth.population import observation_end, sample_death, sample_persons
from offlabel.synth.timeline import NEVER, day, years_of
from offlabel.synth.vocabulary import (GENDER, ROUTE, TYPE_EHR, TYPE_PHARMACY_CLAIM, TYPE_REGISTRY, UNIT, VISIT,
                                       build_vocabulary)

_VISIT_CONCEPT = np.array([VISIT["outpatient"], VISIT["inpatient"], VISIT["emergency"]])


def _strings(index: np.ndarray, values: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(index, dtype=np.int32)), pa.array(values)).cast(pa.string())


def simulate_chunk(offset: int, n: int, cfg: WorldConfig, seed_seq: np.random.SeedSequence) -> tuple[dict, Counter]:
    rng = np.random.default_rng(seed_seq)
    pc, y0, y1 = cfg.population, cfg.population.first_year, cfg.population.last_year
    last_day = day(y1 + 1) - 1
    base = sample_persons(n, pc, rng)
    pain = rng.standard_normal(n)
    s, rho = cfg.conditions.healthcare_frailty_sd, cfg.conditions.frailty_pain_correlation
    frailty = np.exp(s * (rho * pain + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)) - s ** 2 / 2)
    ms = sample_ms(base["female"], base["birth"], cfg.ms, rng)
    onset = np.full(n, NEVER)
    onset[ms.idx] = ms.onset
    death = sample_death(base["birth"], base["entry"], onset, cfg.ms.smr, pc, rng)
    exit_ = observation_end(base["entry"], base["emigration"], death, last_day)
    died = (death <= exit_)
    p = Persons(offset=offset, female=base["female"], birth=base["birth"], entry=base["entry"], exit=exit_,
                death=np.where(died, death, NEVER), pain=pain, frailty=frailty)
    ms = keep(ms, ms.onset <= exit_[ms.idx])
    onsets = chronic_onsets(p, rng)
    pain_onset = np.minimum(onsets["fibromyalgia"], onsets["chronic_pain"])
    ldn = simulate_ldn(p, ms, pain_onset, cfg.ldn, y0, y1, rng)
    tr = dmt_mod.simulate_treatment(p, ms, ldn, cfg.ms, cfg.dmt, cfg.effects.relapse_hr, y0, y1, rng)
    products = load_products()
    groups, group_counts = group_dispensings(p, ms, ldn, onsets, cfg.drug_groups, cfg.effects, products, y0, y1, rng)
    dmt_prod = np.array([products.index(k) for k in dmt_mod.dmt_names()])
    parts = [
        groups,
        episode_dispensings(ms.idx[tr.e_person], dmt_prod[tr.e_drug], tr.e_start, tr.e_end, day(y0), products),
        ldn_dispensings(ldn, products),
        high_dose_naltrexone(p, onsets["alcohol_dependence"], rng, products),
        steroid_dispensings(ms.idx[tr.r_person], tr.r_day, cfg.ms.relapse_steroid_fraction, rng, products),
    ]
    disp = Dispensings.concat(parts)
    stop_reason = None
    if cfg.ldn.stop_reason_shares:
        before = sum(len(x.person) for x in parts[:2])
        stop_reason = ldn_stop_reasons(p, ldn, cfg.ldn.stop_reason_shares, seed_seq, len(disp.person), before)
    acute, event_truth = acute_records(p, ldn, cfg.conditions, cfg.effects, rng)
    conds = ConditionRecords.concat([chronic_records(p, onsets, rng), acute,
                                     ms_records(p, ms, tr, cfg.ms.relapse_inpatient_fraction, rng)])
    labs = simulate_labs(p, ms, ldn, cfg.labs, cfg.effects.alt_ratio, rng)
    cols, counts = _tables(p, disp, conds, labs, products, rng, stop_reason)
    counts.update(_realised(p, ms, ldn, tr, group_counts, event_truth))
    return cols, counts


#: spawn_key component of the stop-reason stream: a child of the chunk's SeedSequence that nothing else uses.
STOP_REASON_STREAM = 0x5709


def ldn_stop_reasons(p: Persons, ldn, shares: dict[str, float], seed_seq: np.random.SeedSequence, n_rows: int,
                     first_ldn_row: int) -> tuple[np.ndarray, list[str]]:
    """(reason index per dispensing row, or -1; reasons): a reason on the last LDN collection of each starter who
    stops while observed (era end before exit), drawn from `shares` (the rest: none).

    The draws come from a generator of their own, derived from the chunk's seed without advancing the chunk's
    stream, so that a world with reasons equals the world without them in every other value.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed_seq.entropy,
                                                       spawn_key=(*seed_seq.spawn_key, STOP_REASON_STREAM)))
    reasons = list(shares)
    weights = np.array([*shares.values(), max(0.0, 1.0 - sum(shares.values()))])
    drawn = rng.choice(len(weights), size=len(ldn.idx), p=weights / weights.sum())
    pos = np.searchsorted(ldn.idx, ldn.c_person)
    last = np.zeros(len(ldn.idx), dtype=np.int64)
    np.maximum.at(last, pos, ldn.c_day)
    stopped = ldn.era_end < p.exit[ldn.idx]
    is_last = (ldn.c_day == last[pos]) & stopped[pos] & (drawn[pos] < len(reasons))
    out = np.full(n_rows, -1, dtype=np.int64)
    out[first_ldn_row + np.flatnonzero(is_last)] = drawn[pos][is_last]
    return out, reasons


def _sort_key(person, d, code) -> np.ndarray:
    """One int64 that orders rows by person, day, then code (days from 1900, codes < 4096)."""
    return (person.astype(np.int64) * 100_000 + (d - day(1900))) * 4096 + code


def _inside(p: Persons, person, d) -> np.ndarray:
    return (d >= p.entry[person]) & (d <= p.exit[person])


def _tables(p: Persons, disp: Dispensings, conds: ConditionRecords, labs, products, rng,
            stop_reason: tuple[np.ndarray, list[str]] | None = None) -> tuple[dict, Counter]:
    v = build_vocabulary()
    pid = p.offset + 1 + np.arange(p.n, dtype=np.int64)
    # filter to observation, sort
    k = _inside(p, disp.person, disp.day)
    disp = Dispensings(disp.person[k], disp.day[k], disp.product[k], disp.quantity[k])
    o = np.argsort(_sort_key(disp.person, disp.day, disp.product), kind="stable")
    disp = Dispensings(disp.person[o], disp.day[o], disp.product[o], disp.quantity[o])
    if stop_reason is not None:
        reason_of_row, reasons = stop_reason
        reason_of_row = reason_of_row[k][o]
    k = _inside(p, conds.person, conds.day)
    c_rows = condition_rows()
    c_concept = np.array([v.condition[r["key"]] for r in c_rows])
    c_src = np.array([v.condition_source.get(r["key"], (v.condition[r["key"]], ""))[0] for r in c_rows])
    c_srcval = [r["icd10_code"] or r["snomed_code"] for r in c_rows]
    cp, cd, cc, cv = (x[k] for x in (conds.person, conds.day, conds.condition, conds.visit))
    o = np.argsort(_sort_key(cp, cd, cc), kind="stable")
    cp, cd, cc, cv = cp[o], cd[o], cc[o], cv[o]
    k = _inside(p, labs.person, labs.day)
    mp, md, ml, mval, mlo, mhi = (x[k] for x in (labs.person, labs.day, labs.lab, labs.value, labs.low, labs.high))
    o = np.argsort(_sort_key(mp, md, ml), kind="stable")
    mp, md, ml, mval, mlo, mhi = (x[o] for x in (mp, md, ml, mval, mlo, mhi))
    # visits: one per person, day and kind, from conditions and lab panels
    key_c = (cp.astype(np.int64) * 100_000 + (cd - day(1900))) * 4 + cv
    key_m = (mp.astype(np.int64) * 100_000 + (md - day(1900))) * 4 + 0
    vkeys = np.sort(np.r_[key_c, key_m])
    vkeys = vkeys[np.r_[True, np.diff(vkeys) != 0]] if len(vkeys) else vkeys
    v_type = vkeys % 4
    v_day = (vkeys // 4) % 100_000 + day(1900)
    v_person = vkeys // 400_000
    los = np.where(v_type == INPATIENT, rng.integers(1, 8, len(vkeys)), 0)
    v_end = np.minimum(v_day + los, p.exit[v_person])
    c_visit = np.searchsorted(vkeys, key_c)
    m_visit = np.searchsorted(vkeys, key_m)
    # drugs
    atc_codes = sorted(set(products.atc_old) | set(products.atc_new))
    old_i = np.array([atc_codes.index(a) for a in products.atc_old])
    new_i = np.array([atc_codes.index(a) for a in products.atc_new])
    atc_i = np.where(disp.day >= ATC_SWITCH_DAY, new_i[disp.product], old_i[disp.product])
    atc_concept = np.array([v.atc[a] for a in atc_codes])
    days_supply = np.maximum(np.round(disp.quantity / products.daily_units[disp.product]), 1).astype(np.int64)
    prod_concept = np.array([v.product[k_] for k_ in products.keys])
    route = np.array([ROUTE[r] for r in products.route])
    labs_meta = lab_rows()
    lab_concept = np.array([v.lab[r["key"]] for r in labs_meta])
    lab_unit = np.array([UNIT[r["unit_code"]] for r in labs_meta])
    by = years_of(p.birth)
    bdate = p.birth.astype("datetime64[D]")
    month = (bdate.astype("datetime64[M]").astype(np.int64) % 12) + 1
    dom = (bdate - bdate.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    died = p.death < NEVER
    cols = {
        "person": dict(person_id=pid, gender_concept_id=np.where(p.female, GENDER["F"], GENDER["M"]),
                       year_of_birth=by, month_of_birth=month, day_of_birth=dom, race_concept_id=np.zeros(p.n, np.int64),
                       ethnicity_concept_id=np.zeros(p.n, np.int64), person_source_value=pa.array(pid).cast(pa.string()),
                       gender_source_value=_strings(p.female.astype(int), ["M", "F"])),
        "observation_period": dict(observation_period_id=pid, person_id=pid, observation_period_start_date=p.entry,
                                   observation_period_end_date=p.exit,
                                   period_type_concept_id=np.full(p.n, TYPE_REGISTRY)),
        "death": dict(person_id=pid[died], death_date=p.death[died], death_type_concept_id=np.full(died.sum(), TYPE_REGISTRY)),
        "visit_occurrence": dict(visit_occurrence_id=np.arange(len(vkeys)), person_id=pid[v_person],
                                 visit_concept_id=_VISIT_CONCEPT[v_type], visit_start_date=v_day, visit_end_date=v_end,
                                 visit_type_concept_id=np.full(len(vkeys), TYPE_EHR)),
        "condition_occurrence": dict(condition_occurrence_id=np.arange(len(cp)), person_id=pid[cp],
                                     condition_concept_id=c_concept[cc], condition_start_date=cd,
                                     condition_type_concept_id=np.full(len(cp), TYPE_EHR), visit_occurrence_id=c_visit,
                                     condition_source_value=_strings(cc, c_srcval), condition_source_concept_id=c_src[cc]),
        "drug_exposure": dict(drug_exposure_id=np.arange(len(disp.person)), person_id=pid[disp.person],
                              drug_concept_id=prod_concept[disp.product], drug_exposure_start_date=disp.day,
                              drug_exposure_end_date=disp.day + days_supply - 1,
                              drug_type_concept_id=np.full(len(disp.person), TYPE_PHARMACY_CLAIM),
                              quantity=disp.quantity, days_supply=days_supply, route_concept_id=route[disp.product],
                              drug_source_value=_strings(atc_i, atc_codes), drug_source_concept_id=atc_concept[atc_i],
                              **({} if stop_reason is None else {"stop_reason": pa.DictionaryArray.from_arrays(
                                  pa.array(reason_of_row.astype(np.int32), mask=reason_of_row < 0),
                                  pa.array(reasons)).cast(pa.string())})),
        "measurement": dict(measurement_id=np.arange(len(mp)), person_id=pid[mp], measurement_concept_id=lab_concept[ml],
                            measurement_date=md, measurement_type_concept_id=np.full(len(mp), TYPE_EHR),
                            value_as_number=mval, unit_concept_id=lab_unit[ml], range_low=mlo, range_high=mhi,
                            visit_occurrence_id=m_visit, measurement_source_value=_strings(ml, [r["loinc"] for r in labs_meta]),
                            measurement_source_concept_id=lab_concept[ml],
                            unit_source_value=_strings(ml, [r["unit_code"] for r in labs_meta])),
    }
    counts = Counter({f"rows.{t}": len(next(iter(c.values()))) for t, c in cols.items()})
    return cols, counts


def _realised(p, ms, ldn, tr, group_counts, event_truth) -> Counter:
    c = Counter()
    c["persons.total"] = p.n
    c["persons.female"] = int(p.female.sum())
    c["deaths"] = int((p.death < NEVER).sum())
    seen = ms.diagnosis <= p.exit[ms.idx]
    c["ms.patients_diagnosed_in_observation"] = int(seen.sum())
    c["ms.patients_female"] = int(p.female[ms.idx[seen]].sum())
    c["ms.primary_progressive"] = int((ms.subtype[seen] == 1).sum())
    c["ms.relapses_recorded"] = len(tr.r_day)
    c["ms.relapses_during_ldn_exposure"] = tr.r_ldn
    c["dmt.episodes"] = len(tr.e_person)
    c["ldn.starters"] = len(ldn.idx)
    c["ldn.starters_with_ms"] = int(ldn.is_ms.sum())
    c["ldn.collections"] = len(ldn.c_day)
    realised = ldn.realised_stratum(p.exit)
    for i, s in enumerate(("1", "2-3", "4+")):
        c[f"ldn.planned_stratum.{s}"] = int((ldn.stratum == i).sum())
        c[f"ldn.planned_stratum_ms.{s}"] = int(((ldn.stratum == i) & ldn.is_ms).sum())
        c[f"ldn.realised_stratum_ms.{s}"] = int(((realised == i) & ldn.is_ms).sum())
    for g, k in group_counts.items():
        c[f"dispensings.{g}"] = k
    for kind, d in event_truth.items():
        for key, vals in d.items():
            for name, val in vals.items():
                c[f"{kind}.{key}.{name}"] = val
    return c
