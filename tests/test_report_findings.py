"""The words of the report's key findings (offlabel.report.sections.findings) follow the CIs, never the point estimate."""

from __future__ import annotations

from offlabel.report.sections import findings, sccs
from offlabel.results.estimate_values import SUPPRESSED


def test_a_finding_is_clear_only_when_its_ci_excludes_no_effect():
    assert findings.verdict(1.01, 1.5, 1.0) == "above"
    assert findings.verdict(0.5, 0.99, 1.0) == "below"
    assert findings.verdict(0.99, 3.0, 1.0) == "unclear"   # a large estimate with a CI over 1 is not clear
    assert findings.verdict(-2.0, -0.1, 0.0) == "below"
    assert findings.verdict(SUPPRESSED, SUPPRESSED, 0.0) == "unclear"


def test_grouped_lists_the_clear_ones_first():
    items = [("a", "unclear", "1"), ("b", "above", "2"), ("c", "below", "3")]
    assert findings.grouped(items, "Up", "Down", "Unclear") == "Up: b 2. Down: c 3. Unclear: a 1."
    assert findings.grouped([], "Up", "Down", "Unclear") == ""


def test_a_suppressed_window_is_left_out_of_the_sccs_finding():
    values = {("nausea", "days 1-30", "incidence rate ratio"): {"irr": 2.0, "irr_95CI_lower": 1.2,
                                                               "irr_95CI_upper": 3.3},
              ("nausea", "days 31-90", "incidence rate ratio"): {"irr": SUPPRESSED, "irr_95CI_lower": SUPPRESSED,
                                                                "irr_95CI_upper": SUPPRESSED}}

    def get(o, w, variable, estimate, level=None):
        return values.get((o, w, variable), {}).get(estimate)
    [text] = sccs._findings(["nausea"], {"nausea": ["days 1-30", "days 31-90", "reference"]}, get, "drug", str)
    assert "Clearly raised: nausea days 1-30 2.0 (95% CI 1.2 to 3.3)" in text
    assert "31-90" not in text
