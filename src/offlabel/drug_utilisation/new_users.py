"""New users: the starts of use that follow at least `washout_days` without use.

A cohort → cohort building block for the drug utilisation verbs (persistence, switching,
PPC take an index cohort of new users). Use (a cohort of exposures or eras) is merged into
episodes: uses less than `washout_days` + 1 days apart belong to one episode. An episode
start is a new use; with `require_prior_observation` the person must also have been in
observation for the `washout_days` before it (in the observation period that holds it),
so that absence of use is observed rather than assumed.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from offlabel.drug_utilisation._common import washout
from offlabel.drug_utilisation._intervals import cohort_days, merge, observation_days

_EVER = 10**9


def new_users(cdm, use: ir.Table, *, washout_days: int | None = 365, require_prior_observation: bool = True,
              first_only: bool = False, cohort_definition_id: int | None = None) -> ir.Table:
    """Cohort (subject_id, cohort_start_date, cohort_end_date) of new-use episodes.

    washout_days: days without use before a start counts as new (None: no use ever before;
        with require_prior_observation, a person's first use in an observation period
        then needs no prior days).
    first_only: keep only each person's first new-use episode.
    cohort_end_date is the end of the episode (the last day of use within it, the
    washout serving as the gap that joins uses).
    """
    wash = washout(washout_days)
    episodes = merge(cohort_days(use, cohort_definition_id, what="use cohort"), gap=_EVER if wash is None else wash)
    w = ibis.window(group_by="subject_id", order_by=["start", "end"])
    ep = episodes.mutate(_n=ibis.row_number().over(w))
    if wash is None:
        ep = ep.filter(ep._n == 0)
    if require_prior_observation:
        obs = observation_days(cdm).rename(_os="subject_id", _o0="start", _o1="end")
        cond = (ep.subject_id == obs._os) & (obs._o0 <= ep.start) & (obs._o1 >= ep.start)
        if wash is not None:
            cond = cond & (obs._o0 <= ep.start - wash)
        ep = ep.join(obs, cond).select(*episodes.columns, "_n")
    if first_only:
        first = ep.group_by(_fs=ep.subject_id).aggregate(_first=ep._n.min())
        ep = ep.join(first, (ep.subject_id == first._fs) & (ep._n == first._first)).select(*episodes.columns, "_n")
    epoch = ibis.date(1970, 1, 1)
    return ep.select(subject_id=ep.subject_id,
                     cohort_start_date=(epoch + ep.start.as_interval("D")).cast("date"),
                     cohort_end_date=(epoch + ep.end.as_interval("D")).cast("date"))
