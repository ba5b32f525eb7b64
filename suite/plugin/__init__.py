"""The pytest plugin: zoo-suite's face to pytest (`-p suite.plugin`, or the conftest at the root).

Its parts, each one job:
    options     the --zoo-* options (names, defaults, help)
    settings    every option read and checked once, into one frozen ZooSettings
    collection  the matrix tests parametrized from the registry; deselection; the serial tier last
    session     the run session: run folder, streamed rows, continue/resume, history, diff, report
    rows        rows on test reports, and rows for cases that never wrote one
    fixtures    zoo_runner (worker processes), zoo_latency_settings, zoo_check
    summary     the header and the closing summary in the terminal

The hooks below stay thin: they read the settings once and hand them to the session and the
collection, which pytest then calls as plugins of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from suite.core.redact import redact
from suite.plugin.collection import CaseCollection, parametrize_cases
from suite.plugin.fixtures import SESSION, zoo_check, zoo_latency_settings, zoo_runner
from suite.plugin.options import add_options
from suite.plugin.session import RunSession
from suite.plugin.settings import read_settings
from suite.plugin.summary import header_lines, write_summary
from suite.runtime.providers import ProviderSelectionError
from suite.selection.profiles import SelectionError
from zoo.registry import DuplicateModelError, UnknownModelError

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_report_header",
    "pytest_terminal_summary",
    "zoo_check",
    "zoo_latency_settings",
    "zoo_runner",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "zoo: a case of the zoo matrix (one row in the report)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    try:
        settings = read_settings(config)
    except (
        SelectionError,
        ProviderSelectionError,
        UnknownModelError,
        DuplicateModelError,
        ImportError,
        ValueError,
    ) as exc:
        raise pytest.UsageError(redact(f"zoo-suite: {exc}")) from None
    run = RunSession(config, settings)
    config.stash[SESSION] = run
    config.pluginmanager.register(run, "zoo-suite-session")
    config.pluginmanager.register(CaseCollection(settings, run.run_id, run.collected), "zoo-suite-collection")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(config.stash[SESSION])


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> Iterator[None]:
    # After every other plugin's summary (pytest-benchmark's wide tables): zoo-suite's lines,
    # with the REGRESSION verdict, are the last thing printed.
    yield
    run = config.stash.get(SESSION, None)
    if run is None or run.is_worker:
        return
    if run.report_paths:
        write_summary(terminalreporter, run)
    elif not config.option.collectonly:  # nothing ran (an empty shard): say why, even under -q
        for notice in run.settings.notices:
            terminalreporter.write_line(f"zoo-suite: NOTE: {notice}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "zoo_case" in metafunc.fixturenames:
        parametrize_cases(metafunc, metafunc.config.stash[SESSION].settings)
