"""Which cases this process runs: the matrix tests parametrized from the registry, then deselection
(paths not selected, the cases a resumed run already finished) and the serial tier last."""

from __future__ import annotations

from typing import Any

import pytest

from suite.core.run_folder import ROWS_FILE, read_jsonl
from suite.paths import PathSpec
from suite.plugin.rows import NOT_RUN, case_fields
from suite.plugin.session import own_folder
from suite.plugin.settings import ZooSettings, draw_of
from suite.run.cases import Case


def selected_cases(settings: ZooSettings, path: PathSpec) -> list[Case]:
    """The cases of one path (a test module's ZOO_PATH) under this run's selection (and shard)."""
    selection = settings.selection
    if path.name not in selection.paths:
        return []
    specs = settings.specs()
    shard_models = settings.regression.shard_models
    if shard_models is not None:
        specs = [spec for spec in specs if spec.name in shard_models]
    return path.cases(draw_of(selection, settings.providers, specs))


def parametrize_cases(metafunc: pytest.Metafunc, settings: ZooSettings) -> None:
    """A matrix test module's zoo_case parameters: its ZOO_PATH's cases."""
    path = getattr(metafunc.module, "ZOO_PATH", None)
    if not isinstance(path, PathSpec):
        raise pytest.UsageError(
            f"{metafunc.module.__name__} uses zoo_case but declares no ZOO_PATH (a suite.paths PATH)"
        )
    cases = selected_cases(settings, path)
    metafunc.parametrize("zoo_case", cases, ids=[c.case_id for c in cases])


class CaseCollection:
    """The collection hooks; the zoo cases' node ids go into `collected`, in run order."""

    def __init__(self, settings: ZooSettings, run_id: str, collected: dict[str, None]) -> None:
        self.settings = settings
        self.run_id = run_id
        self.collected = collected

    @pytest.hookimpl(trylast=True)  # after -k / -m deselection: only cases that will run are expected
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        # A path that is not selected parametrizes with no cases; pytest would show that as a skip.
        unselected = [i for i in items if "zoo_case" in getattr(i, "fixturenames", ()) and not _has_case(i)]
        if unselected:
            config.hook.pytest_deselected(items=unselected)
            items[:] = [i for i in items if i not in unselected]
        finished = self._finished_cases()
        if finished:  # --zoo-resume: what the interrupted run finished keeps its row
            done = [i for i in items if _has_case(i) and i.callspec.params["zoo_case"].case_id in finished]
            config.hook.pytest_deselected(items=done)
            items[:] = [i for i in items if i not in done]
        # Latency is the serial tier: it runs after every correctness case, on a quiet process.
        items.sort(key=_is_latency)
        for item in items:
            if "zoo_case" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.zoo)
                self.collected[item.nodeid] = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Under xdist the controller collects nothing itself; learn the cases from a worker.
        if not self.collected:
            self.collected.update(dict.fromkeys(i for i in ids if "[" in i and case_fields(i)["exporter"]))

    def _finished_cases(self) -> set[str]:
        """With --zoo-resume: the cases the interrupted run finished (a "not run" row is not finished)."""
        rows = own_folder(self.settings, self.run_id) / ROWS_FILE
        if not self.settings.run.resume or not rows.is_file():
            return set()
        return {str(r["case_id"]) for r in read_jsonl(rows, torn_tail=True) if r.get("message") != NOT_RUN}


def _is_latency(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and getattr(callspec.params.get("zoo_case"), "path", "") == "latency"


def _has_case(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and isinstance(callspec.params.get("zoo_case"), Case)
