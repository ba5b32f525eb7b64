"""Thin on purpose: the suite's pytest machinery lives in suite/plugin.py."""

pytest_plugins = ["suite.plugin"]
