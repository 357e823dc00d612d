"""The opt-in stop reasons of the synthetic world (ldn.stop_reason_shares) change nothing else.

A world built with reasons equals the same world without them in every table and column except
drug_exposure.stop_reason: the reasons come from a random stream of their own. Reasons sit on the
last LDN collection of starters who stop while observed, in about the configured shares.
"""

from __future__ import annotations


import duckdb
import pytest

from offlabel.synth import synthesize
from offlabel.synth.config import WorldConfig
from tests.helpers.worlds import ms_raised

SHARES = {"adverse effects": 0.3, "no effect": 0.2}


def config(shares: dict) -> WorldConfig:
    d = ms_raised()
    d["ldn"]["other_start_rate_per_month"] *= 300
    d["ldn"]["stop_reason_shares"] = shares
    return WorldConfig.model_validate(d)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    base = tmp_path_factory.mktemp("reasons")
    paths = (base / "without" / "cdm.duckdb", base / "with" / "cdm.duckdb")
    truth = [synthesize(10_000, 4, path, config(shares), progress=False, workers=1)
             for path, shares in zip(paths, ({}, SHARES))]
    return paths, truth


def _checksums(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
        cols = [c for (c,) in con.execute(f"SELECT column_name FROM information_schema.columns WHERE table_name = "
                                          f"'{table}' ORDER BY ordinal_position").fetchall()]
        out[table] = {c: con.execute(f'SELECT count(*), coalesce(sum(hash("{c}")), 0) FROM "{table}"').fetchone()
                      for c in cols}
    con.close()
    return out


def test_every_other_value_is_unchanged(worlds):
    (without, with_), _ = worlds
    a, b = _checksums(without), _checksums(with_)
    assert a.keys() == b.keys()
    changed = [(t, c) for t in a for c in a[t] if a[t][c] != b[t][c]]
    assert changed == [("drug_exposure", "stop_reason")]


def test_reasons_are_on_the_last_collection_of_stoppers(worlds):
    (_, with_), truth = worlds
    ldn = ",".join(map(str, truth[1]["concepts"]["ldn_products"]))
    con = duckdb.connect(str(with_), read_only=True)
    rows = con.execute(f"""
        WITH d AS (SELECT person_id, drug_exposure_start_date s, drug_exposure_end_date e, stop_reason r,
                          max(drug_exposure_start_date) OVER (PARTITION BY person_id) last_s
                   FROM drug_exposure WHERE drug_concept_id IN ({ldn}))
        SELECT d.s = d.last_s AS is_last, d.e < o.observation_period_end_date AS stopped, d.r, count(*)
        FROM d JOIN observation_period o USING (person_id) GROUP BY ALL""").fetchall()
    other = con.execute(f"SELECT count(*) FROM drug_exposure WHERE stop_reason IS NOT NULL "
                        f"AND drug_concept_id NOT IN ({ldn})").fetchone()[0]
    con.close()
    assert other == 0
    assert all(is_last and stopped for is_last, stopped, r, _ in rows if r is not None)
    last = {r: n for is_last, stopped, r, n in rows if is_last and stopped}
    total = sum(last.values())
    assert total > 400
    for reason, share in SHARES.items():
        # binomial standard error, 4 SE: fails by chance far less than once in 10,000 worlds
        se = (share * (1 - share) / total) ** 0.5
        assert abs(last[reason] / total - share) < 4 * se, (reason, last[reason], total)


def test_shares_are_checked():
    with pytest.raises(ValueError, match="adding up to at most 1"):
        config({"a": 0.7, "b": 0.6})
    with pytest.raises(ValueError, match="1-20 characters"):
        config({"a reason that is far too long": 0.1})
