"""Stored verdicts as text a person reads: ``report`` (``cegbench show``),
``leaderboard_table`` (``cegbench table``), ``validity_table`` (``cegbench validity``).
Pure formatting of registry rows: no torch, no scipy."""
