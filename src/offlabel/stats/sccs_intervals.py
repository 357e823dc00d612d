"""SCCS interval data: cases' observation time cut into pieces with one value of every covariate.

Days are whole days since 1970-01-01 and every interval is inclusive at both ends. The
conventions are SelfControlledCaseSeries's (OHDSI: `createStudyPopulation`,
`createEraCovariateSettings`, `createSccsIntervalData` and its C++ SccsConverter):

- Study population (`study_population`): a case's analysed time is its observation period
  (the one holding its events) from `washout_days` after its start (the naive period), cut to
  the study period and to the ages [min_age_years, max_age_years] (age in completed years: the
  time from the min_age-th birthday to the day before the (max_age + 1)-th). With
  `first_outcome_only`, only the person's first-ever event counts, and a case whose first event
  falls outside the analysed time (in the naive period, before the study or the minimum age)
  is dropped: its events are not incident. Only events in the analysed time count; a day with
  several records is one event.
- Windows (`Window`): offsets in days from the exposure's start or end (day 0 = the exposure's
  first day), inclusive: [1, 30] from the start is the 2nd to the 31st day of the exposure.
  Day 0 belongs to a window only when its range includes 0 (SelfControlledCaseSeries's default
  window starts at day 0); the analysis can give it a window of its own.
- Overlaps: an exposure's windows end the day before the next exposure of the case starts
  (SelfControlledCaseSeries cuts an era's risk window at the next era's start), and a day in
  several windows goes to the first of them in the order given (the analysis lists day 0 first,
  then the risk windows, then the pre-exposure window: a day both after one exposure and before
  the next is risk time). Every other day of the analysed time is the reference (baseline).
- Age and season (`AgeGroups`, `AgeSpline`, `Season`): age groups split time exactly at the
  birthdays of their cut points; an age spline (quadratic B-spline, knots at quantiles of the
  age at event, as SelfControlledCaseSeries) and season (calendar months, quarters, or a cyclic
  cubic spline over months) take their value at the start of each calendar month, so time is
  split at month starts.
- Pieces of a case with the same covariate values are merged (their days and events summed);
  a case whose time has one pattern only adds nothing to the conditional likelihood and is left
  out, as are cases with no window time when no age or season term needs them. The time of an
  age group, month or quarter without events is left out (its MLE rate is 0; kept, it would
  carry no information, or push the other levels to infinity as the reference); `notes` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = ["AgeGroups", "AgeSpline", "CaseSeries", "IntervalTable", "Season", "Window", "age_knots", "anniversary",
           "split_intervals", "study_population"]

_EPOCH = np.datetime64("1970-01-01", "D")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Window:
    """Days [start, end] relative to an exposure's first day ("start") or last day ("end")."""

    name: str
    start: int
    end: int
    start_anchor: str = "start"
    end_anchor: str = "start"


@dataclass(frozen=True)
class AgeGroups:
    """Age groups cut at these ages in whole years: (30, 50) gives <30, 30-49 and 50+."""

    cuts: tuple[int, ...]


@dataclass(frozen=True)
class AgeSpline:
    """A quadratic B-spline of age with this many knots at quantiles (1% to 99%) of the age at event
    of the cases split, or at the ages `at` (years; see `age_knots`)."""

    knots: int = 5
    at: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Season:
    """Season by calendar "month", "quarter", or a cyclic cubic "spline" over months (knots - 1 terms)."""

    by: str = "month"
    knots: int = 5


@dataclass
class CaseSeries:
    """Per-case arrays of one outcome (days since 1970-01-01). Events and exposures refer to cases
    by position and are sorted by case, then day."""

    start: np.ndarray
    end: np.ndarray
    birth: np.ndarray
    event_case: np.ndarray
    event_day: np.ndarray
    exposure_case: np.ndarray
    exposure_start: np.ndarray
    exposure_end: np.ndarray
    source: np.ndarray = field(default=None)  # position of each case in the series it was derived from

    def __post_init__(self):
        for name in ("start", "end", "birth", "event_case", "event_day", "exposure_case", "exposure_start",
                     "exposure_end"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        if self.source is None:
            self.source = np.arange(len(self.start))
        if not (len(self.start) == len(self.end) == len(self.birth)):
            raise ValueError("start, end and birth need one value per case")

    @property
    def n_cases(self) -> int:
        return len(self.start)

    def take(self, keep: np.ndarray) -> "CaseSeries":
        """The cases where `keep` is true, with their events and exposures, renumbered."""
        keep = np.asarray(keep, bool)
        new = np.cumsum(keep) - 1
        ev, ex = keep[self.event_case], keep[self.exposure_case]
        return CaseSeries(self.start[keep], self.end[keep], self.birth[keep], new[self.event_case[ev]],
                          self.event_day[ev], new[self.exposure_case[ex]], self.exposure_start[ex],
                          self.exposure_end[ex], self.source[keep])


def anniversary(birth: np.ndarray, years) -> np.ndarray:
    """The day each person turns `years` (whole years); a 29 February birthday falls on 1 March."""
    b = _EPOCH + np.asarray(birth, dtype=np.int64)
    month = b.astype("datetime64[M]")
    day_of_month = (b - month.astype("datetime64[D]")).astype(np.int64)
    shifted = (month + np.asarray(years, dtype=np.int64) * 12).astype("datetime64[D]") + day_of_month
    return (shifted - _EPOCH).astype(np.int64)


def study_population(series: CaseSeries, *, study_start: int | None = None, study_end: int | None = None,
                     min_age_years: int | None = None, max_age_years: int | None = None, washout_days: int = 0,
                     first_outcome_only: bool = False, first_event_day: np.ndarray | None = None) -> CaseSeries:
    """The analysed time and events of each case (module docstring); cases left without events go.

    `series.start`/`end` are the observation period's bounds; `first_event_day` (per case) is the
    person's first-ever event (default: the first in the series)."""
    s = series
    start = s.start + int(washout_days)
    end = s.end.copy()
    if study_start is not None:
        start = np.maximum(start, study_start)
    if study_end is not None:
        end = np.minimum(end, study_end)
    if min_age_years is not None:
        start = np.maximum(start, anniversary(s.birth, min_age_years))
    if max_age_years is not None:
        end = np.minimum(end, anniversary(s.birth, max_age_years + 1) - 1)
    keep_event = (s.event_day >= start[s.event_case]) & (s.event_day <= end[s.event_case])
    if first_outcome_only:
        if first_event_day is None:
            first_event_day = np.full(s.n_cases, np.iinfo(np.int64).max)
            np.minimum.at(first_event_day, s.event_case, s.event_day)
        keep_event &= s.event_day == np.asarray(first_event_day, dtype=np.int64)[s.event_case]
    has_event = np.bincount(s.event_case[keep_event], minlength=s.n_cases) > 0
    out = replace(s, start=start, end=end, event_case=s.event_case[keep_event], event_day=s.event_day[keep_event])
    return out.take(has_event & (start <= end))


@dataclass
class IntervalTable:
    """One row per piece of a case's time with one covariate pattern (pieces of a pattern merged)."""

    case: np.ndarray     # position of the case in the series
    length: np.ndarray   # days
    events: np.ndarray
    window: np.ndarray   # position in `windows`, -1 for reference time
    X: np.ndarray
    names: list[str]     # columns of X: the windows in order, then age, season, end-of-observation probe
    windows: list[str]
    notes: list[str] = field(default_factory=list)  # time left out, and why

    @property
    def n_cases(self) -> int:
        return _count_distinct(self.case)

    @property
    def exposed_cases(self) -> int:
        """Cases with time in some window."""
        return _count_distinct(self.case[self.window >= 0])

    def window_summary(self) -> list[dict]:
        """Per window, then the reference: cases with time in it, events and person-days."""
        out = []
        for k, name in [*enumerate(self.windows), (-1, "reference")]:
            on = self.window == k
            out.append({"window": name, "cases": _count_distinct(self.case[on]),
                        "events": int(self.events[on].sum()), "person_days": int(self.length[on].sum())})
        return out


def split_intervals(series: CaseSeries, windows: list[Window], *, first_exposure_only: bool = False,
                    age: AgeGroups | AgeSpline | None = None, season: Season | None = None,
                    unexposed: np.ndarray | None = None, probe_days: int = 0,
                    probe_cases: np.ndarray | None = None) -> IntervalTable:
    """Cut each case's analysed time into pieces (module docstring) and build the design.

    unexposed: per case, whether a case with no window time may enter to inform the age and season
    terms (default: all may; they are always left out without age or season terms).
    probe_days: adds a 0/1 column "end of observation" for the last `probe_days` days of the cases
    where `probe_cases` is true (the check for event-dependent end of observation)."""
    s = series
    n = s.n_cases
    if n == 0:
        raise ValueError("no cases to split")
    ex_case, ex_start, ex_end = s.exposure_case, s.exposure_start, s.exposure_end
    if first_exposure_only and len(ex_case):
        first = np.r_[True, ex_case[1:] != ex_case[:-1]]
        ex_case, ex_start, ex_end = ex_case[first], ex_start[first], ex_end[first]
    nxt = np.r_[ex_start[1:], 0]
    nxt = np.where(np.r_[ex_case[1:] == ex_case[:-1], False], nxt, np.iinfo(np.int64).max // 4)
    win = []  # (case, lo, hi, label) clipped to the analysed time
    for label, w in enumerate(windows):
        lo = (ex_end if w.start_anchor == "end" else ex_start) + w.start
        hi = np.minimum((ex_end if w.end_anchor == "end" else ex_start) + w.end, nxt - 1)
        lo, hi = np.maximum(lo, s.start[ex_case]), np.minimum(hi, s.end[ex_case])
        ok = lo <= hi
        win.append((ex_case[ok], lo[ok], hi[ok], label))

    origin = int(s.start.min())
    span = int(s.end.max()) + 2 - origin
    cuts = [(np.arange(n), s.start), (np.arange(n), s.end + 1)]
    cuts += [(c, lo) for c, lo, _, _ in win] + [(c, hi + 1) for c, _, hi, _ in win]
    monthly = isinstance(age, AgeSpline) or (season is not None and season.by in ("month", "spline"))
    if monthly or (season is not None and season.by == "quarter"):
        cuts.append(_calendar_cuts(s, 1 if monthly else 3))
    if isinstance(age, AgeGroups):
        for a in age.cuts:
            day = anniversary(s.birth, a)
            inside = (day > s.start) & (day <= s.end)
            cuts.append((np.flatnonzero(inside), day[inside]))
    if probe_days > 0:
        day = s.end - probe_days + 1
        inside = (day > s.start) & (probe_cases if probe_cases is not None else True)
        cuts.append((np.flatnonzero(inside), day[inside]))
    keys = _sorted_distinct(np.concatenate([c * span + (d - origin) for c, d in cuts]))
    case = keys // span
    piece = np.flatnonzero(case[:-1] == case[1:])
    p_key, p_case = keys[piece], case[piece]
    p_start = p_key - p_case * span + origin
    p_len = keys[piece + 1] - p_key

    label = np.full(len(piece), -1)
    for c, lo, hi, k in reversed(win):  # lowest priority first: earlier windows paint over later ones
        i0 = np.searchsorted(p_key, c * span + lo - origin)
        i1 = np.searchsorted(p_key, c * span + hi + 1 - origin)
        cover = np.zeros(len(piece) + 1, np.int64)
        np.add.at(cover, i0, 1)
        np.add.at(cover, i1, -1)
        label[np.cumsum(cover[:-1]) > 0] = k
    inside = (s.event_day >= s.start[s.event_case]) & (s.event_day <= s.end[s.event_case])  # (study_population's)
    ev_key = s.event_case[inside] * span + s.event_day[inside] - origin
    p_events = np.bincount(np.searchsorted(p_key, ev_key, side="right") - 1, minlength=len(piece))

    terms = _time_terms(s, p_case, p_start, age, season)
    if probe_days > 0:
        probe = (p_start >= (s.end - probe_days + 1)[p_case])
        if probe_cases is not None:
            probe &= np.asarray(probe_cases, bool)[p_case]
        terms.append(_Term(probe.astype(np.int64), probe[:, None].astype(float), ["end of observation"], False))

    # merge the pieces of a case that share every covariate value
    codes = [t.code for t in terms]
    order = np.lexsort([*reversed(codes), label, p_case])
    pattern = np.stack([p_case, label, *codes])[:, order]
    first = np.flatnonzero(np.r_[True, np.any(pattern[:, 1:] != pattern[:, :-1], axis=0)])
    m_case, m_label = p_case[order][first], label[order][first]
    m_len = np.add.reduceat(p_len[order], first)
    m_events = np.add.reduceat(p_events[order], first)

    # informative cases: more than one pattern, and window time unless an age or season term needs them
    rows_per_case = np.bincount(m_case, minlength=n)
    exposed = np.bincount(m_case[m_label >= 0], minlength=n) > 0
    allowed = exposed.copy()
    if age is not None or season is not None:
        allowed |= np.asarray(unexposed, bool) if unexposed is not None else True
    keep = (rows_per_case > 1)[m_case] & allowed[m_case]
    notes = []
    for t in terms:
        if t.categorical:
            # a level without events has MLE rate 0: its time carries no information (and would push the
            # other levels' estimates to infinity if it were the reference), so it is left out
            code = t.code[order][first]
            events = np.bincount(code[keep], weights=m_events[keep], minlength=len(t.levels))
            timed = np.bincount(code[keep], minlength=len(t.levels)) > 0
            for level in np.flatnonzero(timed & (events == 0)):
                keep &= code != level
                notes.append(f"{t.levels[level]}: no events, its time is left out")
    columns = [(m_label[keep][:, None] == np.arange(len(windows))[None, :]).astype(float)]
    names = [w.name for w in windows]
    for t in terms:
        matrix, term_names = t.matrix[order][first][keep], list(t.names)
        if t.categorical and len(term_names) and len(matrix) and not (matrix == 0).all(axis=1).any():
            # the reference level has no time among these cases: the first level with time takes its place
            k = int(np.flatnonzero(matrix.any(axis=0))[0])
            matrix, term_names = np.delete(matrix, k, axis=1), term_names[:k] + term_names[k + 1:]
        columns.append(matrix)
        names += term_names
    return IntervalTable(case=m_case[keep], length=m_len[keep], events=m_events[keep], window=m_label[keep],
                         X=np.hstack(columns), names=names, windows=[w.name for w in windows], notes=notes)


@dataclass
class _Term:
    code: np.ndarray      # per piece: tells patterns apart
    matrix: np.ndarray    # per piece: design columns
    names: list[str]
    categorical: bool     # 0/1 columns of levels against a reference level (all zero)
    levels: list[str] = field(default_factory=list)  # names of the levels (categorical terms), by code


def _sorted_distinct(a: np.ndarray) -> np.ndarray:
    # np.unique takes a hash path for integers in numpy 2 that is ~10x slower than sorting here
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _count_distinct(a: np.ndarray) -> int:
    return int(len(_sorted_distinct(a)))


def _calendar_cuts(s: CaseSeries, months: int) -> tuple[np.ndarray, np.ndarray]:
    """(case, day) of every start of a calendar month (months=1) or quarter (3) inside each case's time."""
    first = (_EPOCH + s.start).astype("datetime64[M]").astype(np.int64) // months + 1
    last = (_EPOCH + s.end).astype("datetime64[M]").astype(np.int64) // months
    count = np.clip(last - first + 1, 0, None)
    owner = np.repeat(np.arange(s.n_cases), count)
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    month = (first[owner] + step) * months
    return owner, (month.astype("datetime64[M]").astype("datetime64[D]") - _EPOCH).astype(np.int64)


def _time_terms(s: CaseSeries, p_case, p_start, age, season) -> list[_Term]:
    """The age and season terms of each piece."""
    terms = []
    month_start = (_EPOCH + p_start).astype("datetime64[M]")
    if isinstance(age, AgeGroups):
        group = np.zeros(len(p_case), np.int64)
        for a in age.cuts:
            group += anniversary(s.birth, a)[p_case] <= p_start
        labels = _age_labels(age.cuts)
        names = [f"age {lab}" for lab in labels]
        terms.append(_Term(group, _dummies(group, len(labels)), names[1:], True, names))
    elif isinstance(age, AgeSpline):
        at = np.maximum((month_start.astype("datetime64[D]") - _EPOCH).astype(np.int64), s.start[p_case])
        years = (at - s.birth[p_case]) / 365.25
        basis = _age_spline(years, age.at if age.at is not None else age_knots(s, age.knots))
        terms.append(_Term(month_start.astype(np.int64), basis,
                           [f"age spline {i + 1}" for i in range(basis.shape[1])], False))
    if season is not None:
        month = month_start.astype(np.int64) % 12  # 0 = January
        if season.by == "quarter":
            quarter = month // 3
            names = ["season Q1", "season Q2", "season Q3", "season Q4"]
            terms.append(_Term(quarter, _dummies(quarter, 4), names[1:], True, names))
        elif season.by == "month":
            names = [f"season {m}" for m in _MONTHS]
            terms.append(_Term(month, _dummies(month, 12), names[1:], True, names))
        else:
            basis = _season_spline(season.knots)
            terms.append(_Term(month, basis[month], [f"season spline {i + 1}" for i in range(basis.shape[1])],
                               False))
    return terms


def _dummies(code: np.ndarray, levels: int) -> np.ndarray:
    """0/1 columns of levels 1..levels-1 (level 0 is the reference)."""
    return (code[:, None] == np.arange(1, levels)[None, :]).astype(float)


def _age_labels(cuts) -> list[str]:
    cuts = list(cuts)
    return [f"<{cuts[0]}"] + [f"{a}-{b - 1}" for a, b in zip(cuts, cuts[1:])] + [f"{cuts[-1]}+"]


def age_knots(series: CaseSeries, n_knots: int) -> tuple[float, ...]:
    """SelfControlledCaseSeries's age knots: the 1%..99% quantiles of the age at event (years), distinct."""
    event_age = (series.event_day - series.birth[series.event_case]) / 365.25
    return tuple(float(k) for k in np.unique(np.quantile(event_age, np.linspace(0.01, 0.99, n_knots))))


def _age_spline(years: np.ndarray, knots) -> np.ndarray:
    """SelfControlledCaseSeries's age spline: quadratic B-spline (no intercept column) on the knots, ages
    outside the outer knots held at them."""
    import patsy

    knots = np.asarray(knots, dtype=float)
    if len(knots) < 3:
        raise ValueError("the ages at event are too few or too alike for an age spline: use age groups")
    x = np.clip(years, knots[0], knots[-1])
    return np.asarray(patsy.dmatrix(
        "bs(x, knots=inner, degree=2, lower_bound=lo, upper_bound=hi) - 1",
        {"x": x, "inner": tuple(knots[1:-1]), "lo": knots[0], "hi": knots[-1]}))


def _season_spline(n_knots: int) -> np.ndarray:
    """Rows for January..December of a cyclic cubic spline over months (period 12), centred: knots - 1 terms."""
    import patsy

    month = np.arange(1, 13, dtype=float)
    return np.asarray(patsy.dmatrix(f"cc(m, df={n_knots - 1}, constraints='center', lower_bound=0.5, "
                                    "upper_bound=12.5) - 1", {"m": month}))
