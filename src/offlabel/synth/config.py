"""The world config: every parameter of the synthetic world, with where its default comes from.

Defaults are calibrated to a Norway-like population (../shared/DOMAIN.md, "Calibration facts").
A YAML file sets any subset: `WorldConfig.from_yaml("world.yaml")`; unknown keys are errors.
Rates are per person-year unless the name says otherwise; dates are ISO strings.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

_DOMAIN = "DOMAIN.md calibration table"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PopulationConfig(_Model):
    first_year: int = Field(2004, description="First calendar year observed (registry start).")
    last_year: int = Field(2020, description="Last calendar year observed.")
    start_population: float = Field(ge=0, default=4.58e6, description=f"Residents on 1 January of first_year (Norway 2004; {_DOMAIN}).")
    births_per_year: float = Field(ge=0, default=58_000, description=f"Births a year (Norway 2004-2020: 54.5k-61k; {_DOMAIN}).")
    immigrants_per_year: float = Field(ge=0, default=50_000, description=f"Immigrants a year (Norway 2004-2020 average; 52.2k in 2019, {_DOMAIN}).")
    female_fraction: float = Field(ge=0, le=1, default=0.503, description="Share of women (Statistics Norway).")
    native_emigration_rate: float = Field(ge=0, default=0.003, description="Emigration per person-year of residents born in the country.")
    immigrant_emigration_rate: float = Field(ge=0, default=0.04, description=f"Emigration per person-year of immigrants (26.8k emigrants in 2019, {_DOMAIN}).")
    immigrant_age_mean: float = Field(ge=0, default=28.0, description="Mean age at immigration, years.")
    immigrant_age_sd: float = Field(ge=0, default=10.0, description="SD of age at immigration, years.")
    age_pyramid: list[float] = Field(
        [6.2, 6.5, 6.6, 6.2, 6.0, 6.4, 7.3, 7.5, 7.1, 6.8, 6.9, 6.7, 5.0, 3.9, 3.5, 3.4, 2.6, 1.4, 0.5, 0.1],
        description="Relative size of 5-year age bands 0-4 ... 95-99 on 1 January of first_year (Norway 2004).")
    gompertz_hazard_at_0: float = Field(ge=0, default=1.25e-5, description="Gompertz mortality A (hazard at age 0, per year): about 0.77% of residents die a year (Norway 2019: 40.7k deaths, DOMAIN.md).")
    gompertz_slope: float = Field(0.1, description="Gompertz mortality slope b per year of age.")


class MSConfig(_Model):
    lifetime_risk_female: float = Field(ge=0, le=1, default=0.0066, description=f"Probability a woman ever gets MS; calibrated so 2012 prevalence is about 203/100,000 ({_DOMAIN}).")
    lifetime_risk_male: float = Field(ge=0, le=1, default=0.0032, description=f"Same for men; with the subtype mix gives about 68% women among patients ({_DOMAIN}).")
    risk_birth_year_log_trend: float = Field(0.02, description="Log change of MS risk per birth year, centred at 1965 (MS incidence has risen in Norway; with it incidence ~7/100,000 and prevalence ~200/100,000 hold together).")
    prevalence_multiplier: float = Field(ge=0, default=1.0, description="Multiplies both lifetime risks. A demo world raises it so that a small world has enough patients; 1.0 = Norway.")
    pp_fraction_female: float = Field(ge=0, le=1, default=0.10, description=f"Share of women's MS that is primary progressive (1.1:1 PP vs 2.4:1 relapsing sex ratio, 10-15% PP; {_DOMAIN}).")
    pp_fraction_male: float = Field(ge=0, le=1, default=0.195, description="Share of men's MS that is primary progressive.")
    onset_age_modes: list[float] = Field([30.0, 42.0], description=f"Relapsing-onset age modes, years (bimodal ~30 and 40-45, mean 35; {_DOMAIN}).")
    onset_age_sd: float = Field(ge=0, default=6.5, description="SD of each onset-age mode, years.")
    pp_onset_age_mean: float = Field(ge=0, default=42.0, description="Mean onset age of primary progressive MS, years.")
    diagnosis_lag_median_years: float = Field(ge=0, default=1.0, description="Median onset-to-diagnosis delay (relapsing onset), years; doubled for PP.")
    smr: float = Field(ge=0, default=2.5, description=f"Standardised mortality ratio after onset ({_DOMAIN}: 2.3-2.7).")
    severity_at_onset: tuple[float, float] = Field((1.0, 2.5), description="Range of the latent EDSS-like severity at relapsing onset.")
    severity_slope_median: float = Field(0.14, description=f"Median severity gain per year (onset to EDSS 6 ~30 years; {_DOMAIN}).")
    pp_severity_at_onset: tuple[float, float] = Field((2.0, 3.5), description="Range of severity at primary progressive onset.")
    pp_severity_slope_median: float = Field(0.3, description="Median severity gain per year in primary progressive MS.")
    sp_conversion_probability: float = Field(ge=0, le=1, default=0.55, description=f"Share of relapsing cases that ever turn secondary progressive ({_DOMAIN}: 50-60%).")
    sp_conversion_median_years: float = Field(ge=0, default=13.0, description=f"Median onset-to-SP time among converters ({_DOMAIN}: about half within 10-15 years).")
    sp_extra_slope: float = Field(0.2, description="Extra severity gain per year after SP conversion.")
    relapse_rate_untreated: float = Field(ge=0, default=0.9, description=f"Untreated relapses per year at onset ({_DOMAIN}: 0.5-1.0).")
    relapse_rate_decline_per_year: float = Field(0.04, description="Relative decline of the relapse rate per year since onset.")
    relapse_frailty_shape: float = Field(ge=0, default=2.0, description="Gamma shape of the person-level relapse frailty (mean 1).")
    progressive_relapse_factor: float = Field(ge=0, default=0.25, description="Relapse-rate multiplier in the SP phase (PP: half of it).")
    relapse_steroid_fraction: float = Field(ge=0, le=1, default=0.8, description=f"Share of relapses treated with high-dose methylprednisolone ({_DOMAIN}: ~80%).")
    relapse_inpatient_fraction: float = Field(ge=0, le=1, default=0.3, description="Share of relapses seen as an inpatient visit (rest outpatient).")


class DMTConfig(_Model):
    start_rate_first_year: float = Field(ge=0, default=0.05, description=f"Per-year DMT start rate of untreated relapsing patients in first_year (28% treated c. 2005; {_DOMAIN}).")
    start_rate_last_year: float = Field(ge=0, default=0.27, description=f"Same in last_year (62-66% treated 2021-22; {_DOMAIN}). Linear in between.")
    new_diagnosis_start_factor: float = Field(ge=0, default=6.0, description="Start-rate multiplier in the first year after diagnosis.")
    relapse_start_factor: float = Field(ge=0, default=4.0, description="Start-rate multiplier in the quarter after a relapse.")
    initially_treated: float = Field(ge=0, le=1, default=0.36, description="Share of diagnosed relapsing patients on a DMT on 1 January of first_year.")
    stop_rate: float = Field(ge=0, default=0.21, description=f"Stops per person-year on a DMT ({_DOMAIN}: 20-23 per 100 person-years).")
    switch_fraction: float = Field(ge=0, le=1, default=0.87, description=f"Share of stoppers who switch within 6 months ({_DOMAIN}: 87%).")
    stop_at_sp_conversion: float = Field(ge=0, le=1, default=0.5, description="Share of treated patients who stop at SP conversion.")
    pp_treated_from_ocrelizumab: float = Field(ge=0, le=1, default=0.3, description="Per-year ocrelizumab start rate of PP patients once it is marketed (2018).")
    efficacy: dict[str, float] = Field(
        {"interferon_beta_1a": 0.7, "interferon_beta_1b": 0.7, "peginterferon_beta_1a": 0.7, "glatiramer": 0.7,
         "teriflunomide": 0.7, "fingolimod": 0.47, "dimethyl_fumarate": 0.5, "natalizumab": 0.32,
         "alemtuzumab": 0.3, "ocrelizumab": 0.3, "cladribine": 0.42, "rituximab": 0.05},
        description=f"Relapse rate ratio on each DMT vs untreated ({_DOMAIN}: interferon/glatiramer -30%, fingolimod/DMF -50-55%, natalizumab -68%, rituximab real-world ARR ~0.02).")


class LDNConfig(_Model):
    event_date: date = Field(date(2013, 2, 1), description="The TV programme that made LDN popular in Norway (February 2013; DOMAIN.md).")
    ms_start_rate_per_month: float = Field(ge=0, default=1.1e-4, description="LDN start rate per MS patient-month before the event (Norway: under 100 users in total before 2013).")
    pain_start_rate_per_month: float = Field(ge=0, default=0.2e-4, description="Same for non-MS persons with fibromyalgia or chronic pain.")
    other_start_rate_per_month: float = Field(ge=0, default=0.38e-6, description="Same for other adults.")
    surge_fold: float = Field(ge=0, default=100.0, description="Start-rate multiplier just after the event (users <100 to >15,000 in two years; DOMAIN.md).")
    surge_decay_months: float = Field(ge=0, default=7.0, description="e-folding time of the surge, months.")
    post_surge_level: float = Field(ge=0, default=6.0, description="Start-rate multiplier the surge decays to (LDN use stayed far above its 2012 level).")
    collection_strata: dict[str, float] = Field(
        {"1": 0.35, "2-3": 0.25, "4+": 0.40},
        description="Share of starters collecting once, 2-3 and 4+ times in the 2 years after the first collection (Raknes: 189/137/256 in IBD; many collect once, a core persists).")
    persistent_extra_collections_mean: float = Field(ge=0, default=6.0, description="Mean number of collections beyond the fourth among persistent users (geometric).")
    days_supply: int = Field(ge=0, default=90, description="Days supplied per LDN collection (90 capsules, one a day).")
    gap_days_mean: float = Field(ge=0, default=20.0, description="Mean days between the end of one supply and the next collection.")
    severity_log_hr: float = Field(0.4, description="Confounding by indication: log-HR of starting LDN per severity point (EDSS-like) in MS.")
    relapse_frailty_log_hr: float = Field(1.0, description="Log-HR of starting LDN per log relapse frailty in MS.")
    pain_log_hr: float = Field(1.5, description="Log-HR of starting LDN per SD of the latent pain liability (all persons).")
    age_log_hr: float = Field(-0.05, description="Log-HR of starting LDN per year of age above 50, MS patients (median age of MS starters about 50).")
    non_ms_age_log_hr: float = Field(-0.012, description="Same for non-MS persons (Norwegian LDN users 2013-14: median age 52).")
    min_age: int = Field(ge=0, default=18, description="Youngest age at which LDN is started.")
    stop_reason_shares: dict[str, float] = Field(
        {}, description="Opt-in (default none, as a dispensing registry records no reasons): drug_exposure.stop_reason of "
                        "the last LDN collection of starters who stop while observed, as {reason: share}; the rest get "
                        "none. The shares are illustrative, not sourced. Drawn from a random stream of their own, so "
                        "every other value of the world is the same with or without them.")

    @model_validator(mode="after")
    def _stop_reasons(self) -> "LDNConfig":
        shares = self.stop_reason_shares
        if any(v < 0 for v in shares.values()) or sum(shares.values()) > 1 + 1e-9:
            raise ValueError("ldn.stop_reason_shares must be shares >= 0 adding up to at most 1")
        long = [k for k in shares if not 0 < len(k) <= 20]
        if long:
            raise ValueError(f"ldn.stop_reason_shares: reasons must be 1-20 characters (CDM stop_reason), got {long}")
        return self


class DrugGroupConfig(_Model):
    rate: float = Field(ge=0, description="Mean dispensings per person-year of men aged 50 in 2012 outside MS (women: x female_rr).")
    heterogeneity_shape: float = Field(ge=0, description="Gamma shape of the person-level propensity (small = few heavy users).")
    year_shape: float = Field(ge=0, default=1.0, description="Gamma shape of year-to-year variation within a person (turnover of users).")
    female_rr: float = Field(ge=0, default=1.0, description="Rate ratio women vs men.")
    age_log_slope: float = Field(0.0, description="Log rate change per year of age.")
    ms_rr: float = Field(ge=0, default=1.0, description="Rate ratio after an MS diagnosis (at severity 3).")
    severity_log_slope: float = Field(0.0, description="Log rate change per severity point in MS (disease progression).")
    trend_per_year: float = Field(0.0, description="Secular trend: log rate change per calendar year (centred at 2012).")
    pain_loading: float = Field(0.0, description="Log rate change per SD of the latent pain liability (shared with LDN start: confounding).")
    indication: str | None = Field(None, description="Condition that must have started (chronic treatments), else any person.")
    ms_only: bool = Field(False, description="Dispensed only after an MS diagnosis.")
    first_year: int | None = Field(None, description="First calendar year the drug is dispensed.")


def _default_groups() -> dict[str, DrugGroupConfig]:
    # Norway 2017: opioids used by 1 in 8 women and 1 in 11 men a year; z-hypnotics by 7% (2009); in MS
    # neuropathic-pain drugs HR 5.6 and any painkiller HR 2.4 vs controls; baclofen started by 10-19% (DOMAIN.md).
    g = DrugGroupConfig
    return {
        "opioids": g(rate=0.13, heterogeneity_shape=0.5, year_shape=1.0, female_rr=1.5, age_log_slope=0.02, ms_rr=2.4,
                     severity_log_slope=0.15, trend_per_year=0.02, pain_loading=0.8),
        "other_analgesics": g(rate=0.07, heterogeneity_shape=0.5, year_shape=1.0, female_rr=1.4, age_log_slope=0.025, ms_rr=2.4,
                              severity_log_slope=0.1, trend_per_year=0.01, pain_loading=0.6),
        "gabapentinoids": g(rate=0.025, heterogeneity_shape=0.5, year_shape=1.0, female_rr=1.5, age_log_slope=0.02, ms_rr=5.6,
                            severity_log_slope=0.15, trend_per_year=0.08, pain_loading=0.8),
        "antidepressants": g(rate=0.10, heterogeneity_shape=0.5, year_shape=2.0, female_rr=1.8, age_log_slope=0.01, ms_rr=2.5,
                             severity_log_slope=0.1, trend_per_year=0.02, pain_loading=0.4),
        "antispastics": g(rate=0.004, heterogeneity_shape=0.5, year_shape=1.0, age_log_slope=0.01, ms_rr=80.0,
                          severity_log_slope=0.3, trend_per_year=0.0),
        "hypnotics": g(rate=0.08, heterogeneity_shape=0.5, year_shape=1.0, female_rr=1.5, age_log_slope=0.03, ms_rr=2.0,
                       severity_log_slope=0.1, trend_per_year=-0.01, pain_loading=0.3),
        "fampridine": g(rate=0.2, heterogeneity_shape=0.5, year_shape=1.0, ms_only=True, severity_log_slope=0.4, first_year=2012),
        "modafinil": g(rate=0.06, heterogeneity_shape=0.5, year_shape=1.0, ms_only=True, severity_log_slope=0.1),
        "antihypertensives": g(rate=1.5, heterogeneity_shape=3.0, indication="hypertension"),
        "statins": g(rate=1.5, heterogeneity_shape=3.0, indication="hyperlipidemia"),
        "antidiabetics": g(rate=1.5, heterogeneity_shape=3.0, indication="type2_diabetes"),
    }


class ConditionsConfig(_Model):
    rate_multiplier: float = Field(ge=0, default=1.0, description="Multiplies every acute-condition rate in data/conditions.csv.")
    healthcare_frailty_sd: float = Field(ge=0, default=0.5, description="SD of a person's log healthcare-seeking frailty (raises all recorded conditions and visits).")
    frailty_pain_correlation: float = Field(ge=-1, le=1, default=0.5, description="Correlation of that frailty with the pain liability (so negative controls carry confounding).")


class LabsConfig(_Model):
    panel_rate: float = Field(ge=0, default=0.05, description="Lab panels per person-year at age 50 (all persons).")
    panel_age_log_slope: float = Field(0.025, description="Log panel-rate change per year of age.")
    ms_panel_rate: float = Field(ge=0, default=1.0, description="Extra panels per person-year after an MS diagnosis (DMT monitoring).")
    ldn_baseline_probability: float = Field(ge=0, le=1, default=0.5, description="Probability of a panel in the 60 days before the first LDN collection.")
    ldn_follow_up_days: list[int] = Field([90, 365], description="Days after the first LDN collection of follow-up panels.")
    ldn_follow_up_probability: float = Field(ge=0, le=1, default=0.6, description="Probability of each follow-up panel.")


class AdverseEventEffect(_Model):
    irr: float = Field(ge=0, description="Incidence rate ratio in the risk window after an LDN start.")
    window_start: int = Field(1, description="First day of the risk window (day 0 = first collection).")
    window_end: int = Field(30, description="Last day of the risk window.")


class PositiveControl(_Model):
    outcome: str = Field(description="Condition key (data/conditions.csv, kind pc).")
    hazard_ratio: float = Field(ge=0, description="True HR of LDN exposure, injected as extra events during exposure.")


class EffectsConfig(_Model):
    """The planted truths. Defaults: as the published LDN-MS studies found (no effect)."""

    dispensing_window_days: int = Field(ge=0, default=730, description="Days after the first LDN collection during which the dispensing effects act.")
    dispensing: dict[str, dict[str, float]] = Field(
        {"4+": {}, "2-3": {}},
        description="Rate ratio of dispensings (so of DDDs) per drug group after LDN start, per collection stratum; "
                    "a missing group means 1.0 (Raknes 2017: no change in MS; the opioid study found -46% in persistent users).")
    relapse_hr: float = Field(ge=0, default=1.0, description="Hazard ratio of relapse while exposed to LDN.")
    alt_ratio: float = Field(ge=0, default=1.0, description="Multiplier of ALT values while exposed to LDN.")
    adverse_events: dict[str, AdverseEventEffect] = Field(
        {"insomnia": AdverseEventEffect(irr=2.0), "nausea": AdverseEventEffect(irr=1.8),
         "headache": AdverseEventEffect(irr=1.0), "liver_injury": AdverseEventEffect(irr=1.0)},
        description="Adverse events of interest: IRR in a risk window after LDN start (sleep disturbance and nausea early in treatment; DOMAIN.md).")
    positive_controls: list[PositiveControl] = Field(
        [PositiveControl(outcome="viral_sinusitis", hazard_ratio=1.5),
         PositiveControl(outcome="acute_pharyngitis", hazard_ratio=2.0),
         PositiveControl(outcome="tinea_pedis", hazard_ratio=4.0)],
        description="Positive-control outcomes: extra events injected during LDN exposure (OHDSI MethodEvaluation style).")


class WorldConfig(_Model):
    """Everything that shapes a synthetic world. Same config + persons + seed = same world."""

    name: str = Field("offlabel synthetic Norway", description="Written to cdm_source.")
    population: PopulationConfig = PopulationConfig()
    ms: MSConfig = MSConfig()
    dmt: DMTConfig = DMTConfig()
    ldn: LDNConfig = LDNConfig()
    drug_groups: dict[str, DrugGroupConfig] = Field(default_factory=_default_groups,
                                                   description="Symptomatic and other drug groups; products in data/drugs.csv.")
    conditions: ConditionsConfig = ConditionsConfig()
    labs: LabsConfig = LabsConfig()
    effects: EffectsConfig = EffectsConfig()

    @model_validator(mode="after")
    def _check(self) -> "WorldConfig":
        strata = self.ldn.collection_strata
        if set(strata) != {"1", "2-3", "4+"} or abs(sum(strata.values()) - 1) > 1e-6:
            raise ValueError("ldn.collection_strata needs keys '1', '2-3', '4+' with shares summing to 1")
        for s, groups in self.effects.dispensing.items():
            if s not in strata:
                raise ValueError(f"effects.dispensing stratum {s!r} is not one of {sorted(strata)}")
            unknown = set(groups) - set(self.drug_groups)
            if unknown:
                raise ValueError(f"effects.dispensing[{s!r}] names unknown drug groups {sorted(unknown)}")
        if self.population.last_year < self.population.first_year:
            raise ValueError("population.last_year is before first_year")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> "WorldConfig":
        """Read a world config; every problem is reported at once with its YAML path (SpecError)."""
        from pydantic import ValidationError

        from offlabel.errors import SpecError
        from offlabel.spec.load import read_yaml, validation_problems

        path = Path(path)
        if not path.is_file():
            raise SpecError(f"The world config '{path}' does not exist. Give a .yaml file like "
                            "src/offlabel/synth/worlds/demo.yaml, or leave out --config for the Norway defaults.")
        data = read_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
        if not isinstance(data, dict):
            raise SpecError(f"The world config {path} must be a YAML mapping of sections (population, ms, ...).")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            problems = validation_problems(e)
            raise SpecError(f"The world config {path} has {len(problems)} problem(s):", problems) from None

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
