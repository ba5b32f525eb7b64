"""Thin on purpose: the suite's pytest machinery lives in suite/plugin/ (also an installed pytest11 plugin)."""

pytest_plugins = ["suite.plugin"]
