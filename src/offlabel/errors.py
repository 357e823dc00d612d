"""The exceptions offlabel raises for problems a user can fix.

Every `OfflabelError` is a bad-input error: the command line prints its message as one
paragraph on stderr and exits with code 2. Messages name the problem and the fix.
"""

from __future__ import annotations


class OfflabelError(Exception):
    """A problem with the user's input: spec, CDM, arguments or environment."""

    exit_code = 2


class SpecError(OfflabelError):
    """The study file is not valid. `problems` lists every problem with its YAML path."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or []
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class CdmError(OfflabelError):
    """The CDM cannot be opened or lacks what the analysis needs."""


class VocabularyError(OfflabelError):
    """A code or concept in a concept set is unknown to the CDM's vocabulary."""


class OutputError(OfflabelError):
    """The output folder cannot be written."""


class EmptyCohortError(OfflabelError):
    """A cohort has no members, so the analysis on it cannot run."""


class ConvergenceError(OfflabelError):
    """An estimator did not converge; the message says what to look at."""
