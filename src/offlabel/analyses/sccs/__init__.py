"""The self-controlled case series (`type: sccs`): the cases' observation, exposures and events from the
database (`extraction`), split and fitted by conditional Poisson regression (`case_series`)."""
