"""The pytest plugin: --zoo-* options, the case matrix, fixtures, rows and reports.

Rows travel on each test report's user_properties, so they reach the
controller under pytest-xdist the same way they reach it without it; the
controller alone writes the run folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from suite.core.inherent import overhead_ratio
from suite.core.record import Record, Status
from suite.core.redact import redact
from suite.core.run_folder import (
    EXIT_REGRESSION,
    HISTORY_ENV,
    ROWS_FILE,
    SAMPLES_FILE,
    HistoryError,
    RunFolder,
    RunPart,
    history_url,
    mend_torn_tail,
    now_iso,
    read_jsonl,
    read_run_folder,
)
from suite.exporters import EXPORTER_FRAMEWORKS
from suite.history.diff import parse_fail_on
from suite.latency_ab.interleaved import AbPlan
from suite.latency_ab.kept_artifacts import ArtifactStore, BaselineArtifacts
from suite.onnx_files.safe_read import MIB, Limits
from suite.onnx_files.sources import parse_dims, specs_from_dirs
from suite.paths import PATH_NAMES, PATHS, PathSpec, path_named
from suite.paths.latency import LatencySettings
from suite.paths.latency_ab import AbSettings
from suite.report.results import new_run_dir, write_run
from suite.run.cache import Cache
from suite.run.cases import CPU, Case, Draw
from suite.run.pipeline import CaseRunner
from suite.runtime.environment import benchmark_version_problem, library_versions, run_metadata
from suite.runtime.providers import ProviderRequest, ProviderSelectionError, parse_providers, runtime_inventory
from suite.runtime.sessions import Threads
from suite.runtime.timing import TimingPlan
from suite.selection.profiles import Selection, SelectionError, make_selection, profiles
from suite.selection.shard import Shard, models_of_shard, parse_shard
from suite.workers import onnx_files, tf_process, torch_models  # noqa: TID251 - the workers' initializers
from suite.workers.isolate import Worker
from suite.workers.settings import WorkerSettings
from zoo.registry import DuplicateModelError, ModelRegistry, UnknownModelError

RECORD_KEY = "zoo_record"
SAMPLES_KEY = "zoo_samples"
_STATE = pytest.StashKey["ZooState"]()
NOT_RUN = "not run: the session ended before this case"


class ZooState:
    """Per-process plugin state; also the hooks that gather rows and write the run folder."""

    def __init__(
        self,
        config: pytest.Config,
        selection: Selection,
        user_modules: tuple[str, ...],
        models: ModelRegistry,
        providers: tuple[ProviderRequest, ...] = (),
        notices: tuple[str, ...] = (),
        regression: RegressionSettings | None = None,
    ) -> None:
        self.config = config
        self.selection = selection
        self.user_modules = user_modules
        self.models = models  # the run's zoo: the built-in families and --zoo-module modules
        self.providers = providers
        self.notices = notices  # said in the header and the summary (e.g. a path left out)
        self.runtime = runtime_inventory()
        ab_plan = AbPlan(target_s=config.getoption("zoo_ab_seconds"), min_effect=config.getoption("zoo_ab_min_effect"))
        self.latency = LatencySettings(
            threads=Threads(intra_op=config.getoption("zoo_threads"), inter_op=1),
            plan=TimingPlan(target_s=config.getoption("zoo_latency_seconds")),
            ab=AbSettings(
                ArtifactStore(_reports_dir(config) / "artifacts"),
                plan=ab_plan,
                identical_too=config.getoption("zoo_ab_identical"),
            ),
        )
        self.is_worker = hasattr(config, "workerinput")
        self.rows: dict[str, dict[str, Any]] = {}
        self.collected: dict[str, None] = {}  # the zoo cases' node ids, in run order (an ordered set)
        self.run_dir: Path | None = None
        self.started = time.time()
        self.report_paths: dict[str, Path] = {}
        self.worker_stats: list[dict[str, dict[str, int]]] = []
        self.regression = regression or RegressionSettings()
        self.samples: dict[str, list[float]] = {}
        self.overhead: float | None = None  # the run's core-seconds over its inherent work (suite.core.inherent)
        self.started_at = now_iso()
        self.run_id = self.regression.run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.store: Any = None  # a suite.history.store.HistoryStore, when a history is in use
        self.diff: Any = None  # a suite.report.since_baseline.DiffOutcome, with --zoo-baseline
        self.history_note = ""
        self.earlier: RunFolder | None = None  # with --zoo-continue: what the run's earlier part wrote
        self.history_begun = False

    def record_worker_stats(self, stats: dict[str, dict[str, int]]) -> None:
        """Worker starts and calls of this process; an xdist worker sends them to the controller."""
        if self.is_worker:
            self.config.workeroutput["zoo_worker_stats"] = json.dumps(stats)  # type: ignore[attr-defined]
        else:
            self.worker_stats.append(stats)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        stats = getattr(node, "workeroutput", {}).get("zoo_worker_stats")
        if stats:
            self.worker_stats.append(json.loads(stats))

    def worker_totals(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for stats in self.worker_stats:
            for name, counts in stats.items():
                entry = totals.setdefault(name, {"starts": 0, "calls": 0})
                entry["starts"] += counts["starts"]
                entry["calls"] += counts["calls"]
        return totals

    @property
    def reports_dir(self) -> Path:
        return _reports_dir(self.config)

    @property
    def cache_dir(self) -> Path:
        return _cache_dir(self.config)

    # -- hooks ----------------------------------------------------------------------------

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
            self.collected.update(dict.fromkeys(i for i in ids if "[" in i and _case_fields(i)["exporter"]))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # A database named on the command line, or a baseline, is checked now, not after an hour
        # of cases. The run itself is stored from its first row on (_begin_history): a pytest
        # session without zoo cases (the project's own tests) leaves no trace in the history.
        if self.is_worker:
            return
        baseline = self.regression.baseline
        explicit = self.config.getoption("zoo_history") or os.environ.get(HISTORY_ENV)
        try:
            if self.config.getoption("zoo_continue") or self.config.getoption("zoo_resume"):
                self._continue_run()
            if self.regression.history_url is not None and (explicit or baseline):
                self.store = _open_store(self.regression.history_url)
            if baseline and not Path(baseline).is_dir():
                if self.store is None:
                    raise HistoryError(f"--zoo-baseline {baseline!r} is not a run folder, and --zoo-history is none")
                from suite.history.references import run_id_for

                run_id_for(baseline, self.store, exclude=self.run_id)
            if baseline and "latency" in self.selection.paths:
                self._time_against_baseline(baseline)
        except HistoryError as exc:
            raise pytest.UsageError(redact(f"zoo-suite: {exc}")) from None

    def _time_against_baseline(self, baseline: str) -> None:
        """The baseline's timed artifacts, by case: this run's latency cases time A/B against them."""
        from suite.history.references import resolve

        found = resolve(baseline, self.store, exclude=self.run_id)
        rows = found.rows
        by_case: dict[str, str] = {}
        if "artifact_sha256" in rows:
            kept = rows[rows["artifact_sha256"].notna()]
            by_case = dict(zip(kept["case_id"].astype(str), kept["artifact_sha256"].astype(str), strict=True))
        assert self.latency.ab is not None
        ab = dataclasses.replace(self.latency.ab, baseline=BaselineArtifacts(found.run_id, by_case))
        self.latency = dataclasses.replace(self.latency, ab=ab)

    def _continue_run(self) -> None:
        """Take up the run folder an earlier invocation of this run id wrote (make zoo's latency part)."""
        if self.regression.run_id is None:
            raise HistoryError("--zoo-continue needs --zoo-run-id (or ZOO_RUN_ID) naming the run to continue")
        self.run_dir = self._own_folder()
        if not (self.run_dir / ROWS_FILE).is_file():
            resume = self.config.getoption("zoo_resume")
            raise HistoryError(
                f"--zoo-resume {resume}: {self.run_dir} has no {ROWS_FILE}; give the id of an interrupted run "
                "(its folder's name under reports/runs)"
                if resume
                else f"--zoo-continue: {self.run_dir} has no {ROWS_FILE} to continue; "
                "run the first part with the same --zoo-run-id"
            )
        mend_torn_tail(self.run_dir / ROWS_FILE)  # a killed run's half-written last row; ours append after it
        self.earlier = read_run_folder(self.run_dir)
        self.samples.update(self.earlier.samples)

    def _own_folder(self) -> Path:
        return self.reports_dir / "runs" / (_folder_name(self.run_id) + self._shard_suffix())

    def _finished_cases(self) -> set[str]:
        """With --zoo-resume: the cases the interrupted run finished (a "not run" row is not finished)."""
        rows = self._own_folder() / ROWS_FILE
        if not self.config.getoption("zoo_resume") or not rows.is_file():
            return set()
        return {str(r["case_id"]) for r in read_jsonl(rows, torn_tail=True) if r.get("message") != NOT_RUN}

    def _shard_suffix(self) -> str:
        shard = self.regression.shard
        return f"-shard{shard.index}of{shard.count}" if shard else ""

    def _part_label(self) -> str:
        """The shard, and the paths when they were named (the parts of one run must differ)."""
        shard = self.regression.shard.label if self.regression.shard else ""
        paths = "+".join(self.selection.paths) if self.config.getoption("zoo_paths") else ""
        return " ".join(p for p in (shard, paths) if p) or "all"

    def _begin_history(self) -> None:
        """Store the part as running (a process killed later leaves it visibly so)."""
        if self.regression.history_url is None:
            return
        try:
            if self.store is None:
                self.store = _open_store(self.regression.history_url)
            self.store.begin_part(self._run_part())
        except Exception as exc:  # noqa: BLE001 - the run goes on; its folder keeps everything
            self.store = None
            self.history_note = (
                f"history: not stored ({type(exc).__name__}: {str(exc)[:200]}); "
                f"import the run later with: python -m suite.cli.history import {self.run_dir}"
            )

    def _run_part(self, metadata: dict[str, Any] | None = None) -> RunPart:
        return RunPart(
            run_id=self.run_id,
            part=self._part_label(),
            started_at=self.started_at,
            metadata=metadata or {"profile": self.selection.profile, "selection": self.selection.describe()},
            folder=str(self.run_dir or ""),
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or "[" not in report.nodeid or report.nodeid in self.rows:
            return
        samples = _samples_from_report(report)
        row = _row_from_report(report)
        is_case = report.nodeid in self.collected  # a parametrized test of another kind is no zoo case
        if row is None and is_case and (report.when == "call" or (report.when == "setup" and not report.passed)):
            # No row attached: the test died before zoo_check (a fixture error, a lost xdist worker).
            status = Status.SKIP if report.skipped else Status.CRASH if report.failed else None
            if status is not None:
                row = _row_without_record(report.nodeid, status, _longrepr_line(report))
        if row is not None:
            row.update(self.runtime)  # which onnxruntime package ran it, for merging environments
            self.rows[report.nodeid] = row
            self._stream_row(row)
            if samples:
                self.samples[str(row["case_id"])] = samples
                self._stream(SAMPLES_FILE, {"case_id": row["case_id"], "samples_ms": samples})

    def _stream_row(self, row: dict[str, Any]) -> None:
        # Rows are appended as they arrive, so even a killed run leaves what it did.
        self._stream(ROWS_FILE, row)

    def _stream(self, name: str, item: dict[str, Any]) -> None:
        if self.run_dir is None:
            self.run_dir = new_run_dir(self.reports_dir, _folder_name(self.run_id) + self._shard_suffix())
        if not self.history_begun:
            self.history_begun = True
            self._keep_benchmark_json(self.run_dir)
            self._begin_history()
        with (self.run_dir / name).open("a") as handle:
            handle.write(json.dumps(item, default=str) + "\n")

    def _keep_benchmark_json(self, run_dir: Path) -> None:
        """pytest-benchmark's own JSON goes beside the rows, unless --benchmark-json names a place."""
        benchmarks = getattr(self.config, "_benchmarksession", None)
        if benchmarks is not None and "latency" in self.selection.paths and not benchmarks.json:
            benchmarks.json = run_dir / "benchmark.json"

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Iterator[None]:
        # Outermost and before the yield: the run folder and the history are written before
        # other plugins finish (pytest-benchmark saves its JSON there), so their failure
        # cannot cost the rows.
        self._finish(session, exitstatus)
        yield

    def _finish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or not (self.rows or self.collected) or self.config.option.collectonly:
            return  # --collect-only runs nothing: no run folder, no history
        unfinished = [nodeid for nodeid in self.collected if nodeid not in self.rows]
        for nodeid in unfinished:
            self.rows[nodeid] = _row_without_record(nodeid, Status.SKIP, NOT_RUN)
            self._stream_row(self.rows[nodeid])
        assert self.run_dir is not None
        meta = run_metadata(
            Path(self.config.rootpath), self.selection.describe(), list(self.config.invocation_params.args)
        )
        meta["wall_seconds"] = round(time.time() - self.started, 1)
        meta.update(self.export_counts())
        meta["worker_processes"] = self.worker_totals()
        meta["onnxruntime"] = self.runtime
        if "latency" in self.selection.paths:
            meta["latency"] = {
                "providers": [p.label for p in self.providers],
                "intra_op_threads": self.latency.threads.intra_op,
                "inter_op_threads": self.latency.threads.inter_op,
                "target_seconds": self.latency.plan.target_s,
                "large_batch": self.latency.large_batch,
            }
        meta["notices"] = list(self.notices)
        meta["paths"] = [path.describe() for path in PATHS]  # how the report shows each path's rows
        meta["input_draw"] = self.config.getoption("zoo_input_draw")
        interrupted = bool(unfinished) or exitstatus == pytest.ExitCode.INTERRUPTED
        meta.update(
            {
                "run_id": self.run_id,
                "shard": self.regression.shard.label if self.regression.shard else "",
                "started_at": self.started_at,
                "state": "interrupted" if interrupted else "complete",
                "profile": self.selection.profile,
            }
        )
        rows = list(self.rows.values())
        whole, meta_whole = self._with_earlier_part(rows, meta)
        # A resumed part is the killed one finished: its stored rows are the earlier ones with ours.
        # (A continued run's earlier part is a part of its own, already stored.)
        self._store_run(whole if self.config.getoption("zoo_resume") else rows, meta)
        rows, meta = whole, meta_whole
        self.overhead = meta.get("overhead_ratio")
        summary_html = self._diff_against_baseline(rows, meta)
        self.report_paths = write_run(self.run_dir, rows, meta, summary_html)
        if self.diff is not None:
            self.report_paths.update({f"diff {k}": v for k, v in self.diff.paths.items()})
            gate_failed = bool(self.diff.gate)
            # With a baseline the diff is the verdict: known failures that still fail are not news.
            if gate_failed:
                session.exitstatus = EXIT_REGRESSION
            elif session.exitstatus == pytest.ExitCode.TESTS_FAILED:
                session.exitstatus = pytest.ExitCode.OK

    def _with_earlier_part(
        self, rows: list[dict[str, Any]], meta: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The whole run's rows and metadata: the earlier part's, then this one's (which win on a case)."""
        counted = ("wall_seconds", "exports_run", "exports_cached")
        this_part = {
            "part": self._part_label(),
            "selection": meta["selection"],
            **{k: meta[k] for k in counted},
            # For the harness overhead: cases ran in this many processes, spending this much inherent work.
            "processes": int(getattr(self.config.option, "numprocesses", None) or 1),
            "inherent_seconds": round(sum(float(r.get("inherent_seconds") or 0.0) for r in rows), 3),
        }
        if self.earlier is None:
            return rows, {**meta, "parts": [this_part], "overhead_ratio": overhead_ratio([this_part])}
        ours = {str(row["case_id"]) for row in rows}
        merged = [row for row in self.earlier.rows if str(row["case_id"]) not in ours] + rows
        parts = [*self.earlier.metadata.get("parts", []), this_part]
        totals = {k: round(sum(float(p.get(k) or 0) for p in parts), 1) for k in counted}
        totals["exports_run"], totals["exports_cached"] = int(totals["exports_run"]), int(totals["exports_cached"])
        return merged, {**meta, "parts": parts, **totals, "overhead_ratio": overhead_ratio(parts)}

    def _store_run(self, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        """The part's rows and samples into the history, in one transaction; a failure is said, not raised."""
        if self.store is None:
            return
        try:
            self.store.write_part(self._run_part(meta), rows, self.samples, meta["state"])
            self.history_note = f"history: run {self.run_id} stored in {self.store.safe_url}"
        except Exception as exc:  # noqa: BLE001 - the run folder still holds everything; say how to import it
            self.history_note = (
                f"history: could not store the run ({type(exc).__name__}: {str(exc)[:200]}); "
                f"import it later with: python -m suite.cli.history import {self.run_dir}"
            )

    def _diff_against_baseline(self, rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
        """The diff section for results.html (diff.csv/.md/.html beside it), or "" without --zoo-baseline."""
        if not self.regression.baseline or self.run_dir is None:
            return ""
        from suite.history.diff import RunData
        from suite.report.diff import render_diff_section
        from suite.report.results import rows_frame
        from suite.report.since_baseline import run_diff

        candidate = RunData(self.run_id, rows_frame(rows), self.samples, meta)
        try:
            self.diff = run_diff(self.store, candidate, self.regression.baseline, self.run_dir, self.regression.fail_on)
        except HistoryError as exc:
            self.history_note += f"\nNOTE: no diff: {exc}"
            return ""
        return render_diff_section(self.diff.diff, self.diff.baseline, candidate, self.diff.gate, self.diff.trend)

    def export_counts(self) -> dict[str, int]:
        flags = [r.get("export_cached") for r in self.rows.values()]
        return {"exports_run": flags.count(False), "exports_cached": flags.count(True)}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.report_paths:
            return
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        exports = self.export_counts()
        terminalreporter.section("zoo-suite")
        terminalreporter.write_line(
            f"{len(self.rows)} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
        terminalreporter.write_line(
            f"exports run {exports['exports_run']}, reused from cache {exports['exports_cached']}"
        )
        if self.overhead is not None:
            terminalreporter.write_line(
                f"harness overhead: {self.overhead:.2f} x the inherent work (exports, conversions, sessions, "
                "timed loops); core-seconds used over seconds spent in them"
            )
        for notice in self.notices:
            terminalreporter.write_line(f"NOTE: {notice}")
        for kind, path in self.report_paths.items():
            terminalreporter.write_line(f"{kind}: {path}")
        if self.history_note:
            terminalreporter.write_line(redact(self.history_note))
        if self.diff is not None:
            from suite.history.diff import counts

            found = counts(self.diff.diff)
            terminalreporter.write_line(
                f"diff vs {self.diff.baseline.run_id}: " + ", ".join(f"{k} {v}" for k, v in found.items() if v)
            )
            for record in self.diff.diff[self.diff.diff["change"] == "regressed"].head(20).to_dict("records"):
                terminalreporter.write_line(f"REGRESSED {record['case_id']}: {record['why']}: {record['cand_message']}")
            if self.diff.gate:
                terminalreporter.write_line(f"REGRESSION: {', '.join(self.diff.gate)} (exit {EXIT_REGRESSION})")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zoo-suite", "zoo-suite: ONNX model zoo regression matrix")
    group.addoption("--zoo-profile", default="default", help=f"named selection: {', '.join(profiles())}")
    group.addoption("--zoo-models", default=None, help="comma-separated model globs to include (e.g. 'resnet*,mlp')")
    group.addoption("--zoo-exclude", default=None, help="comma-separated model globs to leave out")
    group.addoption("--zoo-exporters", default=None, help="comma-separated exporters: torchscript,dynamo")
    group.addoption(
        "--zoo-opsets",
        default=None,
        help="opsets for every exporter ('17,18') or per exporter ('torchscript:13;dynamo:18')",
    )
    group.addoption("--zoo-shapes", default=None, help="comma-separated shape modes: static,dynamic")
    group.addoption(
        "--zoo-paths",
        default=None,
        help="comma-separated paths after export: ort (ONNX Runtime), tf (onnx-tf -> SavedModel -> tf2onnx), "
        "version (onnx version converter), optimize (ORT levels, onnxscript), quantize (INT8, FP16)",
    )
    group.addoption(
        "--zoo-module",
        action="append",
        default=[],
        help="module (dotted name or .py path) that registers extra models with zoo.register_model; repeatable",
    )
    group.addoption(
        "--zoo-onnx-dir",
        action="append",
        default=[],
        help="folder of ONNX files from outside (ONNX Model Zoo layout: model folders with test_data_set_N, "
        "bare .onnx files, .tar.gz archives); each is a zoo entry, exporter 'onnx'; repeatable",
    )
    group.addoption(
        "--zoo-onnx-dims",
        default=None,
        help="sizes of named dims for ONNX files without test data, e.g. 'batch=1,seq=16'",
    )
    group.addoption(
        "--zoo-onnx-max-mb",
        type=float,
        default=2048.0,
        help="largest file, tensor or archive member (MiB) read from an ONNX folder; bigger is a model_error row",
    )
    group.addoption(
        "--zoo-providers",
        default="available",
        help="execution providers for the latency and ort paths: 'available' (every local one this onnxruntime offers) "
        "or a list with provider options, e.g. 'cpu,openvino[device_type=CPU],tensorrt[trt_fp16_enable=True]'",
    )
    group.addoption("--zoo-threads", type=int, default=2, help="intra-op threads for latency (ORT, torch, TF)")
    group.addoption(
        "--zoo-latency-seconds", type=float, default=1.0, help="measured time per latency case (rounds are calibrated)"
    )
    group.addoption("--zoo-report-dir", default=None, help="where run folders go (default: <rootdir>/reports)")
    group.addoption("--zoo-cache-dir", default=None, help="export and reference cache (default: <report dir>/cache)")
    group.addoption("--zoo-timeout", type=float, default=600.0, help="seconds one export or eager run may take")
    group.addoption("--zoo-no-cache", action="store_true", help="redo every export and reference, refreshing the cache")
    group.addoption(
        "--zoo-input-draw",
        type=int,
        default=0,
        help="first seeded input draw the hops are checked on (default 0); another value re-checks every "
        "verdict on other inputs",
    )
    group.addoption(
        "--zoo-history",
        default=None,
        help="results history database URL (default $ZOO_HISTORY_URL or sqlite:///<report dir>/history.sqlite; "
        "e.g. postgresql+psycopg://user@host/zoo); 'none' keeps no history",
    )
    group.addoption(
        "--zoo-baseline",
        default=None,
        help="diff this run against a baseline: a run folder, run id, baseline name, 'latest' or 'previous'; "
        f"exit {EXIT_REGRESSION} when the diff gate fails",
    )
    group.addoption(
        "--zoo-ab-min-effect",
        type=float,
        default=0.05,
        help="latency A/B against --zoo-baseline: the smallest change called slower or faster (default 0.05: 5%%)",
    )
    group.addoption(
        "--zoo-ab-seconds",
        type=float,
        default=2.0,
        help="latency A/B: measured time of baseline and candidate together, per case (default 2)",
    )
    group.addoption(
        "--zoo-ab-identical",
        action="store_true",
        help="latency A/B: time identical artifacts against each other too (an A/A check of the method's noise)",
    )
    group.addoption(
        "--zoo-fail-on", default="correctness", help="what fails the diff gate: correctness, drift, latency, all, none"
    )
    group.addoption("--zoo-shard", default=None, help="run shard K of N (K/N), split by model, e.g. 1/3")
    group.addoption(
        "--zoo-continue",
        action="store_true",
        help="add this invocation's rows to the run folder of --zoo-run-id and write the report from all of "
        "them (make zoo: correctness paths on every core, then latency alone, as one run)",
    )
    group.addoption(
        "--zoo-resume",
        default=None,
        metavar="RUN_ID",
        help="finish the interrupted run RUN_ID (its folder in reports/runs): its finished cases keep their rows, "
        "the others run, and one report covers them all",
    )
    group.addoption(
        "--zoo-run-id", default=None, help="run id shared by the shards of one run (default $ZOO_RUN_ID or a new one)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "zoo: a case of the zoo matrix (one row in the report)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    given_modules = tuple(str(Path(m).resolve()) if m.endswith(".py") else m for m in config.getoption("zoo_module"))
    try:
        _check_numbers(config)
        selection = make_selection(
            config.getoption("zoo_profile"),
            models=config.getoption("zoo_models"),
            exclude=config.getoption("zoo_exclude"),
            exporters=config.getoption("zoo_exporters"),
            opsets=config.getoption("zoo_opsets"),
            shapes=config.getoption("zoo_shapes"),
            paths=config.getoption("zoo_paths"),
            onnx_dirs=config.getoption("zoo_onnx_dir"),
        )
        # The profile's own modules (the corpus's generated families) and --zoo-module's: the workers load the same.
        user_modules = tuple(dict.fromkeys((*selection.modules, *given_modules)))
        models = ModelRegistry().load_builtin().load_modules(user_modules)
        _check_writable(_cache_dir(config), "--zoo-cache-dir")
        _add_onnx_files(config, selection, models)
        _check_selection_has_cases(selection, models)
        selection, notices = _serial_paths_only_when_serial(config, selection)
        providers = _providers(config, selection)
        regression = _regression_settings(config, selection, providers, models)
        _check_writable(_reports_dir(config), "--zoo-report-dir")
    except (
        SelectionError,
        ProviderSelectionError,
        UnknownModelError,
        DuplicateModelError,
        ImportError,
        ValueError,
    ) as exc:
        raise pytest.UsageError(redact(f"zoo-suite: {exc}")) from None
    state = ZooState(config, selection, user_modules, models, providers, notices, regression)
    config.stash[_STATE] = state
    config.pluginmanager.register(state, "zoo-suite-state")


# Numeric options checked before any case runs: (option, flag, valid, what is expected, what to try).
_NUMBER_RULES: tuple[tuple[str, str, Callable[[float], bool], str, str], ...] = (
    ("zoo_threads", "--zoo-threads", lambda v: v >= 1, "1 or more threads", "2 (the default)"),
    (
        "zoo_latency_seconds",
        "--zoo-latency-seconds",
        lambda v: v > 0,
        "more than 0 seconds of measured time per latency case",
        "1 (the default)",
    ),
    ("zoo_timeout", "--zoo-timeout", lambda v: v > 0, "more than 0 seconds per worker call", "600 (the default)"),
    ("zoo_input_draw", "--zoo-input-draw", lambda v: v >= 0, "0 or more", "0 (the default)"),
    ("zoo_onnx_max_mb", "--zoo-onnx-max-mb", lambda v: v > 0, "more than 0 MiB", "2048 (the default)"),
    ("zoo_ab_min_effect", "--zoo-ab-min-effect", lambda v: 0 < v < 1, "a fraction between 0 and 1", "0.05 (5%)"),
    ("zoo_ab_seconds", "--zoo-ab-seconds", lambda v: v > 0, "more than 0 seconds per A/B case", "2 (the default)"),
)


def onnx_limits(config: pytest.Config) -> Limits:
    """The caps on what one ONNX file from outside may make the run read or allocate."""
    cap = int(config.getoption("zoo_onnx_max_mb") * MIB)
    # The onnx worker holds a model and a few of its tensors at once, besides its own libraries.
    worker = 4 * cap + 2048 * MIB
    return Limits(max_file_bytes=cap, max_tensor_bytes=cap, max_archive_bytes=2 * cap, max_worker_bytes=worker)


def _add_onnx_files(config: pytest.Config, selection: Selection, models: ModelRegistry) -> None:
    """Every entry of the --zoo-onnx-dir folders joins the run's zoo (archives unpacked into the cache)."""
    if not selection.onnx_dirs:
        return
    dims = parse_dims(config.getoption("zoo_onnx_dims"))
    taken = [spec.name for spec in models.all_models()]
    unpack_to = _cache_dir(config) / "unpacked"
    for spec in specs_from_dirs(selection.onnx_dirs, dims, onnx_limits(config), unpack_to, taken):
        models.add(spec)


def _check_numbers(config: pytest.Config) -> None:
    """A number no case can run with is a usage error now, not a row per case (or silence)."""
    for option, flag, valid, expected, hint in _NUMBER_RULES:
        value = config.getoption(option)
        if not valid(value):
            raise SelectionError(f"{flag} must be {expected}, got {value:g}; try {hint}")


def _check_selection_has_cases(selection: Selection, models: ModelRegistry) -> None:
    """A selection of no model, or of exporters that take none of the selected models' frameworks,
    has no case: say why instead of "no tests collected"."""
    specs = models.select(selection.models, selection.exclude)
    if not specs:
        raise SelectionError(
            f"no case to run: --zoo-exclude {','.join(selection.exclude)} leaves none of the models "
            f"{','.join(selection.models)}; exclude fewer"
        )
    exporters = [name for name, opsets in selection.opsets.items() if opsets or name == "onnx"]
    served = {EXPORTER_FRAMEWORKS[name] for name in exporters}
    frameworks = {spec.framework for spec in specs}
    if not exporters or served & frameworks:
        return
    names = ", ".join(spec.name for spec in specs[:5]) + (", ..." if len(specs) > 5 else "")
    takers = [name for name, framework in EXPORTER_FRAMEWORKS.items() if framework in frameworks]
    raise SelectionError(
        f"no case to run: {', '.join(exporters)} exports {', '.join(sorted(served))} models, and the selected "
        f"models ({names}) are {', '.join(sorted(frameworks))} models; try --zoo-exporters {','.join(takers)}, "
        "or select models that exporter takes"
    )


def _check_writable(folder: Path, flag: str) -> None:
    """The run folder and the cache must be writable before the first case, not after it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".zoo-write-check-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SelectionError(
            f"{flag} {folder}: cannot create or write there ({exc.strerror or exc}); give a folder you can write to"
        ) from None


@dataclasses.dataclass(frozen=True)
class RegressionSettings:
    """Where the run is stored, what it is diffed against, and which shard of a run it is."""

    history_url: str | None = None
    baseline: str | None = None
    fail_on: tuple[str, ...] = ("correctness",)
    run_id: str | None = None
    shard: Shard | None = None
    shard_models: frozenset[str] | None = None  # None: every selected model


def _regression_settings(
    config: pytest.Config, selection: Selection, providers: tuple[ProviderRequest, ...], models: ModelRegistry
) -> RegressionSettings:
    reports = _reports_dir(config)
    shard_option = config.getoption("zoo_shard")
    shard = parse_shard(shard_option) if shard_option else None
    shard_models = None
    if shard is not None:
        specs = models.select(selection.models, selection.exclude)
        weights = {spec.name: 0 for spec in specs}
        draw = _draw(selection, providers, specs)
        for name in selection.paths:
            for case in path_named(name).cases(draw):
                weights[case.model] += 1
        shard_models = frozenset(models_of_shard(weights, shard))
    return RegressionSettings(
        history_url=history_url(config.getoption("zoo_history"), reports),
        baseline=config.getoption("zoo_baseline"),
        fail_on=_fail_on(config.getoption("zoo_fail_on")),
        run_id=config.getoption("zoo_run_id") or config.getoption("zoo_resume") or os.environ.get("ZOO_RUN_ID") or None,
        shard=shard,
        shard_models=shard_models,
    )


def _fail_on(value: str) -> tuple[str, ...]:
    try:
        return parse_fail_on(value)
    except ValueError as exc:  # the parser is shared with `suite.cli.history diff --fail-on`
        raise SelectionError(str(exc).replace("--fail-on", "--zoo-fail-on", 1)) from None


def _reports_dir(config: pytest.Config) -> Path:
    value = config.getoption("zoo_report_dir")
    # Absolute: worker processes run tools from scratch directories.
    return Path(value).resolve() if value else Path(config.rootpath) / "reports"


def _cache_dir(config: pytest.Config) -> Path:
    value = config.getoption("zoo_cache_dir")
    return Path(value).resolve() if value else _reports_dir(config) / "cache"


def _open_store(url: str) -> Any:
    """The history database (SQLAlchemy is imported only here, when a history is in use)."""
    try:
        from suite.history.store import HistoryStore
    except ImportError as exc:
        raise HistoryError(
            f"the results history needs SQLAlchemy ({exc}); pip install 'sqlalchemy>=2,<3' "
            "(and psycopg for PostgreSQL), or run with --zoo-history none"
        ) from None
    return HistoryStore(url)


def _runs_in_parallel(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput") or config.getoption("dist", "no") not in ("no", None)


def _serial_paths_only_when_serial(config: pytest.Config, selection: Selection) -> tuple[Selection, tuple[str, ...]]:
    """Latency needs a quiet machine: under pytest-xdist it is refused when asked for by name,
    and left out, with a notice, when it only came with the profile."""
    if "latency" not in selection.paths or not _runs_in_parallel(config):
        return selection, ()
    if config.getoption("zoo_paths") and "latency" in config.getoption("zoo_paths"):
        raise SelectionError(
            "the latency path is measured serially and cannot run under pytest-xdist (-n); "
            "run it in its own invocation without -n, e.g. --zoo-paths latency"
        )
    paths = tuple(p for p in selection.paths if p != "latency")
    notice = "latency path left out: pytest-xdist (-n) runs cases in parallel; run --zoo-paths latency without -n"
    return dataclasses.replace(selection, paths=paths), (notice,)


def _providers(config: pytest.Config, selection: Selection) -> tuple[ProviderRequest, ...]:
    """The providers of the latency and ort paths, checked against this environment's onnxruntime."""
    if "latency" not in selection.paths and "ort" not in selection.paths:
        return ()
    import onnxruntime as ort

    if "latency" in selection.paths:
        _check_pytest_benchmark()
    inventory = runtime_inventory()
    return parse_providers(config.getoption("zoo_providers"), ort.get_available_providers(), inventory["ort_package"])


def _check_pytest_benchmark() -> None:
    problem = benchmark_version_problem()
    if problem:
        raise SelectionError(problem)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[_STATE]
    specs = state.models.select(state.selection.models, state.selection.exclude)
    versions = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    runtime = state.runtime
    lines = [
        f"zoo-suite: {state.selection.describe()}",
        f"zoo-suite: {len(specs)} models: {', '.join(s.name for s in specs)}",
        f"zoo-suite: {versions}",
        f"zoo-suite: {runtime['ort_package']} {runtime['ort_version']} offers {runtime['ort_providers']}",
    ]
    if state.regression.shard is not None:
        lines.append(
            f"zoo-suite: shard {state.regression.shard.label} of run {state.run_id}: "
            f"{', '.join(sorted(state.regression.shard_models or ())) or 'no models'}"
        )
    if state.providers:
        lines.append(
            f"zoo-suite: latency on {', '.join(p.label for p in state.providers)} "
            f"({state.latency.threads.intra_op} intra-op / {state.latency.threads.inter_op} inter-op threads)"
        )
    return lines + [f"zoo-suite: NOTE: {notice}" for notice in state.notices]


def selected_cases(config: pytest.Config, path: PathSpec) -> list[Case]:
    """The cases of one path (a test module's ZOO_PATH) under this run's selection (and shard)."""
    state = config.stash[_STATE]
    selection = state.selection
    if path.name not in selection.paths:
        return []
    specs = state.models.select(selection.models, selection.exclude)
    if state.regression.shard_models is not None:
        specs = [spec for spec in specs if spec.name in state.regression.shard_models]
    return path.cases(_draw(selection, state.providers, specs))


def _draw(selection: Selection, providers: tuple[ProviderRequest, ...], specs: list[Any]) -> Draw:
    """What the paths draw their cases from; the ort path runs on the CPU where no provider is selected."""
    return Draw(
        specs,
        selection.opsets,
        selection.shapes,
        providers or (CPU,),
        selection.calibrations,
        selection.profile,
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "zoo_case" not in metafunc.fixturenames:
        return
    path = getattr(metafunc.module, "ZOO_PATH", None)
    if not isinstance(path, PathSpec):
        raise pytest.UsageError(
            f"{metafunc.module.__name__} uses zoo_case but declares no ZOO_PATH (a suite.paths PATH)"
        )
    cases = selected_cases(metafunc.config, path)
    metafunc.parametrize("zoo_case", cases, ids=[c.case_id for c in cases])


@pytest.fixture(scope="session")
def zoo_runner(pytestconfig: pytest.Config) -> Iterator[CaseRunner]:
    """The case runner with its worker processes, shared by every case in this process."""
    state = pytestconfig.stash[_STATE]
    # torch and TensorFlow each get a process of their own: together they segfault. ONNX tools
    # that run C++ (version converter, quantizers) get a light one, so a crash costs one case.
    # Eager baselines run with the latency path's thread pools; trained zoo models keep their
    # weights in the cache folder.
    settings = WorkerSettings(
        state.user_modules,
        state.latency.threads.intra_op,
        state.latency.threads.inter_op,
        str(state.cache_dir),
    )
    limits, onnx_dirs = onnx_limits(pytestconfig), state.selection.onnx_dirs
    workers = {
        "torch": Worker("torch", torch_models.init_worker, (settings,), preload=torch_models.PRELOAD),
        "tf": Worker("tf", tf_process.init_worker, (settings,)),
        # Files from outside first meet onnx and ONNX Runtime here: its memory is capped for them.
        "onnx": Worker("onnx", onnx_files.init_worker, (limits.max_worker_bytes,)) if onnx_dirs else Worker("onnx"),
    }
    runner = CaseRunner(
        workers,
        Cache(state.cache_dir),
        state.models,
        timeout=pytestconfig.getoption("zoo_timeout"),
        use_cache=not pytestconfig.getoption("zoo_no_cache"),
        input_draw=pytestconfig.getoption("zoo_input_draw"),
        limits=limits,
    )
    try:
        yield runner
    finally:
        for worker in workers.values():
            worker.close()
        state.record_worker_stats({name: {"starts": w.starts, "calls": w.calls} for name, w in workers.items()})


@pytest.fixture(scope="session")
def zoo_latency_settings(pytestconfig: pytest.Config) -> LatencySettings:
    """Thread pools and timing plan of this run's latency path."""
    return pytestconfig.stash[_STATE].latency


@pytest.fixture
def zoo_check(request: pytest.FixtureRequest) -> Callable[[Record], None]:
    """Attach a case's row to its test report, then pass, xfail or fail the test from it."""

    def check(record: Record) -> None:
        request.node.user_properties.append((RECORD_KEY, record.to_json()))
        if record.samples_ms:
            request.node.user_properties.append((SAMPLES_KEY, json.dumps(record.samples_ms)))
        if record.status == Status.XFAIL:
            pytest.xfail(f"{record.message} [expected: {record.expectation}]")
        if record.status in (Status.SKIP, Status.UNSUPPORTED):
            # What an exporter says it cannot do is information, not a failure; the row keeps it.
            pytest.skip(f"{record.status.value}: {record.message}")
        if not record.status.ok:
            pytest.fail(f"{record.status.value} at {record.stage}: {record.message}", pytrace=False)

    return check


def _is_latency(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and getattr(callspec.params.get("zoo_case"), "path", "") == "latency"


def _has_case(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and isinstance(callspec.params.get("zoo_case"), Case)


def _row_from_report(report: pytest.TestReport) -> dict[str, Any] | None:
    for key, value in report.user_properties:
        if key == RECORD_KEY:
            return json.loads(value)
    return None


def _folder_name(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)


def _samples_from_report(report: pytest.TestReport) -> list[float]:
    for key, value in report.user_properties:
        if key == SAMPLES_KEY:
            return json.loads(value)
    return []


def _case_fields(nodeid: str) -> dict[str, Any]:
    """Case fields parsed back from a node id, for rows the test itself could not write.

    The path is the test module's (suite/matrix/test_<path>.py)."""
    case_id = nodeid.rsplit("[", 1)[-1].rstrip("]")
    module = Path(nodeid.split("::", 1)[0]).stem.removeprefix("test_")
    path = module if module in PATH_NAMES else ""
    parts = case_id.rsplit("-", 4)
    if len(parts) == 5 and parts[2].startswith("op") and parts[2][2:].isdigit():
        model, exporter, opset, shape, _ = parts
        return {
            "case_id": case_id,
            "model": model,
            "exporter": exporter,
            "opset": int(opset[2:]),
            "shape": shape,
            "path": path,
        }
    return {"case_id": case_id, "model": case_id, "exporter": "", "opset": 0, "shape": "", "path": path}


def _row_without_record(nodeid: str, status: Status, message: str, stage: str = "harness") -> dict[str, Any]:
    return Record(**_case_fields(nodeid), stage=stage, status=status, message=message).to_row()


def _longrepr_line(report: pytest.TestReport) -> str:
    text = str(report.longrepr or "").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "no result recorded")[:300]
